/**
 * pino JSON logs on stdout. Asynchronous (a synchronous write per line halves throughput at info level);
 * flushed on shutdown. Credentials are redacted wherever they could appear.
 */
import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/config.js';

export type { Logger };

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.current_password',
  '*.new_password',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.key',
  '*.secret',
  '*.adminToken',
];

export interface LoggerOptions {
  level: LogLevel;
  /** Tests pass a stream to capture lines; default is an async stdout destination. */
  destination?: pino.DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: false });
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
