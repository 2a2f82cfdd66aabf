/**
 * An echo game server speaking the text protocol of Agones' `simple-game-server` example, so
 * the same binary-level behaviour can be exercised under ggscale's local backend and on a real
 * Agones cluster. UDP and TCP listen on the same port. Replies, byte for byte as the Go original:
 *   UDP  `hello`       -> `ACK: hello\n`
 *   TCP  `hello\n`     -> `ACK TCP: hello\n\n`   (the original appends a second newline on TCP)
 *   `GAMESERVER`       -> `NAME: <name>\n`        (no ACK prefix)
 *   failures           -> `ERROR: <message>\n`
 * Commands: EXIT, UNHEALTHY, GAMESERVER, READY, ALLOCATE, LABEL [k v], ANNOTATION [k v], CRASH [code].
 * With an admission check (--require-match-token, see match-admission.ts) a TCP connection or a UDP peer must
 * first send `TOKEN <match token>`: `ADMITTED: <player id> <team>\n`, or `ERROR: <why>\n`; until then every other
 * command is answered `ERROR: present a match token first: TOKEN <token>\n`.
 * Deliberate differences: SDK failures are logged instead of killing the process, and EXIT also
 * works over TCP (the original compares the formatted reply to "EXIT", so it never fires there).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { AgonesSdkClient } from './sdk-client.js';
import { MatchAdmission } from './match-admission.js';
import { watchParent } from './parent-watchdog.js';

export interface EchoGameServerOptions {
  /** 0 picks a free port (the same one for UDP and TCP when possible). */
  port: number;
  /** The address to listen on. Default 0.0.0.0, like the original (a pod has one interface); ggscale's local
   * backend passes FLEET_LOCAL_HOST, so a host's game servers answer on the address it advertises only. */
  host?: string;
  /** Agones SDK REST port; default 9358. */
  sdkPort?: number;
  /** Health ping period; default 2000 ms, the original's tick. */
  healthIntervalMs?: number;
  /** Receives one JSON object per line. */
  logger?: (line: string) => void;
  /** Players must show a match token before anything else (the SDK client is the server's own). */
  requireMatchToken?: { jwksUrl: string; issuer: string };
}

/** UDP peers remembered as admitted at most (the oldest is forgotten first; it shows a token again). */
const MAX_ADMITTED_PEERS = 10_000;

export type EchoCloseOutcome = { reason: 'exit' | 'close' } | { reason: 'crash'; code: number };

export interface EchoGameServer {
  udpPort: number;
  tcpPort: number;
  /** Resolves once the sockets are closed, saying why (EXIT, CRASH or close()). */
  closed: Promise<EchoCloseOutcome>;
  close(): Promise<void>;
}

