/**
 * Section `send`: `channel.send` → `ok` (the message stored in PostgreSQL) at a fixed offered rate, open
 * loop: the client sends on a schedule whatever the answers do, and each ok's latency runs from its
 * SCHEDULED send time (so a stall shows as latency for every message behind it, not as a lower rate). One
 * player, one socket on node A, joined to its room. The baseline: the same schedule against the bare `ws`
 * server, whose echo stands for the ok (it stores nothing).
 */
import { Report, infoRow, throughputRow, timeRow, type Row } from '../support/table.js';
import { checkOpened, makePlayers, ms, numberFlag, startClients, summarise, triple, wsUrl, type Proc } from './common.js';
import type { Cluster } from './cluster.js';

const PAD = 64;
const CHANNEL = 'room:bench-send';

export async function sendSection(report: Report, cluster: Cluster): Promise<void> {
  const rate = numberFlag('send-rate', 500);
  const seconds = numberFlag('send-seconds', 10);
  const count = Math.round(rate * seconds);
  if (rate !== 500) report.note(`send: offered ${rate} messages/s (--send-rate; the target is stated at 500/s)`);
  const [a] = cluster.nodes;
  const { players } = await makePlayers(a.url, 'send', 1);
  const [client] = await startClients(1, 2);
  try {
    const run = async (server: Proc, ggscale: boolean) => {
      const opened = await client!.open({ url: wsUrl(server, ggscale ? '/v1/realtime' : '/'), tokens: ggscale ? [players[0]!.token] : [], count: 1, ...(ggscale ? { join: CHANNEL } : {}) });
      checkOpened('send', [opened], 1);
      // Warm-up (not counted): one second at the same rate.
      await client!.send({ kind: 'chat', channel: CHANNEL, count: rate, rate, pad: PAD, waitMs: 10_000 });
      await client!.collect({ expect: rate, idleMs: 5_000 });
      const sent = await client!.send({ kind: 'chat', channel: CHANNEL, count, rate, pad: PAD, waitMs: 30_000 });
      const own = await client!.collect({ expect: count, idleMs: 5_000 });
      await client!.close();
      return { sent, ack: summarise(sent.acks), ownReceived: own.latencies.length, ownLost: own.missing + own.duplicates };
    };
    const baseline = await run(cluster.baseline, false);
    const ggscale = await run(a, true);
    report.note(`send: ${count} messages at ${rate}/s open loop (${seconds} s) from one socket on node A, after 1 s of warm-up; client's largest lag behind its schedule ${ms(ggscale.sent.maxSendLagMs)} (baseline run ${ms(baseline.sent.maxSendLagMs)})`);
    if (ggscale.sent.errors > 0) report.note(`send: ${ggscale.sent.errors} send(s) refused (first: ${ggscale.sent.firstError})`);
    const answered = (run: { sent: { acks: number[] } }) => run.sent.acks.length;
    const rows: Row[] = [
      timeRow(`channel.send → ok (stored) p99 at ${rate}/s offered`, ggscale.ack.p99, 'bare ws echo p99', baseline.ack.p99, { maxMs: 20 }),
      infoRow('channel.send → ok: p50 / p99 / max', triple(ggscale.ack), 'bare ws echo', triple(baseline.ack)),
      {
        ...infoRow('oks received / sent', `${answered(ggscale)} / ${count}`, 'bare ws echo', `${answered(baseline)} / ${count}`),
        target: { text: 'every send answered ok', met: answered(ggscale) === count && ggscale.sent.errors === 0 },
      },
      infoRow("sender's own channel.message received", `${ggscale.ownReceived} / ${count}`, 'bare ws echo', `${baseline.ownReceived} / ${count}`),
      throughputRow('oks per second (achieved)', answered(ggscale) / seconds, 'bare ws echo', answered(baseline) / seconds, {}, 'ok/s'),
    ];
    report.table(`channel.send at ${rate} messages/s offered, open loop (2 nodes running, PostgreSQL + Redis)`, rows);
  } finally {
    await client!.exit();
  }
}
