/**
 * The cache contract, values: short-lived records every node sees, each with its own expiry, and a take that
 * hands a value to exactly one of many racing nodes (a resume token works once).
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../../support/eventually.js';
import { cacheContract, key } from './backends.js';

cacheContract('values', ({ node, first, last }) => {
  it('a value put on one node is read on every node until it is deleted', async () => {
    const k = key('value');
    assert.equal(await last().getValue(k), undefined);
    await first().putValue(k, '{"a":1}', 60_000);
    assert.equal(await last().getValue(k), '{"a":1}');
    assert.equal(await first().getValue(k), '{"a":1}');
    await last().putValue(k, 'replaced', 60_000);
    assert.equal(await first().getValue(k), 'replaced');
    await first().deleteValue(k);
    assert.equal(await last().getValue(k), undefined);
    await last().deleteValue(k); // harmless
  });

  it('take hands the value to exactly one of 50 racing takers, then it is gone', async () => {
    const k = key('take');
    await first().putValue(k, 'once', 60_000);
    const taken = await Promise.all(Array.from({ length: 50 }, (_, i) => node(i).takeValue(k)));
    assert.deepEqual(taken.filter((v) => v !== undefined), ['once']);
    assert.equal(await last().getValue(k), undefined);
    assert.equal(await first().takeValue(k), undefined);
  });

  it('a value expires after its ttl', async () => {
    const k = key('ttl');
    await first().putValue(k, 'short', 50);
    await eventually(async () => (await last().getValue(k)) === undefined && (await first().takeValue(k)) === undefined, 5_000, 'the value expired');
  });

  it('refuses a ttl that is not a positive whole number of milliseconds', async () => {
    for (const ttl of [0, -1, 1.5, Number.NaN]) await assert.rejects(first().putValue(key('bad'), 'x', ttl), RangeError);
  });
});
