/** Builds what the start-up figures start: ggscale's dist/cli.js, and the bare baseline bundled alike. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from './process.js';

export function buildGgscale(): void {
  const result = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`npm run build failed (exit ${result.status})`);
}

/** Bundles bench/support/bare-http.ts into dir/bare-http.mjs (esbuild, as scripts/build.mjs bundles ggscale). */
export async function buildBareServer(dir: string): Promise<string> {
  const outfile = join(dir, 'bare-http.mjs');
  await build({
    entryPoints: [join(ROOT, 'bench/support/bare-http.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    logLevel: 'warning',
  });
  return outfile;
}
