// Bundles the server into dist/cli.js (one file loads faster than hundreds: start-up is a feature) and
// records the commit. Packages that ship native code or load files beside themselves stay external.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';

let commit = process.env.GGSCALE_COMMIT || 'unknown';
if (commit === 'unknown') {
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    // Not a git checkout (e.g. a tarball): the commit stays unknown.
  }
}

// Packages that dependencies load at start-up but ggscale rarely or never uses: `yaml` (a quarter of the
// server's code; @fastify/swagger needs it only to print YAML, which ggscale never serves) and
// `@opentelemetry/api` (prom-client's exemplars). The bundle gets a stand-in that loads the real package on
// first use instead.
const DEFERRED = { yaml: '@fastify/swagger', '@opentelemetry/api': 'prom-client' };
const deferPackages = {
  name: 'defer-packages',
  setup(builder) {
    builder.onResolve({ filter: /^(yaml|@opentelemetry\/api)$/ }, (args) =>
      args.importer.includes(`node_modules/${DEFERRED[args.path]}/`) ? { path: args.path, namespace: 'deferred' } : undefined,
    );
    builder.onLoad({ filter: /.*/, namespace: 'deferred' }, (args) => ({
      // A computed name keeps esbuild from bundling the real package into the stand-in.
      contents: `let real; const load = () => (real ??= require([${JSON.stringify(args.path)}][0])); module.exports = new Proxy({}, { get: (_, key) => load()[key] });`,
      loader: 'js',
    }));
  },
};

// Chunk names change with their content: start from an empty folder so stale chunks never pile up.
rmSync('dist', { recursive: true, force: true });

await build({
  plugins: [deferPackages],
  // The embedded database's worker thread is loaded by path, so it is an entry point of its own.
  entryPoints: { cli: 'src/cli.ts', 'pglite-worker': 'src/internal/db/pglite-worker.ts' },
  outdir: 'dist',
  // Chunks for what loads after the server listens (database drivers, CLI commands): not parsed at start.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  // Less to parse at start-up. Identifiers are not renamed, so stack traces and logged error types stay
  // readable without esbuild's keepNames, whose __name() wrapper runs on every closure a hot path creates
  // (Fastify makes several per request): measured here, keepNames cost healthz about a quarter of its req/s.
  minifyWhitespace: true,
  minifySyntax: true,
  external: ['@electric-sql/pglite', '@node-rs/argon2', '@kubernetes/client-node', 'ioredis'],
  // CommonJS dependencies inside an ESM bundle still call require().
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
});
mkdirSync('dist', { recursive: true });
writeFileSync('dist/build-info.json', JSON.stringify({ commit }) + '\n');