type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** One JSON line per event, pino-like (`time`, `level`, `msg`) so the lead's log tooling reads it. */
function jsonLog(sink: (line: string) => void): Log {
  return (level, msg, fields) => sink(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
}

interface Reply {
  text: string;
  ack: boolean;
  error?: boolean;
  after?: EchoCloseOutcome;
}

export async function startEchoGameServer(opts: EchoGameServerOptions): Promise<EchoGameServer> {
  const host = opts.host ?? '0.0.0.0';
  const log = jsonLog(opts.logger ?? (() => {}));
  const sdk = new AgonesSdkClient({ port: opts.sdkPort ?? 9358 });
  const { udp, tcp, udpPort, tcpPort } = await bindSockets(opts.port, host);
  const conns = new Set<net.Socket>();
  const admission = opts.requireMatchToken ? new MatchAdmission({ ...opts.requireMatchToken, sdk }) : undefined;
  const admittedPeers = new Set<string>();
  log('info', 'listening', { udpPort, tcpPort, host, require_match_token: admission !== undefined });

  // Ready first, then a health ping every interval. Ready is retried on later ticks until it
  // succeeds, because the SDK sidecar may start after us (the Agones docs warn about this).
  const intervalMs = opts.healthIntervalMs ?? 2000;
  let isReady = false;
  let healthStopped = false;
  let sdkFailing = false; // log SDK outages on transitions, not on every tick
  let timer: NodeJS.Timeout | undefined;
  let inflight: Promise<void> = Promise.resolve();
  const tick = (): void => {
    inflight = (async () => {
      try {
        if (!isReady) {
          await sdk.ready();
          isReady = true;
          log('info', 'marked ready');
        }
        await sdk.health();
        if (sdkFailing) log('info', 'SDK reachable again');
        sdkFailing = false;
      } catch (err) {
        if (!sdkFailing) log('error', (err as Error).message);
        sdkFailing = true;
      }
      if (!healthStopped) timer = setTimeout(tick, intervalMs).unref();
    })();
  };
  const stopHealth = async (): Promise<void> => {
    healthStopped = true;
    clearTimeout(timer);
    await inflight; // once this settles no further ping can reach the SDK
  };

  async function sdkStep(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
      log('info', what);
    } catch (err) {
      log('error', (err as Error).message);
    }
  }

  async function runCommand(line: string): Promise<Reply> {
    const parts = line.trim().split(' ');
    const text = parts.join(' ');
    switch (parts[0]) {
      case 'EXIT':
        return { text, ack: true, after: { reason: 'exit' } };
      case 'CRASH': {
        const code = Number.parseInt(parts[1] ?? '', 10);
        return { text: '', ack: false, after: { reason: 'crash', code: Number.isNaN(code) ? 1 : code } };
      }
      case 'UNHEALTHY': // also ends pending Ready retries: the loop stops as a whole
        await stopHealth();
        log('info', 'stopped health pings');
        return { text, ack: true };
      case 'GAMESERVER':
        try {
          return { text: `NAME: ${(await sdk.getGameServer()).name}\n`, ack: false };
        } catch (err) {
          log('error', (err as Error).message);
          return { text: (err as Error).message, ack: false, error: true };
        }
      case 'READY':
        await sdkStep('marked ready', async () => {
          await sdk.ready();
          isReady = true;
        });
        return { text, ack: true };
      case 'ALLOCATE':
        await sdkStep('self-allocated', async () => {
          await sdk.allocate();
          isReady = true; // never let a pending Ready retry undo the allocation
        });
        return { text, ack: true };
      case 'LABEL':
      case 'ANNOTATION': {
        const kind = parts[0];
        const set = kind === 'LABEL' ? sdk.setLabel.bind(sdk) : sdk.setAnnotation.bind(sdk);
        if (parts.length === 1) {
          // The original's legacy form: stamp the current time under "timestamp".
          const now = kind === 'LABEL' ? String(Math.floor(Date.now() / 1000)) : new Date().toISOString();
          await sdkStep(`set ${kind.toLowerCase()}`, () => set('timestamp', now));
        } else if (parts.length === 3) {
          await sdkStep(`set ${kind.toLowerCase()}`, () => set(parts[1] ?? '', parts[2] ?? ''));
        } else {
          return { text: `Invalid ${kind} command, must use zero or 2 arguments`, ack: true, error: true };
        }
        return { text, ack: true };
      }
      default:
        return { text, ack: true };
    }
  }

  /**
   * A line from a peer: with an admission check, `TOKEN <token>` admits the peer and nothing else runs until it
   * has; without one, every line is a command.
   */
  async function answerLine(line: string, peer: { admitted: boolean }): Promise<Reply> {
    if (!admission) return runCommand(line);
    const [command, token, ...rest] = line.trim().split(' ');
    if (command === 'TOKEN') {
      if (!token || rest.length > 0) return { text: 'usage: TOKEN <match token>', ack: false, error: true };
      const outcome = await admission.admit(token);
      if (!outcome.admitted) {
        log('info', 'refused a player', { reason: outcome.reason });
        return { text: outcome.reason, ack: false, error: true };
      }
      peer.admitted = true;
      log('info', 'admitted a player', { player_id: outcome.playerId, team: outcome.team });
      return { text: `ADMITTED: ${outcome.playerId} ${outcome.team}\n`, ack: false };
    }
    if (!peer.admitted) return { text: 'present a match token first: TOKEN <token>', ack: false, error: true };
    return runCommand(line);
  }

  /** UDP peers are admitted by address and port, in a bounded set: the least recently active is forgotten first. */
  function rememberUdpPeer(key: string): void {
    admittedPeers.delete(key);
    admittedPeers.add(key);
    if (admittedPeers.size > MAX_ADMITTED_PEERS) admittedPeers.delete(admittedPeers.values().next().value!);
  }

  function format(reply: Reply, ackPrefix: string): string {
    if (reply.error) return `ERROR: ${reply.text}\n`;
    return reply.ack ? `${ackPrefix}${reply.text}\n` : reply.text;
  }

  let resolveClosed!: (o: EchoCloseOutcome) => void;
  const closed = new Promise<EchoCloseOutcome>((r) => (resolveClosed = r));
  let closing: Promise<void> | undefined;
  const shutdown = (outcome: EchoCloseOutcome): Promise<void> => {
    closing ??= (async () => {
      log('info', 'closing', { ...outcome });
      await stopHealth();
      const udpDone = new Promise<void>((r) => udp.close(() => r()));
      const tcpDone = new Promise<void>((r) => tcp.close(() => r()));
      // destroySoon lets a just-written reply (e.g. the EXIT ack) drain before the socket goes.
      for (const c of conns) c.destroySoon();
      await Promise.all([udpDone, tcpDone]);
      resolveClosed(outcome);
    })();
    return closing;
  };

  async function afterReply(after: EchoCloseOutcome | undefined): Promise<void> {
    if (after?.reason === 'exit') {
      log('info', 'received EXIT');
      await sdkStep('requested shutdown', () => sdk.shutdown());
    }
    if (after) await shutdown(after);
  }

  udp.on('message', (msg, rinfo) => {
    const line = msg.toString('utf8').trim();
    void (async () => {
      const key = `${rinfo.address}|${rinfo.port}`;
      const peer = { admitted: admittedPeers.has(key) };
      const reply = await answerLine(line, peer);
      if (peer.admitted) rememberUdpPeer(key);
      const out = format(reply, 'ACK: ');
      if (out !== '' && !closing) {
        await new Promise<void>((r) => udp.send(out, rinfo.port, rinfo.address, () => r()));
      }
      await afterReply(reply.after);
    })().catch((err: Error) => log('error', `udp: ${err.message}`));
  });

  tcp.on('connection', (sock) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => {}); // a client resetting the connection is not our problem
    sock.setEncoding('utf8');
    let buf = '';
    let queue: Promise<void> = Promise.resolve(); // answer lines in the order they arrived
    const peer = { admitted: false };
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > 64 * 1024) return void sock.destroy(); // same cap as Go's bufio.Scanner
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        queue = queue.then(async () => {
          if (closing) return;
          const reply = await answerLine(line, peer);
          const out = format(reply, 'ACK TCP: ');
          if (out !== '' && sock.writable) await new Promise<void>((r) => sock.write(out + '\n', () => r()));
          await afterReply(reply.after);
        }).catch((err: Error) => log('error', `tcp: ${err.message}`));
      }
    });
  });

  tick();
  return { udpPort, tcpPort, closed, close: () => shutdown({ reason: 'close' }) };
}

