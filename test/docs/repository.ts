/** The repository's own files, as the documentation tests see them. */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { packageRoot } from '../../src/internal/paths.js';

export const repositoryRoot = packageRoot;

/** Folders that are never part of the repository's own text (installed, built or local-only). */
const NOT_OURS = new Set(['.git', 'node_modules', 'dist', 'data', 'coverage']);

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (NOT_OURS.has(entry.name)) return [];
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path) : [relative(repositoryRoot, path).split(sep).join('/')];
  });
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 }).toString();
  } catch {
    return undefined;
  }
}

/**
 * Every file git tracks, relative to the root with forward slashes. Outside a git checkout (a tarball) every
 * file but the installed and built folders stands in for them.
 */
export function trackedFiles(): string[] {
  const listed = git(['ls-files', '-z']);
  if (listed === undefined) return walk(repositoryRoot);
  return listed.split('\0').filter((path) => path !== '');
}

const ignored = new Map<string, boolean>();

/** Whether git ignores the path (a link to it would not resolve in a clone); false outside a checkout. */
export function isIgnored(path: string): boolean {
  let answer = ignored.get(path);
  if (answer === undefined) {
    try {
      execFileSync('git', ['check-ignore', '-q', '--', path], { cwd: repositoryRoot, stdio: 'ignore' });
      answer = true; // exit 0: ignored
    } catch {
      answer = false; // exit 1: not ignored (or no git at all)
    }
    ignored.set(path, answer);
  }
  return answer;
}

/** The Markdown files under a folder of the repository (relative paths). */
export function markdownFilesUnder(folder: string): string[] {
  const dir = join(repositoryRoot, folder);
  try {
    if (!statSync(dir).isDirectory()) return [];
  } catch {
    return [];
  }
  return walk(dir).filter((path) => path.endsWith('.md')).sort();
}
