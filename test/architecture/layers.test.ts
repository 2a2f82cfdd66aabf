/**
 * The layering rules, read from every import in src/: data and dependencies point down.
 *   src/internal   imports only src/internal
 *   src/http       imports src/internal and src/http
 *   src/modules/X  imports src/internal, src/http, src/modules/contract.ts, its own folder, and other modules'
 *                  api.ts only (never their services, stores or routes)
 *   src/app        the composition root: imports anything below; only src/start and src/cli.ts import it
 * Type-only imports count: they couple as much as value imports do.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve('src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return entry.endsWith('.ts') ? [path] : [];
  });
}

// Static imports and re-exports (`from '…'`) and dynamic imports (`import('…')`), relative ones only.
const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*)'(\.{1,2}\/[^']+)'/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((match) => relative(SRC, resolve(dirname(file), match[1]!.replace(/\.js$/, '.ts'))));
}

/** Why `from` may not import `to`, or undefined when it may. */
function violation(from: string, to: string): string | undefined {
  const [fromLayer, fromModule] = from.split('/');
  const [toLayer, toModule, ...rest] = to.split('/');
  if (toLayer === 'start' || to === 'cli.ts') return fromLayer === 'start' || from === 'cli.ts' ? undefined : 'only the CLI imports src/start';
  if (toLayer === 'app') return fromLayer === 'app' || fromLayer === 'start' || from === 'cli.ts' ? undefined : 'nothing below the composition root imports src/app';
  if (fromLayer === 'internal') return toLayer === 'internal' ? undefined : 'src/internal imports only src/internal';
  if (fromLayer === 'http') return toLayer === 'internal' || toLayer === 'http' ? undefined : 'src/http imports only src/internal';
  if (fromLayer === 'modules' && toLayer === 'modules') {
    if (to === 'modules/contract.ts' || toModule === fromModule) return undefined;
    if (from === 'modules/contract.ts') return 'the contract imports no module';
    return rest.join('/') === 'api.ts' ? undefined : `a module imports only another module's api.ts`;
  }
  return undefined;
}

describe('layers', () => {
  const files = sourceFiles(SRC);

  it('finds the source tree and its imports (the rules below are not vacuous)', () => {
    assert.ok(files.length > 100, `only ${files.length} files under src/`);
    const edges = files.flatMap((file) => importsOf(file));
    assert.ok(edges.some((to) => to.startsWith('modules/') && to.endsWith('/api.ts')), 'no module imports another module\'s api.ts');
  });

  it('every import points down', () => {
    const broken = files.flatMap((file) => {
      const from = relative(SRC, file);
      return importsOf(file).flatMap((to) => {
        const why = violation(from, to);
        return why ? [`${from} → ${to}: ${why}`] : [];
      });
    });
    assert.deepEqual(broken, []);
  });

  it('the rules refuse what they should (a check of the checker)', () => {
    assert.ok(violation('internal/db/pglite.ts', 'http/problem.ts'));
    assert.ok(violation('http/cors.ts', 'modules/tenancy/api.ts'));
    assert.ok(violation('modules/fleet/module.ts', 'modules/tenancy/tenancy-service.ts'));
    assert.ok(violation('modules/fleet/module.ts', 'app/config.ts'));
    assert.equal(violation('modules/fleet/module.ts', 'modules/tenancy/api.ts'), undefined);
    assert.equal(violation('app/build.ts', 'modules/auth/module.ts'), undefined);
  });
});
