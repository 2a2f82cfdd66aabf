/** Route schemas of the leaderboards API (docs/api/leaderboards.md). Objects closed, strings bounded. */
import { Type } from '@sinclair/typebox';
import { Id, Page, Timestamp } from '../../http/schemas.js';
import { Int64 } from './scores.js';

export const BoardId = Type.String({ pattern: '^[a-z0-9_-]{1,64}$', minLength: 1, maxLength: 64, description: 'A leaderboard id.' });

/** Free-form JSON shown to everyone who reads the board; its size is checked after parsing (2 KiB). */
const Metadata = Type.Record(Type.String({ maxLength: 256 }), Type.Unknown(), { description: 'At most 2 KiB of JSON.' });

const Sort = Type.Union([Type.Literal('desc'), Type.Literal('asc')]);
const Operator = Type.Union([Type.Literal('best'), Type.Literal('set'), Type.Literal('incr'), Type.Literal('decr')]);
const Period = Type.Union([Type.Literal('current'), Type.Literal('previous')], { description: 'Which period of a board with reset_cron.' });

export const CreateBoardBody = Type.Object(
  {
    id: BoardId,
    sort: Sort,
    operator: Operator,
    authoritative: Type.Optional(Type.Boolean()),
    reset_cron: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'A 5-field cron expression, in UTC.' })),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);

export const BoardSchema = Type.Object(
  {
    id: BoardId,
    sort: Sort,
    operator: Operator,
    authoritative: Type.Boolean(),
    reset_cron: Type.Union([Type.String(), Type.Null()]),
    metadata: Metadata,
    created_at: Timestamp,
  },
  { additionalProperties: false },
);

export const BoardParams = Type.Object({ id: BoardId }, { additionalProperties: false });
export const RecordParams = Type.Object({ id: BoardId, player_id: Id }, { additionalProperties: false });

export const BoardListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  },
  { additionalProperties: false },
);

export const SubmitBody = Type.Object(
  {
    player_id: Type.Optional(Id),
    score: Int64,
    subscore: Type.Optional(Int64),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);

export const SubmitAnswerSchema = Type.Object(
  {
    player_id: Id,
    score: Int64,
    subscore: Int64,
    rank: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
    updated_at: Timestamp,
  },
  { additionalProperties: false },
);

export const ScoresQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    around: Type.Optional(Id),
    period: Type.Optional(Period),
  },
  { additionalProperties: false },
);

export const RecordQuery = Type.Object({ period: Type.Optional(Period) }, { additionalProperties: false });

export const ScoreItemSchema = Type.Object(
  {
    rank: Type.Integer({ minimum: 1 }),
    player_id: Id,
    username: Type.Union([Type.String(), Type.Null()]),
    score: Int64,
    subscore: Int64,
    metadata: Metadata,
    updated_at: Timestamp,
  },
  { additionalProperties: false },
);

export const ScorePageSchema = Page(ScoreItemSchema);
export const BoardPageSchema = Page(BoardSchema);
export const NoContent = Type.Null({ description: 'Done.' });
