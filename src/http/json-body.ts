/**
 * The app's one JSON body parser. JSON nested deeper than MAX_JSON_DEPTH levels is a 400 before it is even
 * parsed: JSON.parse copes with any depth, but everything after it that walks the value recursively
 * (JSON.stringify of metadata, schema validation, a jsonb cast) overflows the stack somewhere past a few
 * thousand levels, and no game needs more than a handful. Found as a 500 on leaderboard metadata nested
 * 5,000 deep. The parse itself is Fastify's own (secure-json-parse: `__proto__` and `constructor.prototype`
 * keys refused as configured), under the app's body limit.
 */
import type { FastifyInstance } from 'fastify';
import { validation } from '../internal/errors/app-error.js';

/** The deepest JSON accepted, counting the body itself as level 1 (realtime frames use the same rule). */
export const MAX_JSON_DEPTH = 32;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Whether JSON text opens more than `maxDepth` arrays or objects at once. One linear pass, no allocation:
 * brackets inside strings (escaped quotes included) are not counted. Exact for valid JSON; for invalid JSON
 * the answer does not matter, since the parse refuses it anyway.
 */
export function exceedsJsonDepth(text: string, maxDepth: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === BACKSLASH) i++;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_BRACKET || code === OPEN_BRACE) {
      if (++depth > maxDepth) return true;
    } else if (code === CLOSE_BRACKET || code === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}

/** Replaces Fastify's application/json parser with the same parser behind the depth check. */
export function registerJsonParser(app: FastifyInstance): void {
  const { onProtoPoisoning, onConstructorPoisoning } = app.initialConfig;
  const parse = app.getDefaultJsonParser(onProtoPoisoning ?? 'error', onConstructorPoisoning ?? 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (exceedsJsonDepth(text)) {
      done(validation(`The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels.`), undefined);
      return;
    }
    void parse(request, text, done);
  });
}
