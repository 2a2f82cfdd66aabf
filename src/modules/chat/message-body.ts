/**
 * A message body as `channel.send` receives it: exactly one of `text` (1-4,096 bytes of UTF-8) and `data`
 * (any JSON value of at most 4,096 bytes as the server re-serialises it). Over a size is payload-too-large;
 * anything else wrong is validation. Text PostgreSQL cannot store (NUL, lone surrogates) is refused.
 */
import { hasUnstorableText } from '../../http/storable-text.js';
import { AppError, validation } from '../../internal/errors/app-error.js';
import type { MessageBody } from './message-store.js';

export const MAX_BODY_BYTES = 4096;

const tooLarge = (what: string) => new AppError('payload-too-large', `${what} is over ${MAX_BODY_BYTES} bytes.`, { extensions: { limit: MAX_BODY_BYTES } });

export function checkBody(request: Record<string, unknown>): MessageBody {
  const hasText = request.text !== undefined;
  const hasData = Object.hasOwn(request, 'data') && request.data !== undefined;
  if (hasText === hasData) throw validation('A message has exactly one of text and data.');
  if (hasText) {
    const text = request.text;
    if (typeof text !== 'string' || text.length === 0) throw validation('text must be a non-empty string.');
    if (Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) throw tooLarge('text');
    if (hasUnstorableText(text)) throw validation('text must not contain NUL characters or unpaired surrogates.');
    return { text };
  }
  const serialised = JSON.stringify(request.data);
  if (Buffer.byteLength(serialised, 'utf8') > MAX_BODY_BYTES) throw tooLarge('data');
  if (hasUnstorableText(request.data)) throw validation('data must not contain NUL characters or unpaired surrogates.');
  return { data: JSON.parse(serialised) as unknown };
}
