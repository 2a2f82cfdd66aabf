/**
 * Every relative link in README.md and docs/ leads to a file of this repository (not to a sibling folder a
 * reader of the repository does not have, nor to an ignored or missing file), and every #anchor to a heading
 * of the page it names.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { extractLinks, githubSlug, headingAnchors, isExternal } from './markdown.js';
import { isIgnored, markdownFilesUnder, repositoryRoot } from './repository.js';

/** Why a relative link of `page` (a repository path) does not resolve, or undefined when it does. */
function brokenLink(page: string, target: string): string | undefined {
  const hash = target.indexOf('#');
  const pathPart = hash >= 0 ? target.slice(0, hash) : target;
  const anchor = hash >= 0 ? decodeURIComponent(target.slice(hash + 1)) : undefined;
  const path = decodeURI(pathPart.split('?')[0]!);
  if (isAbsolute(path)) return 'is an absolute path, which means nothing in a clone';
  const resolved = path === '' ? page : normalize(join(dirname(page), path)).split(sep).join('/');
  if (resolved === '..' || resolved.startsWith('../')) return `leaves the repository (${resolved})`;
  const file = join(repositoryRoot, resolved);
  if (!existsSync(file)) return `names ${resolved}, which does not exist`;
  if (isIgnored(resolved)) return `names ${resolved}, which git ignores`;
  if (anchor !== undefined && anchor !== '' && resolved.endsWith('.md') && !headingAnchors(readFileSync(file, 'utf8')).has(anchor)) {
    return `names the anchor #${anchor}, which no heading of ${resolved} has`;
  }
  return undefined;
}

function brokenLinksOf(page: string): string[] {
  const text = readFileSync(join(repositoryRoot, page), 'utf8');
  return extractLinks(text)
    .filter((link) => !isExternal(link.target))
    .flatMap((link) => {
      const why = brokenLink(page, link.target);
      return why === undefined ? [] : [`${page}:${link.line}: (${link.target}) ${why}`];
    });
}

const pages = ['README.md', ...markdownFilesUnder('docs')];

describe('documentation links', () => {
  it('the documentation has an index, and the README links to it', () => {
    assert.ok(existsSync(join(repositoryRoot, 'docs', 'README.md')), 'docs/README.md is missing');
    const readmeTargets = extractLinks(readFileSync(join(repositoryRoot, 'README.md'), 'utf8')).map((link) => link.target);
    assert.ok(
      readmeTargets.some((target) => target === 'docs/README.md' || target === 'docs/' || target === 'docs'),
      'README.md does not link to docs/',
    );
  });

  it('every relative link in README.md and docs/ resolves to a file of the repository', () => {
    assert.ok(pages.length > 1, 'no page under docs/');
    const broken = pages.flatMap(brokenLinksOf);
    assert.deepEqual(broken, [], `broken links:\n${broken.join('\n')}`);
  });

  it('every page under docs/ is reachable from the index', () => {
    const reachable = new Set<string>();
    const pending = ['docs/README.md'];
    while (pending.length > 0) {
      const page = pending.pop()!;
      if (reachable.has(page) || !existsSync(join(repositoryRoot, page))) continue;
      reachable.add(page);
      for (const { target } of extractLinks(readFileSync(join(repositoryRoot, page), 'utf8'))) {
        if (isExternal(target)) continue;
        const path = decodeURI(target.split('#')[0]!.split('?')[0]!);
        if (!path.endsWith('.md')) continue;
        const next = normalize(join(dirname(page), path)).split(sep).join('/');
        if (next.startsWith('docs/')) pending.push(next);
      }
    }
    const orphans = markdownFilesUnder('docs').filter((page) => !reachable.has(page));
    assert.deepEqual(orphans, [], `pages no link from docs/README.md leads to: ${orphans.join(', ')}`);
  });
});

describe('the link checker itself', () => {
  it('finds inline, image and reference links, but not those in code', () => {
    const page = [
      'See [the guide](docs/a.md#top "Title") and ![diagram](<img/x y.png>).',
      '`[not a link](nowhere.md)` and [a](b.md)',
      '```sh',
      'curl [x](inside-a-fence.md)',
      '```',
      '[ref]: ../outside.md',
    ].join('\n');
    assert.deepEqual(extractLinks(page), [
      { line: 1, target: 'docs/a.md#top' },
      { line: 1, target: 'img/x y.png' },
      { line: 2, target: 'b.md' },
      { line: 6, target: '../outside.md' },
    ]);
  });

  it('refuses links that leave the repository, name missing files or missing anchors', () => {
    assert.match(brokenLink('README.md', '../elsewhere/guide.md') ?? '', /leaves the repository/);
    assert.match(brokenLink('README.md', 'docs/no-such-page.md') ?? '', /does not exist/);
    assert.match(brokenLink('README.md', 'README.md#no-such-heading') ?? '', /anchor/);
    assert.match(brokenLink('README.md', '/etc/passwd') ?? '', /absolute/);
    assert.equal(brokenLink('README.md', 'package.json'), undefined);
    assert.equal(isExternal('https://example.com/x.md'), true);
    assert.equal(isExternal('mailto:someone@example.com'), true);
  });

  it("gives headings GitHub's anchors", () => {
    assert.equal(githubSlug('Run it'), 'run-it');
    assert.equal(githubSlug('Production: PostgreSQL and Redis'), 'production-postgresql-and-redis');
    assert.equal(githubSlug('`Idempotency-Key` and retries'), 'idempotency-key-and-retries');
    assert.equal(githubSlug('Memory vs. [Redis](https://redis.io)'), 'memory-vs-redis');
    assert.deepEqual([...headingAnchors('# A\n## A\n```\n# not a heading\n```\n### B')], ['a', 'a-1', 'b']);
  });
});
