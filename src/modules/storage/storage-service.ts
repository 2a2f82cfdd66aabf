/**
 * Who owns what, and who may do what with it (docs/api/storage.md):
 *  - a player token owns its own objects; it may GET (never list or write) another owner's object only when
 *    that object is public-read, by naming the owner with ?owner=;
 *  - a secret key acts for any owner of its project: ?owner=<player id>, or the project itself without it;
 *  - an owner that is not a player of the caller's project is 404, like a missing object.
 */
import type { TenantScope } from '../../internal/db/database.js';
import { forbidden, notFound } from '../../internal/errors/app-error.js';
import type { AuthContext } from '../../http/auth-context.js';
import type { StorageConfig } from './config.js';
import type { ObjectMetadata, ObjectStore, StoredObject } from './object-store.js';
import type { WriteCondition } from './preconditions.js';
import { payloadTooLarge } from './raw-body.js';

/** The owner key of the project itself (see migrations/0003_storage). */
export const PROJECT_OWNER = '0';
/** What ?owner= may say besides a player id: the project itself. */
export const PROJECT_OWNER_PARAM = 'project';

type Access = 'read' | 'list' | 'write';

interface Target {
  scope: TenantScope;
  owner: string;
  /** Private objects are readable (the owner itself, or the project's secret key). */
  readPrivate: boolean;
}

export interface PutInput {
  body: Buffer;
  contentType: string;
  publicRead: boolean;
  condition: WriteCondition;
}

export class StorageService {
  constructor(
    private readonly store: ObjectStore,
    private readonly config: StorageConfig,
  ) {}

  private target(auth: AuthContext, ownerParam: string | undefined, access: Access): Target {
    const scope = { tenantId: auth.tenantId, projectId: auth.projectId };
    const named = ownerParam === PROJECT_OWNER_PARAM ? PROJECT_OWNER : ownerParam;
    if (auth.kind === 'secret') return { scope, owner: named ?? PROJECT_OWNER, readPrivate: true };
    if (auth.kind !== 'player' || !auth.playerId) throw forbidden('Storage needs a player access token or a secret API key.');
    if (named === undefined || named === auth.playerId) return { scope, owner: auth.playerId, readPrivate: true };
    if (access !== 'read') throw forbidden('A player may list and write only its own objects; ?owner= is for reading public-read objects.');
    return { scope, owner: named, readPrivate: false };
  }

  /** Missing, private to someone else, or of an owner that is not a player here: all the same 404. */
  async get(auth: AuthContext, collection: string, key: string, ownerParam: string | undefined): Promise<StoredObject> {
    const { scope, owner, readPrivate } = this.target(auth, ownerParam, 'read');
    const found = await this.store.get(scope, { owner, collection, key }, readPrivate);
    if (!found) throw notFound('No such object.');
    return found;
  }

  async head(auth: AuthContext, collection: string, key: string, ownerParam: string | undefined): Promise<ObjectMetadata> {
    const { scope, owner, readPrivate } = this.target(auth, ownerParam, 'read');
    const found = await this.store.head(scope, { owner, collection, key }, readPrivate);
    if (!found) throw notFound('No such object.');
    return found;
  }

  async list(
    auth: AuthContext,
    collection: string,
    ownerParam: string | undefined,
    page: { afterKey: string; prefix: string; limit: number },
  ): Promise<ObjectMetadata[]> {
    const { scope, owner } = this.target(auth, ownerParam, 'list');
    const items = await this.store.list(scope, owner, collection, page);
    // An empty page may mean an owner that does not exist here (the only case worth a second query).
    if (items.length === 0 && owner !== PROJECT_OWNER && !(await this.store.playerExists(scope, owner))) {
      throw notFound('No such owner: the owner must be a player of this project.');
    }
    return items;
  }

  async put(
    auth: AuthContext,
    collection: string,
    key: string,
    ownerParam: string | undefined,
    input: PutInput,
  ): Promise<{ created: boolean; metadata: ObjectMetadata }> {
    const { scope, owner } = this.target(auth, ownerParam, 'write');
    if (input.publicRead && auth.kind !== 'secret') throw forbidden('Only a secret API key may mark an object public-read.');
    if (input.body.length > this.config.maxObjectBytes) throw payloadTooLarge(this.config.maxObjectBytes);
    return this.store.put(scope, { owner, collection, key }, {
      ...input,
      maxObjects: this.config.maxObjectsPerOwner,
      maxBytes: this.config.maxBytesPerOwner,
    });
  }

  async delete(auth: AuthContext, collection: string, key: string, ownerParam: string | undefined, condition: WriteCondition): Promise<void> {
    const { scope, owner } = this.target(auth, ownerParam, 'write');
    await this.store.delete(scope, { owner, collection, key }, condition);
  }
}
