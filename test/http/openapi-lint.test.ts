/**
 * The served OpenAPI document passes Redocly's `recommended` rules (redocly.yaml) with no error and no
 * warning, so a client generator or a docs renderer takes it as it is. Redocly runs offline (no telemetry,
 * no update check).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../src/internal/paths.js';
import { buildTestApp } from '../support/app.js';

const REDOCLY = join(packageRoot, 'node_modules', '@redocly', 'cli', 'bin', 'cli.js');
const CONFIG = join(packageRoot, 'redocly.yaml');

interface LintReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ pointer?: string }> }>;
}

async function lint(document: unknown, folder: string, name: string): Promise<LintReport> {
  const file = join(folder, name);
  writeFileSync(file, JSON.stringify(document, null, 2));
  const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };
  // Exit code 1 is "problems found": the report on stdout says which.
  const run = promisify(execFile)(process.execPath, [REDOCLY, 'lint', `--config=${CONFIG}`, '--format=json', file], {
    cwd: folder,
    env,
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const { stdout } = await run.catch((error: { stdout?: string; stderr?: string; code?: unknown }) => {
    if (error.code !== 1 || !error.stdout) throw new Error(`redocly lint did not run (${String(error.code)}): ${error.stderr ?? ''}`);
    return { stdout: error.stdout };
  });
  return JSON.parse(stdout) as LintReport;
}

const listed = (report: LintReport) =>
  report.problems.map((problem) => `${problem.severity} ${problem.ruleId}: ${problem.message} at ${problem.location[0]?.pointer ?? '?'}`).join('\n');

describe('OpenAPI document under Redocly recommended', () => {
  let document: { servers: Array<{ url: string }> };
  let folder: string;

  before(async () => {
    const t = await buildTestApp({ env: { GGSCALE_PUBLIC_URL: 'https://api.ggscale.test' } });
    try {
      document = (await t.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    } finally {
      await t.close();
    }
    folder = mkdtempSync(join(tmpdir(), 'ggscale-openapi-lint-'));
  });
  after(() => rmSync(folder, { recursive: true, force: true }));

  it('extends recommended and changes none of its rules', () => {
    const config = readFileSync(CONFIG, 'utf8');
    assert.match(config, /^extends:\s*\n\s*- recommended\s*$/m);
    assert.doesNotMatch(config, /^\s*(rules|decorators|preprocessors|apis|plugins):/m, 'no rule is turned down or off');
  });

  it('reports no error and no warning, and ignores nothing', async () => {
    assert.deepEqual(document.servers, [{ url: 'https://api.ggscale.test' }]);
    const report = await lint(document, folder, 'openapi.json');
    assert.deepEqual(report.totals, { errors: 0, warnings: 0, ignored: 0 }, listed(report));
  });

  it('would report a problem: the same document served from localhost is warned about', async () => {
    const report = await lint({ ...document, servers: [{ url: 'http://localhost:8080' }] }, folder, 'localhost.json');
    assert.ok(
      report.problems.some((problem) => problem.ruleId === 'no-server-example.com'),
      `the linter reads this report format and warns: ${listed(report)}`,
    );
  });
});
