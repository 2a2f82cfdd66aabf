/**
 * The chat tables on the request path, through RLS: every statement runs in the project's scope, so another
 * project's channel of the same name is another channel. A send draws its seq from the channel's counter row
 * in the transaction that inserts the message (insert ... on conflict do update ... returning): the row lock
 * makes concurrent sends to one channel take seqs in commit order, so once seq n is visible every seq below
 * it is committed too (or was deleted), and a reader that sees a gap can fill it from here at once.
 */
import type { ProjectScope } from '../../http/auth-context.js';
import { scopeParams, type Database, type Queryable } from '../../internal/db/database.js';
import type { ChatMessage } from './api.js';

/** A message body: exactly one of text and data (data kept as the JSON the sender sent). */
export type MessageBody = { text: string } | { data: unknown };

interface MessageRow {
  channel: string;
  seq: string | number;
  sender_id: string;
  username: string | null;
  text: string | null;
  data: unknown;
  has_data: boolean;
  created_at: Date | string;
}

const COLUMNS = `m.channel, m.seq::text as seq, m.sender_id::text as sender_id, p.username, m.text, m.data,
  (m.data is not null) as has_data, m.created_at`;
const FROM = 'chat_messages m left join players p on p.id = m.sender_id';

function view(row: MessageRow): ChatMessage {
  const message: ChatMessage = {
    channel: row.channel,
    seq: Number(row.seq),
    sender_id: String(row.sender_id),
    username: row.username,
    created_at: new Date(row.created_at).toISOString(),
  };
  if (row.has_data) message.data = typeof row.data === 'string' ? (JSON.parse(row.data) as unknown) : row.data;
  else message.text = row.text!;
  return message;
}

export class MessageStore {
  constructor(private readonly db: Database) {}

  /** Stores a message inside `tx` (scoped to the project): its seq and creation time. */
  async append(tx: Queryable, scope: ProjectScope, channel: string, senderId: string, body: MessageBody): Promise<{ seq: number; createdAt: string }> {
    const [counter] = await tx.query<{ last_seq: string }>(
      `insert into chat_channels (tenant_id, project_id, channel, last_seq) values ($1, $2, $3, 1)
       on conflict (tenant_id, project_id, channel) do update set last_seq = chat_channels.last_seq + 1
       returning last_seq::text as last_seq`,
      [...scopeParams(scope), channel],
    );
    const seq = Number(counter!.last_seq);
    const text = 'text' in body ? body.text : null;
    const data = 'data' in body ? JSON.stringify(body.data) : null;
    const [row] = await tx.query<{ created_at: Date | string }>(
      `insert into chat_messages (tenant_id, project_id, channel, seq, sender_id, text, data)
       values ($1, $2, $3, $4, $5, $6, $7::text::jsonb) returning created_at`,
      [...scopeParams(scope), channel, seq, senderId, text, data],
    );
    return { seq, createdAt: new Date(row!.created_at).toISOString() };
  }

  /** The channel's last seq (0 before its first message) and its newest `limit` messages, oldest first. */
  async latest(scope: ProjectScope, channel: string, limit: number): Promise<{ lastSeq: number; messages: ChatMessage[] }> {
    return this.db.withTenant(scope, async (tx) => {
      const [counter] = await tx.query<{ last_seq: string }>('select last_seq::text as last_seq from chat_channels where channel = $1', [channel]);
      const lastSeq = Number(counter?.last_seq ?? 0);
      if (limit === 0 || lastSeq === 0) return { lastSeq, messages: [] };
      const rows = await tx.query<MessageRow>(`select ${COLUMNS} from ${FROM} where m.channel = $1 and m.seq <= $2 order by m.seq desc limit $3`, [
        channel,
        lastSeq,
        limit,
      ]);
      return { lastSeq, messages: rows.reverse().map(view) };
    });
  }

  /** The messages after `afterSeq` (up to `uptoSeq` when given), oldest first. */
  async after(scope: ProjectScope, channel: string, afterSeq: number, limit: number, uptoSeq?: number): Promise<ChatMessage[]> {
    const rows = await this.db.tenantQuery<MessageRow>(
      scope,
      `select ${COLUMNS} from ${FROM} where m.channel = $1 and m.seq > $2 and ($3::bigint is null or m.seq <= $3) order by m.seq limit $4`,
      [channel, afterSeq, uptoSeq ?? null, limit],
    );
    return rows.map(view);
  }

  /** The messages below `beforeSeq` (all when null), newest first. */
  async before(scope: ProjectScope, channel: string, beforeSeq: number | null, limit: number): Promise<ChatMessage[]> {
    const rows = await this.db.tenantQuery<MessageRow>(
      scope,
      `select ${COLUMNS} from ${FROM} where m.channel = $1 and ($2::bigint is null or m.seq < $2) order by m.seq desc limit $3`,
      [channel, beforeSeq, limit],
    );
    return rows.map(view);
  }

  /** The channel's last seq (0 before its first message). */
  async lastSeq(scope: ProjectScope, channel: string): Promise<number> {
    const [row] = await this.db.tenantQuery<{ last_seq: string }>(scope, 'select last_seq::text as last_seq from chat_channels where channel = $1', [channel]);
    return Number(row?.last_seq ?? 0);
  }

  /** Deletes one message (only the sender's when `senderId` is given); false when there was none. */
  async remove(scope: ProjectScope, channel: string, seq: number, senderId: string | null): Promise<boolean> {
    const rows = await this.db.tenantQuery(
      scope,
      'delete from chat_messages where channel = $1 and seq = $2 and ($3::bigint is null or sender_id = $3) returning 1 as deleted',
      [channel, seq, senderId],
    );
    return rows.length > 0;
  }
}
