/** `ggscale keys rotate`: publishes a new signing key that starts signing after the publish lead time. */
import type { Config } from '../app/config.js';
import { withOperatorAccess } from './operator-session.js';

export async function runKeysCommand(config: Config, args: string[]): Promise<number> {
  if (args[0] !== 'rotate') {
    process.stderr.write('usage: ggscale keys rotate\n');
    return 2;
  }
  const result = await withOperatorAccess(config, async (access) => {
    if (access.via === 'http') return access.call('POST', '/v1/admin/signing-keys/rotate');
    const { SigningKeyStore } = await import('../modules/auth/signing-keys.js');
    const { SecretBox } = await import('../modules/auth/secret-box.js');
    const store = new SigningKeyStore(access.db, new SecretBox(config.auth.secretKey), { accessTtlSeconds: config.auth.accessTtlSeconds });
    await store.ensureLoaded();
    return store.rotate(config.auth.keyPublishLeadSeconds);
  });
  process.stdout.write(JSON.stringify(result) + '\n');
  return 0;
}
