/**
 * An ErrorResponse from the server, with the field names the rest of ggscale reads (code, constraint_name,
 * ...; the ones postgres.js used).
 */
const FIELDS: Record<string, string> = {
  S: 'severity_local',
  V: 'severity',
  C: 'code',
  D: 'detail',
  H: 'hint',
  P: 'position',
  W: 'where',
  s: 'schema_name',
  t: 'table_name',
  c: 'column_name',
  d: 'data_type_name',
  n: 'constraint_name',
  R: 'routine',
};

export class PostgresServerError extends Error {
  override name = 'PostgresError';
  code = '';
  /** ERROR, FATAL, PANIC (never localized); severity_local may be. */
  severity = '';
  severity_local = '';
  detail?: string;
  constraint_name?: string;
  table_name?: string;

  /** Decodes the message body: (field type byte, C string)* then a zero byte. */
  static decode(body: Buffer): PostgresServerError {
    const error = new PostgresServerError();
    const fields = error as unknown as Record<string, string>;
    let at = 0;
    while (at < body.length && body[at] !== 0) {
      const type = String.fromCharCode(body[at]!);
      const end = body.indexOf(0, at + 1);
      if (end < 0) break;
      const value = body.toString('utf8', at + 1, end);
      if (type === 'M') error.message = value;
      else if (FIELDS[type]) fields[FIELDS[type]] = value;
      at = end + 1;
    }
    return error;
  }

  get fatal(): boolean {
    const severity = this.severity || this.severity_local;
    return severity === 'FATAL' || severity === 'PANIC';
  }
}

export function socketClosedError(cause?: Error): Error {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return Object.assign(new Error(cause ? `the database connection failed: ${cause.message}` : 'the database connection was closed', cause ? { cause } : {}), {
    code: typeof code === 'string' ? code : 'CONNECTION_CLOSED',
  });
}
