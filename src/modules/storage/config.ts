/** The storage layer's environment variables (issue 4); each error names its variable. */
import { integer, type Env } from '../../internal/config/parse.js';

export interface StorageConfig {
  /** The largest object body; a PUT over it is 413, detected while the body streams in. */
  maxObjectBytes: number;
  /** Objects one owner (a player, or the project) may hold. */
  maxObjectsPerOwner: number;
  /** Bytes of object bodies one owner may hold. */
  maxBytesPerOwner: number;
}

const MiB = 1024 * 1024;

export function loadStorageConfig(env: Env): StorageConfig {
  return {
    // Bodies are held in memory while they are written, so the ceiling stays modest.
    maxObjectBytes: integer(env, 'STORAGE_MAX_OBJECT_BYTES', MiB, 1, 256 * MiB),
    maxObjectsPerOwner: integer(env, 'STORAGE_MAX_OBJECTS_PER_OWNER', 1000, 0, 100_000_000),
    maxBytesPerOwner: integer(env, 'STORAGE_MAX_BYTES_PER_OWNER', 64 * MiB, 0, 1024 * 1024 * MiB),
  };
}
