/**
 * README.md's configuration table is generated from the definitions (`npm run docs:config`), so a variable
 * cannot be added, removed or changed without the table following.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { configSections } from '../../src/app/config.js';
import { CONFIG_TABLE_BEGIN, CONFIG_TABLE_END, readConfigTable, renderConfigTable, withConfigTable } from '../../src/app/config-table.js';
import { packageRoot } from '../../src/internal/paths.js';

const readmePath = join(packageRoot, 'README.md');

describe('README configuration table', () => {
  it('equals the table rendered from the definitions', () => {
    const readme = readFileSync(readmePath, 'utf8');
    assert.equal(readConfigTable(readme), renderConfigTable(configSections()), 'README.md is out of date: run `npm run docs:config`');
  });

  it('has one table per section and one row per variable', () => {
    const table = renderConfigTable(configSections());
    for (const section of configSections()) {
      assert.equal(table.split('\n').filter((line) => line === `### ${section.title}`).length, 1, section.title);
      for (const variable of section.variables) {
        assert.equal(table.split('\n').filter((line) => line.startsWith(`| \`${variable.name}\` |`)).length, 1, variable.name);
      }
    }
    const rows = table.split('\n').filter((line) => /^\| `/.test(line));
    assert.equal(rows.length, configSections().flatMap((section) => section.variables).length);
  });

  it('replaces only the text between the markers', () => {
    const before = `intro\n${CONFIG_TABLE_BEGIN}\nstale\n${CONFIG_TABLE_END}\noutro\n`;
    const after = withConfigTable(before, '| fresh |\n');
    assert.equal(after, `intro\n${CONFIG_TABLE_BEGIN}\n| fresh |\n${CONFIG_TABLE_END}\noutro\n`);
    assert.throws(() => withConfigTable('no markers\n', 'x'), /config-table:begin/);
  });

  it('is rewritten by `npm run docs:config`', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ggscale-config-table-'));
    try {
      const copy = join(dir, 'README.md');
      copyFileSync(readmePath, copy);
      const original = readFileSync(copy, 'utf8');
      writeFileSync(copy, withConfigTable(original, '| stale |\n'));
      const script = join(packageRoot, 'scripts', 'config-table.ts');
      const result = spawnSync(process.execPath, ['--import', 'tsx', script, copy], { cwd: packageRoot, encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(readConfigTable(readFileSync(copy, 'utf8')), renderConfigTable(configSections()));
      assert.equal(readFileSync(copy, 'utf8'), withConfigTable(original, renderConfigTable(configSections())));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
