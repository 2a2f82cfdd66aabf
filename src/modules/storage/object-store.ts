/**
 * SQL for storage objects, all through RLS (withTenant / tenantQuery). An owner key is the player id, or '0'
 * for the project (the `owner` column of migrations/0003_storage).
 *
 * Every write of an owner first locks that owner's usage row, then decides and applies the write in ONE
 * statement: the precondition, the quotas, the object and the usage counters. The lock makes the quotas
 * race-free and applies the writes of one owner one after another, so two conditional writes on one version
 * cannot both win: the second one's statement starts after the first committed, and sees the new version.
 */
import { randomBytes } from 'node:crypto';
import type { Database, TenantScope } from '../../internal/db/database.js';
import { sqlState } from '../../internal/db/errors.js';
import { AppError, notFound } from '../../internal/errors/app-error.js';
import type { WriteCondition } from './preconditions.js';

export interface ObjectAddress {
  collection: string;
  key: string;
  /** A player id, or '0' for the project. */
  owner: string;
}

export interface ObjectMetadata {
  collection: string;
  key: string;
  owner: string;
  version: string;
  size: number;
  contentType: string;
  publicRead: boolean;
  updatedAt: Date;
}

export interface StoredObject extends ObjectMetadata {
  body: Buffer;
}

export interface WriteRequest {
  body: Buffer;
  contentType: string;
  publicRead: boolean;
  condition: WriteCondition;
  maxObjects: number;
  maxBytes: number;
}

interface MetadataRow {
  key: string;
  version: string;
  size: number;
  content_type: string;
  public_read: boolean;
  updated_at: Date;
}

const KEY_MATCH = 'tenant_id = $1 and project_id = $2 and owner = $3 and collection = $4 and key = $5';
const METADATA_COLUMNS = 'key, version, size, content_type, public_read, updated_at';

// $6: may the caller read private objects of this owner (else only public-read ones).
const GET_SQL = `select ${METADATA_COLUMNS}, body from storage_objects where ${KEY_MATCH} and (public_read or $6::boolean)`;
const HEAD_SQL = `select ${METADATA_COLUMNS} from storage_objects where ${KEY_MATCH} and (public_read or $6::boolean)`;

// $4 collection, $5 the last key of the previous page ('' for none), $6 the literal prefix ('' for none),
// $7 the page size. Keys hold only [A-Za-z0-9._-] (all below '~' byte-wise), so a range is the prefix.
const LIST_SQL = `select ${METADATA_COLUMNS} from storage_objects
  where tenant_id = $1 and project_id = $2 and owner = $3 and collection = $4
    and key > $5::text collate "C" and key >= $6::text collate "C" and key < ($6::text || '~') collate "C"
  order by key limit $7::int`;

const PLAYER_EXISTS_SQL = 'select 1 as found from players where tenant_id = $1 and project_id = $2 and id = $3';

// Creates the owner's usage row on its first write and locks it until commit (the no-op update takes the
// lock). Fails with a foreign-key violation when the owner is not a player of this project.
const LOCK_USAGE_FOR_PUT_SQL = `insert into storage_usage as u (tenant_id, project_id, player_id) values ($1, $2, nullif($3::bigint, 0))
  on conflict (tenant_id, project_id, owner) do update set objects = u.objects`;
const LOCK_USAGE_FOR_DELETE_SQL = 'select objects from storage_usage where tenant_id = $1 and project_id = $2 and owner = $3 for update';

// $6 condition kind, $7 expected version, $8 new version, $9 content type, $10 body, $11 public-read,
// $12 max objects, $13 max bytes. Always answers one row: the outcome, and the write's time when it was made.
const PUT_SQL = `with current as (
    select version, size from storage_objects where ${KEY_MATCH}
  ),
  usage as (
    select objects, bytes from storage_usage where tenant_id = $1 and project_id = $2 and owner = $3
  ),
  verdict as (
    select case
        when $6::text = 'match' and not exists (select 1 from current where version = $7::text) then 'precondition-failed'
        when $6::text = 'exists' and not exists (select 1 from current) then 'precondition-failed'
        when $6::text = 'absent' and exists (select 1 from current) then 'precondition-failed'
        when not exists (select 1 from current) and (select objects from usage) + 1 > $12::int then 'objects-quota'
        when (select bytes from usage) - coalesce((select size from current), 0) + octet_length($10::bytea) > $13::bigint then 'bytes-quota'
        else 'ok'
      end as outcome,
      exists (select 1 from current) as existed
  ),
  written as (
    insert into storage_objects as o (tenant_id, project_id, player_id, collection, key, version, content_type, size, body, public_read)
    select $1, $2, nullif($3::bigint, 0), $4, $5, $8::text, $9::text, octet_length($10::bytea), $10::bytea, $11::boolean
      from verdict where outcome = 'ok'
    on conflict (tenant_id, project_id, owner, collection, key) do update
      set version = excluded.version, content_type = excluded.content_type, size = excluded.size, body = excluded.body,
          public_read = excluded.public_read, updated_at = now()
    returning updated_at
  ),
  counted as (
    update storage_usage u
       set objects = u.objects + case when v.existed then 0 else 1 end,
           bytes = u.bytes - coalesce((select size from current), 0) + octet_length($10::bytea)
      from verdict v
     where u.tenant_id = $1 and u.project_id = $2 and u.owner = $3 and v.outcome = 'ok'
  )
  select v.outcome, v.existed, w.updated_at from verdict v left join written w on true`;

