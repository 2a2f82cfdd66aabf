/**
 * pino JSON logs on stdout. Asynchronous (a synchronous write per line halves throughput at info level);
 * flushed on shutdown. Credentials are redacted wherever they could appear.
 */
import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/core.js';

export type { Logger };

// Request and response headers, should a request or reply object ever be logged. Wildcard paths
// (`*.password`) cost a tree walk on every line, so none are used: ggscale never logs bodies or credentials,
// and test/logs checks that none reach the log.
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
];

export interface LoggerOptions {
  level: LogLevel;
  /** Tests pass a stream to capture lines; default is an async stdout destination. */
  destination?: pino.DestinationStream;
}

// Lines are written in batches of up to 4 KiB (one write per line would cost more than the request it
// describes), and whatever is buffered is written at least this often, so logs stay timely when idle.
const FLUSH_INTERVAL_MS = 200;

export function createLogger(options: LoggerOptions): Logger {
  let destination = options.destination;
  if (!destination) {
    const stdout = pino.destination({ dest: 1, sync: false, minLength: 4096 });
    setInterval(() => {
      try {
        stdout.flush();
      } catch {
        // Not ready yet, or already closed.
      }
    }, FLUSH_INTERVAL_MS).unref();
    destination = stdout;
  }
  return pino(
    {
      level: options.level,
      base: { service: 'ggscale' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** Writes what is buffered (async destinations) before the process exits. */
export function flushLogger(logger: Logger): void {
  try {
    logger.flush();
  } catch {
    // Nothing to flush into: the stream is already closed.
  }
}
