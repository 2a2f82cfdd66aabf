/**
 * `npm run docs:config`: writes the configuration table, rendered from the definitions, between the
 * `config-table` markers of README.md (or of the file given as the first argument). Nothing else changes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configSections } from '../src/app/config.js';
import { renderConfigTable, withConfigTable } from '../src/app/config-table.js';
import { packageRoot } from '../src/internal/paths.js';

const path = process.argv[2] ?? join(packageRoot, 'README.md');
const before = readFileSync(path, 'utf8');
const after = withConfigTable(before, renderConfigTable(configSections()));
if (after === before) {
  console.log(`${path}: configuration table up to date`);
} else {
  writeFileSync(path, after);
  console.log(`${path}: configuration table rewritten`);
}