// $6: the version If-Match requires, or NULL for none. Answers whether the object existed and was removed.
const DELETE_SQL = `with current as (
    select version from storage_objects where ${KEY_MATCH}
  ),
  removed as (
    delete from storage_objects where ${KEY_MATCH} and ($6::text is null or version = $6::text) returning size
  ),
  counted as (
    update storage_usage u set objects = u.objects - 1, bytes = u.bytes - r.size
      from removed r
     where u.tenant_id = $1 and u.project_id = $2 and u.owner = $3
  )
  select exists (select 1 from current) as existed, exists (select 1 from removed) as removed`;

const isForeignKeyViolation = (error: unknown) => sqlState(error) === '23503';
const preconditionFailed = () => new AppError('precondition-failed', 'The object does not match the precondition (If-Match / If-None-Match).');
const noSuchOwner = () => notFound('No such owner: the owner must be a player of this project.');

/** Both drivers answer bytea as Uint8Array (postgres.js: a Buffer); replies want a Buffer without a copy. */
const asBuffer = (bytes: Uint8Array) => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

function toMetadata(address: ObjectAddress, row: MetadataRow): ObjectMetadata {
  return {
    collection: address.collection,
    key: row.key,
    owner: address.owner,
    version: row.version,
    size: Number(row.size),
    contentType: row.content_type,
    publicRead: row.public_read,
    updatedAt: new Date(row.updated_at),
  };
}

export class ObjectStore {
  constructor(private readonly db: Database) {}

  private params(scope: TenantScope, address: ObjectAddress): string[] {
    return [scope.tenantId, scope.projectId!, address.owner, address.collection, address.key];
  }

  async get(scope: TenantScope, address: ObjectAddress, readPrivate: boolean): Promise<StoredObject | undefined> {
    const [row] = await this.db.tenantQuery<MetadataRow & { body: Uint8Array }>(scope, GET_SQL, [...this.params(scope, address), readPrivate]);
    return row && { ...toMetadata(address, row), body: asBuffer(row.body) };
  }

  async head(scope: TenantScope, address: ObjectAddress, readPrivate: boolean): Promise<ObjectMetadata | undefined> {
    const [row] = await this.db.tenantQuery<MetadataRow>(scope, HEAD_SQL, [...this.params(scope, address), readPrivate]);
    return row && toMetadata(address, row);
  }

  /** One page of an owner's collection by key, after `afterKey`, limited to keys starting with `prefix`. */
  async list(scope: TenantScope, owner: string, collection: string, page: { afterKey: string; prefix: string; limit: number }): Promise<ObjectMetadata[]> {
    const rows = await this.db.tenantQuery<MetadataRow>(scope, LIST_SQL, [
      scope.tenantId,
      scope.projectId!,
      owner,
      collection,
      page.afterKey,
      page.prefix,
      page.limit,
    ]);
    return rows.map((row) => toMetadata({ owner, collection, key: row.key }, row));
  }

  async playerExists(scope: TenantScope, playerId: string): Promise<boolean> {
    const rows = await this.db.tenantQuery(scope, PLAYER_EXISTS_SQL, [scope.tenantId, scope.projectId!, playerId]);
    return rows.length > 0;
  }

  /** Creates or replaces an object; throws 404 (no such owner), 412 (precondition) or 413 (quota). */
  async put(scope: TenantScope, address: ObjectAddress, write: WriteRequest): Promise<{ created: boolean; metadata: ObjectMetadata }> {
    const version = randomBytes(16).toString('hex');
    const { condition } = write;
    const expected = condition.kind === 'match' ? condition.version : null;
    try {
      return await this.db.withTenant(scope, async (tx) => {
        await tx.query(LOCK_USAGE_FOR_PUT_SQL, [scope.tenantId, scope.projectId!, address.owner]);
        const [row] = await tx.query<{ outcome: string; existed: boolean; updated_at: Date | null }>(PUT_SQL, [
          ...this.params(scope, address),
          condition.kind,
          expected,
          version,
          write.contentType,
          write.body,
          write.publicRead,
          write.maxObjects,
          write.maxBytes,
        ]);
        // Throwing rolls the transaction back: a refused write leaves nothing behind, not even a usage row.
        if (row?.outcome === 'precondition-failed') throw preconditionFailed();
        if (row?.outcome === 'objects-quota') throw quotaExceeded(`This owner already holds the most objects allowed (${write.maxObjects}).`);
        if (row?.outcome === 'bytes-quota') throw quotaExceeded(`This write would take the owner over its storage quota of ${write.maxBytes} bytes.`);
        if (row?.outcome !== 'ok' || !row.updated_at) throw new Error(`storage put: unexpected outcome ${String(row?.outcome)}`);
        const metadata: ObjectMetadata = {
          ...address,
          version,
          size: write.body.length,
          contentType: write.contentType,
          publicRead: write.publicRead,
          updatedAt: new Date(row.updated_at),
        };
        return { created: !row.existed, metadata };
      });
    } catch (error) {
      if (isForeignKeyViolation(error)) throw noSuchOwner();
      throw error;
    }
  }

  /** Deletes an object; throws 404 (missing) or 412 (If-Match failed). */
  async delete(scope: TenantScope, address: ObjectAddress, condition: WriteCondition): Promise<void> {
    const expected = condition.kind === 'match' ? condition.version : null;
    await this.db.withTenant(scope, async (tx) => {
      const locked = await tx.query(LOCK_USAGE_FOR_DELETE_SQL, [scope.tenantId, scope.projectId!, address.owner]);
      if (locked.length === 0) throw notFound('No such object.');
      const [row] = await tx.query<{ existed: boolean; removed: boolean }>(DELETE_SQL, [...this.params(scope, address), expected]);
      if (!row?.existed) throw notFound('No such object.');
      if (!row.removed) throw preconditionFailed();
    });
  }
}

export const quotaExceeded = (detail: string) => new AppError('quota-exceeded', detail, { status: 413 });