async function bindSockets(port: number, host: string) {
  const type = net.isIPv6(host) ? 'udp6' : 'udp4';
  // With port 0 the kernel picks the UDP port; TCP then tries the same number, which can be
  // taken, so retry a few times before settling for two different ports.
  for (let attempt = 0; attempt < (port === 0 ? 10 : 1); attempt++) {
    const udp = dgram.createSocket(type);
    await listen(udp, (cb) => udp.bind(port, host, cb));
    const udpPort = udp.address().port;
    const tcp = net.createServer();
    try {
      await listen(tcp, (cb) => tcp.listen(udpPort, host, cb));
      return { udp, tcp, udpPort, tcpPort: udpPort };
    } catch (err) {
      await new Promise<void>((r) => udp.close(() => r()));
      if (port !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  const udp = dgram.createSocket(type);
  await listen(udp, (cb) => udp.bind(0, host, cb));
  const tcp = net.createServer();
  await listen(tcp, (cb) => tcp.listen(0, host, cb));
  return { udp, tcp, udpPort: udp.address().port, tcpPort: (tcp.address() as net.AddressInfo).port };
}

/** Turns bind/listen into a promise that also rejects on the socket's 'error' event. */
function listen(emitter: dgram.Socket | net.Server, start: (cb: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    emitter.once('error', reject);
    start(() => {
      emitter.off('error', reject);
      resolve();
    });
  });
}

export interface GameServerCliArgs {
  port: number;
  host: string;
  sdkPort: number;
  requireMatchToken?: { jwksUrl: string; issuer: string };
}

/** The value of `--name V` or `--name=V`, the last one winning. */
function flagValue(argv: string[], name: string): string | undefined {
  let value: string | undefined;
  argv.forEach((arg, i) => {
    if (arg === name) value = argv[i + 1] ?? '';
    else if (arg.startsWith(`${name}=`)) value = arg.slice(name.length + 1);
  });
  return value;
}

/**
 * `--port N` beats env PORT, which beats 7654; `--host H` beats env GGSCALE_GAME_SERVER_HOST (set by ggscale's
 * local backend to FLEET_LOCAL_HOST), which beats 0.0.0.0; the SDK port comes from AGONES_SDK_HTTP_PORT.
 */
export function parseGameServerArgs(argv: string[], env: NodeJS.ProcessEnv): GameServerCliArgs {
  const port = toPort('--port / PORT', flagValue(argv, '--port') ?? (env.PORT || '7654'));
  const host = toHost('--host / GGSCALE_GAME_SERVER_HOST', flagValue(argv, '--host') ?? (env.GGSCALE_GAME_SERVER_HOST || '0.0.0.0'));
  const sdkPort = toPort('AGONES_SDK_HTTP_PORT', env.AGONES_SDK_HTTP_PORT || '9358');
  if (!argv.includes('--require-match-token')) return { port, host, sdkPort };
  const jwksUrl = flagValue(argv, '--jwks-url') ?? env.GGSCALE_JWKS_URL ?? '';
  const issuer = flagValue(argv, '--issuer') ?? env.GGSCALE_ISSUER ?? '';
  if (jwksUrl === '' || issuer === '') {
    throw new Error('--require-match-token needs the JWKS URL (--jwks-url or GGSCALE_JWKS_URL) and the issuer (--issuer or GGSCALE_ISSUER)');
  }
  return { port, host, sdkPort, requireMatchToken: { jwksUrl: toHttpUrl('--jwks-url / GGSCALE_JWKS_URL', jwksUrl), issuer } };
}

function toHttpUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`invalid ${name}: not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`invalid ${name}: not an http(s) URL`);
  return url.href;
}

function toHost(name: string, value: string): string {
  if (!/^[A-Za-z0-9.:-]{1,253}$/.test(value)) throw new Error(`invalid ${name}: ${JSON.stringify(value.slice(0, 300))}`);
  return value;
}

function toPort(name: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new Error(`invalid ${name}: ${JSON.stringify(value)}`);
  return n;
}

/** Entry point for `ggscale gameserver`: runs until SIGTERM/SIGINT, EXIT or CRASH. */
export async function runGameServerCli(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { port, host, sdkPort, requireMatchToken } = parseGameServerArgs(argv, env);
  const sink = (line: string) => void process.stdout.write(line + '\n');
  const log = jsonLog(sink);
  const server = await startEchoGameServer({ port, host, sdkPort, logger: sink, ...(requireMatchToken ? { requireMatchToken } : {}) });
  const onSignal = (signal: NodeJS.Signals) => {
    log('info', `received ${signal}, shutting down`);
    void server.close();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const stopWatching = watchParent(env, () => {
    log('warn', 'the ggscale that started this server is gone, shutting down');
    void server.close();
  });
  const outcome = await server.closed;
  stopWatching();
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  log('info', 'stopped', { ...outcome });
  // CRASH exists to test crash handling, so the process must really die with that code.
  if (outcome.reason === 'crash') process.exit(outcome.code);
}
