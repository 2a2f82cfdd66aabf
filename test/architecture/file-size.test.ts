/** Small files: none in src/ above ~400 lines unless it is listed here with the reason it stays whole. */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const LIMIT = 400;

const ALLOWED: Record<string, string> = {
  'src/internal/db/wire/connection.ts':
    "one PostgreSQL connection's state machine (startup, the query queue, cancellation, close): split, its invariants would span files",
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return entry.endsWith('.ts') ? [path] : [];
  });
}

it(`no source file is longer than ${LIMIT} lines without a reason`, () => {
  const long = sourceFiles('src')
    .map((file) => ({ file, lines: readFileSync(file, 'utf8').split('\n').length }))
    .filter(({ file, lines }) => lines > LIMIT && !(file in ALLOWED))
    .map(({ file, lines }) => `${file}: ${lines} lines`);
  assert.deepEqual(long, []);
});

it('every file allowed to be long still exists and still is', () => {
  for (const file of Object.keys(ALLOWED)) {
    assert.ok(readFileSync(file, 'utf8').split('\n').length > LIMIT, `${file} is no longer long: drop it from the list`);
  }
});
