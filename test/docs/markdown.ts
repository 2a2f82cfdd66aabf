/**
 * Just enough Markdown for the documentation tests: the links a page makes and the anchors its headings get
 * on GitHub. Code (fenced blocks and `spans`) is not prose, so links inside it are not links.
 */

export interface Link {
  /** 1-based line of the page. */
  line: number;
  target: string;
}

const FENCE = /^\s{0,3}(`{3,}|~{3,})/;
/** [text](target) and ![alt](target), with an optional "title"; the target may be wrapped in <>. */
const INLINE_LINK = /!?\[(?:[^\][]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+"[^"]*")?\s*\)/g;
/** [label]: target, on a line of its own. */
const REFERENCE_DEFINITION = /^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/;
const CODE_SPAN = /(`+)(?:(?!\1)[\s\S])*?\1/g;

/** Yields each line that is prose (not inside a fenced code block), with its 1-based number. */
function* proseLines(text: string): Generator<{ line: number; text: string }> {
  let fence: string | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const marker = FENCE.exec(line)?.[1];
    if (fence !== undefined) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      continue;
    }
    if (marker !== undefined) {
      fence = marker;
      continue;
    }
    yield { line: i + 1, text: line };
  }
}

const unwrap = (target: string) => (target.startsWith('<') && target.endsWith('>') ? target.slice(1, -1) : target);

export function extractLinks(markdown: string): Link[] {
  const links: Link[] = [];
  for (const { line, text } of proseLines(markdown)) {
    const definition = REFERENCE_DEFINITION.exec(text);
    if (definition) {
      links.push({ line, target: unwrap(definition[1]!) });
      continue;
    }
    for (const match of text.replace(CODE_SPAN, '').matchAll(INLINE_LINK)) links.push({ line, target: unwrap(match[1]!) });
  }
  return links;
}

/** Whether a link leaves the repository by itself (a URL with a scheme, or protocol-relative). */
export function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');
}

/**
 * The anchor GitHub gives a heading: its text as rendered (links reduced to their text, code and emphasis
 * marks dropped), lower-cased, every character that is not a letter, digit, mark, connector, hyphen or space
 * removed, and each space turned into a hyphen.
 */
export function githubSlug(heading: string): string {
  const rendered = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*]/g, '')
    .replace(/(^|\s)_+|_+(\s|$)/g, '$1$2');
  return rendered
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a page's headings (ATX style, `#` to `######`) answer to; repeated ones get -1, -2, .... */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text } of proseLines(markdown)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(text)?.[1];
    if (heading === undefined) continue;
    const slug = githubSlug(heading);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}
