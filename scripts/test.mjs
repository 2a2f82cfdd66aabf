// `npm test`: builds the migrated templates once, then runs every test file with node's test runner.
// With DATABASE_URL / REDIS_URL set (CI sets them) the suites also run against real PostgreSQL and Redis,
// through the PostgreSQL client DATABASE_DRIVER names (wire by default). In CI (CI set, as GitHub Actions
// sets it, or GGSCALE_TEST_BOTH_DRIVERS=1, as .ci/run does; GGSCALE_TEST_BOTH_DRIVERS=0 turns it off) the files
// that use PostgreSQL run a second time on the other client, PostgreSQL only.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
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
// A file that hangs (a deadlock, a server that never answers) fails after this long instead of holding the
// run, and CI's time, for ever; the slowest files take a few minutes on a loaded machine.
const fileTimeoutMs = process.env.TEST_FILE_TIMEOUT_MS ?? '900000';
const runFiles = (list, runEnv) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${fileTimeoutMs}`, '--test-reporter=spec', ...list], {
    stdio: 'inherit',
    env: runEnv,
  });
const firstStarted = Date.now();
const result = runFiles(files, env);
const firstSeconds = (Date.now() - firstStarted) / 1000;

// The second client's run: the files that reach PostgreSQL through the driver choice (test/support/db.ts,
// or a server process given DATABASE_URL), not those that pick their clients themselves (both, or ours alone).
const USES_POSTGRES = /databaseKinds\(|createPostgres\(|openTestPostgres\(|OwnPostgres|DATABASE_URL/;
const CHOOSES_ITS_CLIENTS = /POSTGRES_DRIVERS|DATABASE_DRIVER|'postgres\.js'|\/db\/wire\//;
let secondStatus = 0;
const bothDrivers = process.env.GGSCALE_TEST_BOTH_DRIVERS === '1' || (Boolean(process.env.CI) && process.env.GGSCALE_TEST_BOTH_DRIVERS !== '0');
if (bothDrivers && env.DATABASE_URL) {
  const first = env.DATABASE_DRIVER || 'wire';
  const other = first === 'wire' ? 'postgres.js' : 'wire';
  const postgresFiles = files.filter((file) => {
    const source = readFileSync(file, 'utf8');
    return USES_POSTGRES.test(source) && !CHOOSES_ITS_CLIENTS.test(source);
  });
  if (postgresFiles.length > 0) {
    console.log(`\n# again on PostgreSQL through DATABASE_DRIVER=${other}: ${postgresFiles.length} of ${files.length} files`);
    const started = Date.now();
    secondStatus = runFiles(postgresFiles, { ...env, DATABASE_DRIVER: other, GGSCALE_TEST_DATABASE_KINDS: 'postgres' }).status ?? 1;
    const seconds = (Date.now() - started) / 1000;
    console.log(`# DATABASE_DRIVER=${other} run: ${seconds.toFixed(0)} s beside ${firstSeconds.toFixed(0)} s for the first, ${secondStatus === 0 ? 'passed' : 'FAILED'}`);
  }
}

spawnSync(process.execPath, ['--import', 'tsx', 'scripts/test-templates.ts', '--drop', env.GGSCALE_TEST_PG_TEMPLATE ?? ''], {
  stdio: 'inherit',
  env,
});
rmSync(scratch, { recursive: true, force: true });
process.exit((result.status ?? 1) || secondStatus);
