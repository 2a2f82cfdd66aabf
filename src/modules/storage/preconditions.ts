/**
 * Conditional requests (RFC 9110 §13) on storage objects. Versions are strong entity tags: `"<version>"`.
 * Malformed conditions are 400 rather than ignored: silently dropping a precondition on a write would turn
 * a safe update into a blind overwrite.
 */
import { validation } from '../../internal/errors/app-error.js';

/** What a write requires of the current object. */
export type WriteCondition =
  | { kind: 'none' }
  /** If-Match: "<version>": only that version (a missing object fails it). */
  | { kind: 'match'; version: string }
  /** If-Match: *: any current object. */
  | { kind: 'exists' }
  /** If-None-Match: *: no current object (create only). */
  | { kind: 'absent' };

// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE ; etagc = %x21 / %x23-7E (obs-text is refused).
const ENTITY_TAG = /^(W\/)?"([\x21\x23-\x7e]*)"$/;

interface EntityTag {
  weak: boolean;
  opaque: string;
}

function parseEntityTag(text: string): EntityTag | undefined {
  const match = ENTITY_TAG.exec(text.trim());
  return match ? { weak: match[1] !== undefined, opaque: match[2]! } : undefined;
}

/** The ETag header value of a version. */
export const entityTag = (version: string) => `"${version}"`;

function ifMatchCondition(header: string): WriteCondition {
  if (header.trim() === '*') return { kind: 'exists' };
  const tag = parseEntityTag(header);
  if (!tag) throw validation('If-Match must be one entity tag, "<version>" as sent in ETag, or *.');
  // If-Match compares strongly: a weak tag never matches, so it is kept in a form no version can equal.
  return { kind: 'match', version: tag.weak ? `W/${tag.opaque}` : tag.opaque };
}

/** The condition of a PUT: If-Match ("<version>" or *) or If-None-Match: *, not both. */
export function putCondition(ifMatch: string | undefined, ifNoneMatch: string | undefined): WriteCondition {
  if (ifMatch !== undefined && ifNoneMatch !== undefined) throw validation('Send either If-Match or If-None-Match, not both.');
  if (ifMatch !== undefined) return ifMatchCondition(ifMatch);
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') throw validation('On PUT, If-None-Match accepts only * (create only).');
    return { kind: 'absent' };
  }
  return { kind: 'none' };
}

/** The condition of a DELETE: If-Match only (a missing object is 404 whatever the condition). */
export function deleteCondition(ifMatch: string | undefined, ifNoneMatch: string | undefined): WriteCondition {
  if (ifNoneMatch !== undefined) throw validation('DELETE does not support If-None-Match; use If-Match.');
  return ifMatch === undefined ? { kind: 'none' } : ifMatchCondition(ifMatch);
}

/**
 * If-None-Match on GET/HEAD: true when the current version matches (→ 304). Weak comparison, as RFC 9110
 * §13.1.2 asks; `*` matches any current object.
 */
export function notModified(ifNoneMatch: string | undefined, version: string): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return parseEntityTagList(ifNoneMatch).some((tag) => tag.opaque === version);
}

// One list element and its separator; an opaque tag may itself contain commas, so the list is not split.
const LIST_ELEMENT = /[ \t]*(W\/)?"([\x21\x23-\x7e]*)"[ \t]*(,|$)/y;

function parseEntityTagList(header: string): EntityTag[] {
  const tags: EntityTag[] = [];
  LIST_ELEMENT.lastIndex = 0;
  while (LIST_ELEMENT.lastIndex < header.length) {
    const match = LIST_ELEMENT.exec(header);
    if (!match) throw validation('If-None-Match must be * or a list of entity tags ("<version>").');
    tags.push({ weak: match[1] !== undefined, opaque: match[2]! });
    if (match[3] === '') break;
  }
  if (tags.length === 0) throw validation('If-None-Match must be * or a list of entity tags ("<version>").');
  return tags;
}
