/**
 * The README's configuration table, rendered from the configuration's definitions: one table per section,
 * one row per variable. `npm run docs:config` (scripts/config-table.ts) writes it between the markers, and
 * test/config/readme-table.test.ts fails while README.md differs from it.
 */
import type { ConfigSection } from '../internal/config/section.js';

export const CONFIG_TABLE_BEGIN = '<!-- config-table:begin -->';
export const CONFIG_TABLE_END = '<!-- config-table:end -->';

// A `|` would end the table cell early, even inside a code span.
const cell = (markdown: string) => markdown.replace(/\|/g, '\\|');

export function renderConfigTable(sections: readonly ConfigSection<string, unknown>[]): string {
  return sections
    .map((section) => {
      const rows = section.variables.map((variable) => {
        const perProject = variable.perProject ? ` (a project may override it: \`${variable.perProject.key}\`)` : '';
        return `| \`${variable.name}\` | ${cell(variable.defaultDoc)} | ${cell(variable.doc + perProject)} |`;
      });
      return [`### ${section.title}`, '', '| variable | default | meaning |', '|---|---|---|', ...rows, ''].join('\n');
    })
    .join('\n');
}

function markers(readme: string): { start: number; end: number } {
  const begin = readme.indexOf(CONFIG_TABLE_BEGIN);
  const end = readme.indexOf(CONFIG_TABLE_END);
  if (begin < 0 || end < begin) throw new Error(`README.md needs the lines ${CONFIG_TABLE_BEGIN} and ${CONFIG_TABLE_END}, in that order`);
  return { start: begin + CONFIG_TABLE_BEGIN.length + 1, end };
}

/** The text between the markers (their own lines excluded). */
export function readConfigTable(readme: string): string {
  const { start, end } = markers(readme);
  return readme.slice(start, end);
}

/** The README with `table` between the markers, everything else as it was. */
export function withConfigTable(readme: string, table: string): string {
  const { start, end } = markers(readme);
  return readme.slice(0, start) + table + readme.slice(end);
}
