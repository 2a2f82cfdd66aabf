/**
 * An address the server cannot listen on is a configuration problem, reported like one: one line naming the
 * address and the variables that set it (cli.ts prints it), not a Node stack trace.
 */

const REASONS: Record<string, string> = {
  EADDRINUSE: 'the port is already in use (another process listens there)',
  EADDRNOTAVAIL: 'the host is not an address of this machine',
  EACCES: 'permission denied (ports below 1024 need privileges)',
};

export class ListenError extends Error {
  override name = 'ListenError';
}

/** A ListenError for the errors a bad HOST or PORT causes; anything else is returned as it is. */
export function explainListenError(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = code === undefined ? undefined : REASONS[code];
  if (reason === undefined) return error;
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new ListenError(`cannot listen on ${address}: ${reason}; choose another with PORT and HOST`);
}
