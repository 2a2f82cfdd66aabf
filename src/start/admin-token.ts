import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The embedded default's operator token: generated once into the data folder (0600), never logged. */
export function ensureAdminTokenFile(dataDir: string): { token: string; path: string; created: boolean } {
  const path = join(dataDir, 'admin-token');
  try {
    const token = readFileSync(path, 'utf8').trim();
    if (token.length >= 32) return { token, path, created: false };
  } catch {
    // Not there yet: create it below.
  }
  const token = randomBytes(32).toString('base64url');
  writeFileSync(path, token + '\n', { mode: 0o600 });
  chmodSync(path, 0o600);
  return { token, path, created: true };
}
