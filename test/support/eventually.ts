/**
 * The one way tests wait for something: poll a check until it holds, within a generous bound. A test
 * never sleeps a fixed time hoping the thing has happened by then.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

export interface EventuallyOptions {
  /** Pause between checks; longer where each check costs something (a request budget, an apiserver). */
  everyMs?: number;
}

/**
 * Resolves with the milliseconds it took once `check` returns something truthy, checking right away and
 * then every `everyMs` (20 ms unless told). Fails naming `what` and the time waited once `withinMs` has
 * passed (the check gets one last look at the bound). A check that throws fails at once.
 * `what` may be a function, for a message that tells how far it got.
 */
export async function eventually(
  check: () => unknown,
  withinMs: number,
  what: string | (() => string),
  { everyMs = 20 }: EventuallyOptions = {},
): Promise<number> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  for (;;) {
    if (await check()) return elapsed();
    const left = withinMs - elapsed();
    if (left <= 0) {
      assert.fail(`${typeof what === 'function' ? what() : what}: not within ${withinMs} ms (waited ${elapsed()} ms)`);
    }
    await sleep(Math.min(everyMs, left));
  }
}
