/**
 * The realtime op set: `ping` here, and every op other modules register (presence, channels, parties,
 * matchmaking) through the realtime api. A Map, not an object: "__proto__" or "constructor" as an op must be
 * unknown, not a prototype member.
 */
import type { OpHandler } from './api.js';

/** Built in: answered without a promise, and with `pong` rather than `ok` (wave 1's answer). */
export const PING = 'ping';

const OP_NAME = /^[a-z][a-z0-9_.-]{0,63}$/;

export class OpRegistry {
  private readonly handlers = new Map<string, OpHandler>();

  register(ops: Readonly<Record<string, OpHandler>>): void {
    for (const [name, handler] of Object.entries(ops)) {
      if (!OP_NAME.test(name) || name === PING) throw new Error(`realtime: "${name}" cannot be registered as an op`);
      if (this.handlers.has(name)) throw new Error(`realtime: the op "${name}" is registered twice`);
      this.handlers.set(name, handler);
    }
  }

  get(name: string): OpHandler | undefined {
    return this.handlers.get(name);
  }

  get names(): string[] {
    return [PING, ...this.handlers.keys()];
  }
}
