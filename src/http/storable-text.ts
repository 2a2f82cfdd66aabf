/**
 * Text the database cannot store is refused at the door. Postgres text and jsonb cannot hold U+0000, and a
 * lone surrogate is not Unicode (jsonb rejects its escape; text silently turns it into U+FFFD). Schemas
 * cannot say "no NUL" for every free-form string (an email, a CORS origin, an annotation), so one hook checks
 * every parsed JSON body, query string and path parameter, and answers 400 before any handler runs: without
 * it such a string reached SQL and answered 500 (found by the bad-input fuzzer).
 */
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { validation } from '../internal/errors/app-error.js';

// eslint-disable-next-line no-control-regex -- matching U+0000 is the point
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether any string (key or value) inside a parsed value is unstorable. Iterative: bodies nest deeply. */
export function hasUnstorableText(root: unknown): boolean {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (UNSTORABLE.test(value)) return true;
    } else if (Array.isArray(value)) {
      // A loop, not push(...value): spreading a 200k-item array overflows the stack.
      for (const item of value) pending.push(item);
    } else if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) {
      // Raw bodies (storage objects) are bytes, stored as bytea: only parsed JSON is walked.
      for (const [key, item] of Object.entries(value)) {
        if (UNSTORABLE.test(key)) return true;
        pending.push(item);
      }
    }
  }
  return false;
}

/** A preValidation hook: 400 when the body, query string or path parameters hold unstorable text. */
export function refuseUnstorableText(request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  for (const [part, value] of [['body', request.body], ['querystring', request.query], ['params', request.params]] as const) {
    if (hasUnstorableText(value)) {
      done(validation(`${part} must not contain NUL characters or unpaired surrogates.`));
      return;
    }
  }
  done();
}
