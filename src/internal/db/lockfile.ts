/**
 * One ggscale process per embedded data folder: two PGlite instances on one folder silently lose the
 * second one's writes. The lock file holds the owner's pid and, once it listens, its URL (so
 * `ggscale bootstrap` can go through the running server instead of opening the folder).
 */
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface LockInfo {
  pid: number;
  url?: string;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockInfo,
  ) {
    super(
      `another ggscale (pid ${holder.pid}) is using the data folder ${dataDir}; stop it, or set GGSCALE_DATA_DIR to another folder`,
    );
    this.name = 'DataDirLockedError';
  }
}

const lockPath = (dataDir: string) => join(dataDir, 'ggscale.lock');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live holder of the folder's lock, if any. */
export function readLock(dataDir: string): LockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(lockPath(dataDir), 'utf8')) as LockInfo;
    // Our own pid in the file is a leftover: in a container every run is pid 1, so a killed one looks alive.
    return Number.isInteger(info.pid) && info.pid !== process.pid && isAlive(info.pid) ? info : undefined;
  } catch {
    return undefined;
  }
}

export class DataDirLock {
  private constructor(
    private readonly path: string,
    private info: LockInfo,
  ) {}

  static acquire(dataDir: string): DataDirLock {
    const path = lockPath(dataDir);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        const info = { pid: process.pid };
        writeSync(fd, JSON.stringify(info));
        closeSync(fd);
        return new DataDirLock(path, info);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = readLock(dataDir);
        if (holder) throw new DataDirLockedError(dataDir, holder);
        rmSync(path, { force: true }); // left behind by a process that died
      }
    }
    throw new Error(`cannot lock ${path}`);
  }

  setUrl(url: string): void {
    this.info = { ...this.info, url };
    writeFileSync(this.path, JSON.stringify(this.info), { mode: 0o600 });
  }

  release(): void {
    rmSync(this.path, { force: true });
  }
}
