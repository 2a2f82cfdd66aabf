/**
 * What the ccu_peak sampler reads (docs/api/usage.md): the open connections of each tenant and project a node
 * holds a socket of, counted on the shared lease sets (so across nodes), even when no cap is set.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createCache } from '../../src/internal/cache/index.js';
import { ConnectionCaps } from '../../src/modules/realtime/connection-caps.js';

const sorted = <T extends { tenantId: string; projectId: string | null }>(counts: T[]) =>
  [...counts].sort((x, y) => `${x.tenantId}/${x.projectId ?? ''}`.localeCompare(`${y.tenantId}/${y.projectId ?? ''}`));

it("counts each held tenant's and project's sockets across the nodes sharing the backend, with or without caps", async () => {
  const shared = await createCache({ backend: 'memory' });
  const nodeA = new ConnectionCaps(shared, shared, { ttlMs: 10_000 });
  const nodeB = new ConnectionCaps(shared, shared, { ttlMs: 10_000 });
  try {
    const noCaps = { tenant: 0, player: 0 };
    const first = await nodeA.acquire({ tenantId: '1', projectId: '2', playerId: '7' }, noCaps);
    await nodeA.acquire({ tenantId: '1', projectId: '2', playerId: '8' }, { tenant: 10, player: 5 });
    await nodeB.acquire({ tenantId: '1', projectId: '3', playerId: '9' }, noCaps);
    assert.deepEqual(sorted(await nodeA.openCounts()), [
      { tenantId: '1', projectId: null, count: 3 },
      { tenantId: '1', projectId: '2', count: 2 },
    ]);
    assert.deepEqual(sorted(await nodeB.openCounts()), [
      { tenantId: '1', projectId: null, count: 3 },
      { tenantId: '1', projectId: '3', count: 1 },
    ]);
    assert.ok(first.ok);
    await first.lease.release();
    assert.deepEqual(sorted(await nodeB.openCounts()), [
      { tenantId: '1', projectId: null, count: 2 },
      { tenantId: '1', projectId: '3', count: 1 },
    ]);
  } finally {
    await Promise.all([nodeA.close(), nodeB.close()]);
    await shared.close();
  }
});
