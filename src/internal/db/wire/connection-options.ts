/**
 * Where and how to connect, from a libpq-style URL: postgres://user:password@host:port/database?sslmode=…
 * (a host of the form /path, in the URL's host parameter, is a Unix socket folder as in libpq), with
 * sslmode and sslrootcert as libpq reads them.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity, type ConnectionOptions as TlsOptions } from 'node:tls';

export type SslMode = 'disable' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
const SSL_MODES: readonly SslMode[] = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'];

export interface ConnectionTarget {
  host: string;
  port: number;
  /** A Unix socket path instead of host:port. */
  socketPath?: string;
  user: string;
  password?: string;
  database: string;
  sslMode: SslMode;
  /** sslrootcert: a PEM file of the certificate authorities to trust instead of Node's bundled ones. */
  sslRootCert?: string;
  /** Server parameters sent at start-up (application_name, statement_timeout, ...). */
  parameters: Record<string, string>;
}

export function parseConnectionUrl(url: string, parameters: Record<string, string>): ConnectionTarget {
  const parsed = new URL(url);
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') throw new Error('a PostgreSQL URL starts with postgres://');
  const query = parsed.searchParams;
  const user = decodeURIComponent(parsed.username) || process.env.PGUSER || 'postgres';
  const socketFolder = query.get('host') ?? (parsed.hostname === '' ? '/var/run/postgresql' : undefined);
  const port = Number(parsed.port || query.get('port') || 5432);
  const sslMode = (query.get('sslmode') ?? (query.get('ssl') === 'true' ? 'require' : 'disable')) as SslMode;
  if (!SSL_MODES.includes(sslMode)) throw new Error(`unsupported sslmode "${sslMode}" (use ${SSL_MODES.join(', ')})`);
  const password = parsed.password !== '' ? decodeURIComponent(parsed.password) : process.env.PGPASSWORD;
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, '') || 'localhost',
    port,
    ...(socketFolder?.startsWith('/') ? { socketPath: `${socketFolder}/.s.PGSQL.${port}` } : {}),
    user,
    ...(password !== undefined ? { password } : {}),
    database: decodeURIComponent(parsed.pathname.slice(1)) || user,
    sslMode,
    ...(query.get('sslrootcert') ? { sslRootCert: query.get('sslrootcert')! } : {}),
    parameters,
  };
}

/**
 * TLS settings for a mode that uses TLS; libpq's meanings: require encrypts only, verify-ca checks the chain,
 * verify-full the chain and that the certificate names the host of the URL. That host is the one checked,
 * an IP address included (against the certificate's IP subjectAltNames): over a socket of our own, Node would
 * otherwise check the servername, and with none (an IP address gets no SNI, RFC 6066) it checks "localhost".
 */
export function tlsOptions(target: ConnectionTarget): TlsOptions {
  const verify = target.sslMode === 'verify-ca' || target.sslMode === 'verify-full';
  return {
    host: target.host,
    servername: isIP(target.host) === 0 ? target.host : undefined,
    rejectUnauthorized: verify,
    ...(target.sslRootCert ? { ca: readFileSync(target.sslRootCert) } : {}),
    checkServerIdentity: target.sslMode === 'verify-full' ? (_servername, certificate) => checkServerIdentity(target.host, certificate) : () => undefined,
  };
}
