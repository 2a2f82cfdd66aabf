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

/** The server started a COPY, which this client never asks for: the connection is discarded (see connection.ts). */
export function copyUnsupportedError(): Error {
  return Object.assign(new Error('the server started a COPY, which this client does not support; the connection was discarded'), { code: 'COPY_UNSUPPORTED' });
}

/** More parameters than a Bind message can count; nothing is sent and the connection goes on. */
export function tooManyParametersError(count: number, limit: number): Error {
  // 54000 program_limit_exceeded: a bug in the caller, not the database being unavailable.
  return Object.assign(new Error(`a statement can bind at most ${limit.toLocaleString('en')} parameters (the protocol's limit); this one has ${count.toLocaleString('en')}`), {
    code: '54000',
  });
}

/** No answer within the connection's unit timeout: cancelled and discarded, reported as a lost connection (503). */
export function unitTimedOutError(timeoutMs: number): Error {
  return Object.assign(new Error(`PostgreSQL did not answer within ${timeoutMs} ms; the statement was cancelled and the connection discarded`), { code: 'ETIMEDOUT' });
}

/** Bytes that are not the protocol: nothing after them can be trusted, so the connection is closed. */
export function protocolError(message: string): Error {
  return Object.assign(new Error(`PostgreSQL protocol error: ${message}`), { code: '08P01' });
}
