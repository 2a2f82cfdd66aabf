/**
 * `npm run bench [-- name ... --flag ...]`: runs every bench/*.ts (except this file), or only the named
 * ones, each as its own `node --import tsx bench/<name>.ts` process, one after another (they measure the
 * same 2 cores), with their output as it comes; flags go to each of them. Exits non-zero when any failed
 * (a missed target is printed, and fails only under BENCH_STRICT=1).
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const root = join(benchDir, '..');

const available = readdirSync(benchDir)
  .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && file !== 'run.ts')
  .map((file) => file.slice(0, -'.ts'.length))
  .sort();

// Flags (--route=storage, ...) go to every selected benchmark; the rest are names.
const flags = process.argv.slice(2).filter((arg) => arg.startsWith('-'));
const asked = process.argv.slice(2).filter((arg) => !arg.startsWith('-')).map((arg) => arg.replace(/^bench\//, '').replace(/\.ts$/, ''));
const unknown = asked.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`bench: no such benchmark: ${unknown.join(', ')} (available: ${available.join(', ')})`);
  process.exit(2);
}
const selected = asked.length > 0 ? available.filter((name) => asked.includes(name)) : available;

// Ctrl-C reaches the running child through the terminal's process group: let it clean up (stop its
// servers, drop its databases) and report, rather than dying before it.
let interrupted = false;
process.on('SIGINT', () => (interrupted = true));

function runOne(name: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join('bench', `${name}.ts`), ...flags], { cwd: root, stdio: 'inherit' });
    child.once('error', (error) => {
      console.error(`bench/${name}: could not start: ${error.message}`);
      resolve(1);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const outcomes: { name: string; code: number; seconds: number }[] = [];
for (const name of selected) {
  if (interrupted) break;
  console.log(`\n### bench/${name}.ts`);
  const started = performance.now();
  const code = await runOne(name);
  outcomes.push({ name, code, seconds: (performance.now() - started) / 1000 });
}

console.log('\n### summary');
for (const { name, code, seconds } of outcomes) {
  console.log(`  ${code === 0 ? 'ok    ' : 'FAILED'} bench/${name}.ts (${seconds.toFixed(0)} s${code === 0 ? '' : `, exit ${code}`})`);
}
process.exit(interrupted || outcomes.some((outcome) => outcome.code !== 0) ? 1 : 0);
