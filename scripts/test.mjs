// `npm test`: builds the migrated templates once, then runs every test file with node's test runner.
// With DATABASE_URL / REDIS_URL set (CI sets them) the suites also run against real PostgreSQL and Redis.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function findTests(dir) {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return entry === 'support' ? [] : findTests(path);
    return entry.endsWith('.test.ts') ? [path] : [];
  });
}

const filter = process.argv.slice(2);
const files = findTests('test')
  .filter((file) => filter.length === 0 || filter.some((f) => file.includes(f)))
  .sort();
const scratch = mkdtempSync(join(tmpdir(), 'ggscale-test-'));
const env = { ...process.env };

const setup = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/test-templates.ts', scratch], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env,
});
if (setup.status !== 0) {
  console.error('test setup failed');
  process.exit(1);
}
Object.assign(env, JSON.parse(setup.stdout.toString()));

const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit', env },
);

spawnSync(process.execPath, ['--import', 'tsx', 'scripts/test-templates.ts', '--drop', env.GGSCALE_TEST_PG_TEMPLATE ?? ''], {
  stdio: 'inherit',
  env,
});
rmSync(scratch, { recursive: true, force: true });
process.exit(result.status ?? 1);
