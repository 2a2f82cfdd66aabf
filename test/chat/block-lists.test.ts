/**
 * The per-node block lists chat filters room messages with: a burst of stale lists (a thousand members of a
 * room, say) is re-read a few at a time, never all at once, and every list is read in the end.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BlockLists } from '../../src/modules/chat/block-lists.js';
import { createLogger } from '../../src/internal/telemetry/logger.js';
import { LogCapture } from '../support/app.js';
import { eventually } from '../support/eventually.js';

describe('chat block lists', () => {
  it('re-reads a burst of lists a few at a time, each once, and answers from what it read', async () => {
    const scope = { tenantId: '1', projectId: '1' };
    let inFlight = 0;
    let most = 0;
    const reads = new Map<string, number>();
    const social = {
      blockedBy: async (_scope: typeof scope, playerId: string) => {
        inFlight++;
        most = Math.max(most, inFlight);
        reads.set(playerId, (reads.get(playerId) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight--;
        return playerId === 'p7' ? ['troll'] : [];
      },
    };
    const lists = new BlockLists(social, createLogger({ level: 'warn', destination: new LogCapture() }));
    const players = Array.from({ length: 200 }, (_, i) => `p${i}`);
    // Every member's list asked for at once, twice (a second message before the first reads finished).
    for (let round = 0; round < 2; round++) for (const player of players) lists.blocks(scope, player, 'troll');
    await eventually(() => reads.size === players.length && inFlight === 0, 10_000, 'every list read');
    assert.ok(most <= 4, `${most} reads at once`);
    assert.ok([...reads.values()].every((count) => count <= 2), 'a list waiting for its turn is queued once');
    assert.equal(lists.blocks(scope, 'p7', 'troll'), true);
    assert.equal(lists.blocks(scope, 'p8', 'troll'), false);
  });
});
