/**
 * Section `presence`: one player on node A updates its presence (`presence.update` with a stamped `meta`);
 * its 100 friends, all online on node B, each receive a `presence` event. Friendships are made over HTTP, as
 * a game would (POST /v1/friends/requests, then POST /v1/friends/{id}/accept). The baseline: the same
 * sockets on the bare `ws` broadcast server, the same frames on the same schedule.
 */
import { Report, infoRow, timeRow, type Row } from '../support/table.js';
import { call, checkOpened, makePlayers, numberFlag, pooled, startClients, summarise, triple, wsUrl, type Proc } from './common.js';
import type { Cluster } from './cluster.js';

const PAD = 32;
const WARM_UP = 5;

export async function presenceSection(report: Report, cluster: Cluster): Promise<void> {
  const friendCount = numberFlag('friends', 100);
  const updates = numberFlag('updates', 100);
  const rate = numberFlag('presence-rate', 10);
  if (friendCount !== 100) report.note(`presence: scaled to ${friendCount} friends (--friends; the target is stated for 100)`);
  const [a, b] = cluster.nodes;

  const started = performance.now();
  const { players } = await makePlayers(a.url, 'presence', friendCount + 1);
  const [me, ...friends] = players;
  await pooled(friends, 4, async (friend) => {
    await call(a.url, 'POST', '/v1/friends/requests', me!.token, { player_id: friend.id });
    await call(b.url, 'POST', `/v1/friends/${me!.id}/accept`, friend.token);
  });
  report.note(`presence: ${friendCount} friendships made over HTTP (request on node A, accept on node B) in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const senderClient = (await startClients(1, 2))[0]!;
  const friendClients = await startClients(2, 3);
  const shares = [friends.filter((_, i) => i % 2 === 0), friends.filter((_, i) => i % 2 === 1)].map((share) => share.map((f) => f.token));
  try {
    const run = async (sender: Proc, receivers: Proc, ggscale: boolean) => {
      const path = ggscale ? '/v1/realtime' : '/';
      // Friends first, so the sender's coming online is not what they measure.
      const opens = await Promise.all(friendClients.map((client, i) => client.open({ url: wsUrl(receivers, path), tokens: ggscale ? shares[i]! : [], count: shares[i]!.length })));
      opens.push(await senderClient.open({ url: wsUrl(sender, path), tokens: ggscale ? [me!.token] : [], count: 1 }));
      checkOpened(`presence (${ggscale ? 'ggscale' : 'bare ws'})`, opens, friendCount + 1);
      const collect = (expect: number) => Promise.all(friendClients.map((client) => client.collect({ expect, idleMs: 10_000 })));
      await collect(0); // drops what arrived while connecting
      await senderClient.send({ kind: 'presence', count: WARM_UP, rate, pad: PAD, waitMs: 10_000 });
      await collect(WARM_UP);
      const sent = await senderClient.send({ kind: 'presence', count: updates, rate, pad: PAD, waitMs: 30_000 });
      if (sent.errors > 0) report.note(`presence: ${sent.errors} update(s) refused (first: ${sent.firstError})`);
      const reports = await collect(sent.acks.length);
      await Promise.all([senderClient, ...friendClients].map((client) => client.close()));
      return {
        latency: summarise(reports.flatMap((r) => r.latencies)),
        ack: summarise(sent.acks),
        accepted: sent.acks.length,
        received: reports.reduce((sum, r) => sum + r.latencies.length, 0),
        lost: reports.reduce((sum, r) => sum + r.missing + r.duplicates, 0),
      };
    };
    const baseline = await run(cluster.baseline, cluster.baseline, false);
    const ggscale = await run(a, b, true);
    report.note(`presence: the player on node A (:${a.port}), its ${friendCount} friends on node B (:${b.port}); ${updates} updates at ${rate}/s after ${WARM_UP} warm-up updates`);
    const rows: Row[] = [
      timeRow(`presence.update → ${friendCount} friends on the other node: p99`, ggscale.latency.p99, 'bare ws broadcast p99', baseline.latency.p99, { maxMs: 50 }),
      infoRow('presence: p50 / p99 / max', triple(ggscale.latency), 'bare ws broadcast', triple(baseline.latency)),
      {
        ...infoRow('presence events received / expected', `${ggscale.received} / ${friendCount * ggscale.accepted}`, 'bare ws', `${baseline.received} / ${friendCount * baseline.accepted}`),
        target: { text: 'every update, none lost or repeated', met: ggscale.lost === 0 && ggscale.received === friendCount * updates },
      },
      infoRow('presence.update → ok: p50 / p99 / max', triple(ggscale.ack), 'bare ws echo', triple(baseline.ack)),
    ];
    report.table(`Presence to ${friendCount} online friends on the other node (2 nodes, PostgreSQL + Redis)`, rows);
  } finally {
    await Promise.all([senderClient, ...friendClients].map((client) => client.exit()));
  }
}
