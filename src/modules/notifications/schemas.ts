/** Route schemas of the notifications API (docs/api/notifications.md). Objects closed, strings and arrays bounded. */
import { Type, type Static } from '@sinclair/typebox';
import { ActingPlayerQuery } from '../../http/acting-player.js';
import { Id, Timestamp } from '../../http/schemas.js';
import { MAX_COLLAPSE_KEY_BYTES, MAX_CONTENT_BYTES, MAX_SUBJECT_BYTES } from './new-notification.js';

/** Stored ids are decimal; a non-persistent notification's id is `live_` and hex. */
const NotificationId = Type.String({ minLength: 1, maxLength: 64, description: 'Opaque. Only a persistent notification is ever listed or deleted by it.' });

const Code = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[a-z0-9_.-]+$',
  description: 'What kind of notification it is, for the game to act on: 1–64 of a-z 0-9 _ . - (codes starting with "ggscale." are ggscale\'s own).',
});
const Subject = Type.String({ minLength: 1, maxLength: MAX_SUBJECT_BYTES, description: `1–${MAX_SUBJECT_BYTES} bytes of UTF-8, shown to the player.` });
const Content = Type.Record(Type.String(), Type.Unknown(), { description: `A JSON object of at most ${MAX_CONTENT_BYTES} bytes (over it: 413).` });
const CollapseKey = Type.String({
  minLength: 1,
  maxLength: MAX_COLLAPSE_KEY_BYTES,
  description: `1–${MAX_COLLAPSE_KEY_BYTES} bytes: replaces the player's stored notification with the same code and collapse_key.`,
});

export const SendBody = Type.Object(
  {
    player_ids: Type.Array(Id, { minItems: 1, maxItems: 1000, uniqueItems: true, description: '1–1,000 distinct players of the project.' }),
    code: Code,
    subject: Subject,
    content: Content,
    persistent: Type.Optional(Type.Boolean({ description: 'Default true. false: delivered live only, never stored or listed.' })),
    collapse_key: Type.Optional(CollapseKey),
  },
  { additionalProperties: false },
);
export type SendBody = Static<typeof SendBody>;

export const SendAnswerSchema = Type.Object(
  {
    items: Type.Array(Type.Object({ player_id: Id, id: NotificationId }, { additionalProperties: false }), {
      description: "Each player's notification id, in the order of player_ids.",
    }),
  },
  { additionalProperties: false, description: 'Sent.' },
);

export const NotificationSchema = Type.Object(
  {
    id: NotificationId,
    code: Type.String(),
    subject: Type.String(),
    content: Content,
    sender_id: Type.Union([Id, Type.Null()], { description: 'The player whose action caused it; null when a secret key or ggscale sent it.' }),
    persistent: Type.Boolean(),
    collapse_key: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
  },
  { additionalProperties: false },
);

export const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'A next_cursor or a cacheable_cursor of an earlier page.' })),
    ...ActingPlayerQuery,
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

export const NotificationPageSchema = Type.Object(
  {
    items: Type.Array(NotificationSchema),
    next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'The next page, or null on the last one.' }),
    cacheable_cursor: Type.String({ description: 'Passed back later as cursor: only the notifications created since this page.' }),
  },
  { additionalProperties: false },
);

export const NotificationParams = Type.Object({ id: NotificationId }, { additionalProperties: false });
export type NotificationParams = Static<typeof NotificationParams>;
export const ActingQuery = Type.Object({ ...ActingPlayerQuery }, { additionalProperties: false });
export type ActingQuery = Static<typeof ActingQuery>;

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } } });
export const SendNotFoundResponse = problem('Some player ids are not players of the project (up to 100 of them in player_ids); nothing was sent.');
export const PlayerNotFoundResponse = problem('No such player in the project.');
export const NotificationNotFoundResponse = problem('No such notification of this player (or no such player).');
export const ConflictResponse = problem('The Idempotency-Key was used with another request, or its first request is still in progress.');
export const TooLargeResponse = problem(`content is over ${MAX_CONTENT_BYTES} bytes of JSON.`);
