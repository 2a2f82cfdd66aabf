/** The storage layer's environment variables (issue 4); each error names its variable. */
import type { Env } from '../../internal/config/parse.js';
import { defineSection, integer, type ConfigSection } from '../../internal/config/section.js';

export interface StorageConfig {
  /** The largest object body; a PUT over it is 413, detected while the body streams in. */
  maxObjectBytes: number;
  /** Objects one owner (a player, or the project) may hold. */
  maxObjectsPerOwner: number;
  /** Bytes of object bodies one owner may hold. */
  maxBytesPerOwner: number;
}

const MiB = 1024 * 1024;

export const storageSection: ConfigSection<'storage', StorageConfig> = defineSection('storage', 'Storage', {
  // Bodies are held in memory while they are written, so the ceiling stays modest.
  maxObjectBytes: integer('STORAGE_MAX_OBJECT_BYTES', { default: MiB, min: 1, max: 256 * MiB, doc: 'largest object (beyond: `413`, while it streams in)' }),
  maxObjectsPerOwner: integer('STORAGE_MAX_OBJECTS_PER_OWNER', {
    default: 1000,
    min: 0,
    max: 100_000_000,
    doc: 'objects one owner (a player, or the project) may hold',
  }),
  maxBytesPerOwner: integer('STORAGE_MAX_BYTES_PER_OWNER', {
    default: 64 * MiB,
    min: 0,
    max: 1024 * 1024 * MiB,
    doc: 'bytes of objects one owner may hold',
  }),
});

export const loadStorageConfig = (env: Env): StorageConfig => storageSection.parse(env);
