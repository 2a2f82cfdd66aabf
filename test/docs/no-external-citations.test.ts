/**
 * The repository documents itself: no file outside docs/ cites a contract or style page that lives beside
 * the repository rather than in it (its readers would not have it). Comments state the rule they rely on,
 * or point at a file of the repository such as docs/api/storage.md.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repositoryRoot, trackedFiles } from './repository.js';

// Spelled in pieces so that this file does not cite them itself.
const CITATION = new RegExp(['\\b(?:API|ARCHITECTURE)\\.md\\b', '\\.\\./shared\\b'].join('|'));

/** "path:line: text" for every line of `text` that cites one of those pages. */
function citationsIn(path: string, text: string): string[] {
  return text.split('\n').flatMap((line, i) => (CITATION.test(line) ? [`${path}:${i + 1}: ${line.trim().slice(0, 160)}`] : []));
}

function isBinary(bytes: Buffer): boolean {
  return bytes.subarray(0, 8000).includes(0);
}

describe('no citations of documents the repository does not ship', () => {
  it('no tracked file outside docs/ cites them', () => {
    const files = trackedFiles().filter((path) => !path.startsWith('docs/'));
    assert.ok(files.length > 50, `only ${files.length} tracked files found: is this the repository?`);
    const found = files.flatMap((path) => {
      let bytes: Buffer;
      try {
        bytes = readFileSync(join(repositoryRoot, path));
      } catch {
        return []; // tracked but deleted in this work tree
      }
      return isBinary(bytes) ? [] : citationsIn(path, bytes.toString('utf8'));
    });
    assert.deepEqual(found, [], `say the rule, or point into docs/, instead of:\n${found.join('\n')}`);
  });

  it('recognises a citation, and not a storage collection named shared', () => {
    const md = '.md';
    const page = [
      `// see API${md} "Limits"`,
      `-- the policy of ARCHITECTURE${md}`,
      `[x](../${'shared'}/guide${md})`,
      "putObject(app, key, 'shared/card')",
      `OPENAPI${md}`,
    ].join('\n');
    assert.deepEqual(
      citationsIn('x.ts', page).map((hit) => hit.split(':')[1]),
      ['1', '2', '3'],
    );
  });
});
