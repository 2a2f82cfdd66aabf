/**
 * The rules every notification follows, whoever sends it: the REST route (after its schema) and other
 * modules through the api. A broken rule is a 4xx problem and nothing is stored.
 */
import { hasUnstorableText } from '../../http/storable-text.js';
import { AppError, validation } from '../../internal/errors/app-error.js';
import type { NewNotification } from './api.js';

export const CODE = /^[a-z0-9_.-]{1,64}$/;
export const MAX_SUBJECT_BYTES = 256;
export const MAX_CONTENT_BYTES = 4096;
export const MAX_COLLAPSE_KEY_BYTES = 64;
const PLAYER_ID = /^[1-9][0-9]{0,17}$/;

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/** A checked notification: its content already as the JSON text that is stored. */
export interface CheckedNotification {
  playerId: string;
  code: string;
  subject: string;
  content: Record<string, unknown>;
  contentJson: string;
  senderId: string | null;
  persistent: boolean;
  collapseKey: string | null;
}

export function contentTooLarge(): AppError {
  return new AppError('payload-too-large', `content must be at most ${MAX_CONTENT_BYTES} bytes of JSON.`);
}

export function checkNotification(item: NewNotification): CheckedNotification {
  if (!PLAYER_ID.test(item.playerId)) throw validation('A player id is not an id.');
  if (item.senderId !== null && !PLAYER_ID.test(item.senderId)) throw validation('sender_id is not an id.');
  if (!CODE.test(item.code)) throw validation('code must be 1–64 characters of a-z 0-9 _ . -');
  const subjectBytes = bytes(item.subject);
  if (subjectBytes < 1 || subjectBytes > MAX_SUBJECT_BYTES) throw validation(`subject must be 1–${MAX_SUBJECT_BYTES} bytes of UTF-8.`);
  const collapseKey = item.collapseKey ?? null;
  if (collapseKey !== null) {
    const keyBytes = bytes(collapseKey);
    if (keyBytes < 1 || keyBytes > MAX_COLLAPSE_KEY_BYTES) throw validation(`collapse_key must be 1–${MAX_COLLAPSE_KEY_BYTES} bytes of UTF-8.`);
  }
  if (typeof item.content !== 'object' || item.content === null || Array.isArray(item.content)) throw validation('content must be a JSON object.');
  const contentJson = JSON.stringify(item.content);
  if (bytes(contentJson) > MAX_CONTENT_BYTES) throw contentTooLarge();
  // The REST route's hook already refused these; other modules' content may carry them from elsewhere.
  if (hasUnstorableText([item.subject, collapseKey, item.content])) throw validation('A notification must not contain NUL characters or unpaired surrogates.');
  return {
    playerId: item.playerId,
    code: item.code,
    subject: item.subject,
    content: item.content,
    contentJson,
    senderId: item.senderId,
    persistent: item.persistent ?? true,
    collapseKey,
  };
}
