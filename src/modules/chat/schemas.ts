/** Route schemas of the chat history API (docs/api/chat.md). Objects closed, strings bounded. */
import { Type, type Static } from '@sinclair/typebox';
import { Id, Timestamp } from '../../http/schemas.js';
import { MAX_CHANNEL_ID } from './channel-id.js';
import { MAX_BODY_BYTES } from './message-body.js';

const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

export const ChannelParams = Type.Object(
  {
    channel: Type.String({
      minLength: 1,
      maxLength: MAX_CHANNEL_ID,
      description: 'room:<name>, dm:<player id> or dm:<a>:<b>, or party:<party id>.',
    }),
  },
  { additionalProperties: false },
);
export type ChannelParams = Static<typeof ChannelParams>;

export const MessageParams = Type.Object(
  {
    ...ChannelParams.properties,
    seq: Type.String({ pattern: '^[1-9][0-9]{0,15}$', maxLength: 16, description: 'The message seq in its channel.' }),
  },
  { additionalProperties: false },
);
export type MessageParams = Static<typeof MessageParams>;

export const HistoryQuery = Type.Object(
  {
    before_seq: Type.Optional({ ...Seq, description: 'Newest first, below this seq.' }),
    after_seq: Type.Optional({ ...Seq, description: 'Oldest first, above this seq.' }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
  },
  { additionalProperties: false },
);
export type HistoryQuery = Static<typeof HistoryQuery>;

export const MessageSchema = Type.Object(
  {
    channel: Type.String(),
    seq: Type.Integer({ minimum: 1 }),
    sender_id: Id,
    username: Type.Union([Type.String(), Type.Null()]),
    text: Type.Optional(Type.String({ description: `1–${MAX_BODY_BYTES} bytes of UTF-8.` })),
    data: Type.Optional(Type.Unknown({ description: `Any JSON value of at most ${MAX_BODY_BYTES} bytes.` })),
    created_at: Timestamp,
  },
  { additionalProperties: false, description: 'Exactly one of text and data is present.' },
);

export const HistoryPageSchema = Type.Object(
  {
    items: Type.Array(MessageSchema),
    next_cursor: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
      description: 'The seq to pass as before_seq (or after_seq, when paging oldest first) for the next page; null on the last one.',
    }),
  },
  { additionalProperties: false },
);

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } } });
export const BadHistoryResponse = problem('A malformed channel id, or both before_seq and after_seq.');
export const ChannelNotFoundResponse = problem('No such channel for this caller (another player\'s dm, a party it is not in).');
export const MessageNotFoundResponse = problem('No such message, or (for a player token) not one of its own.');
