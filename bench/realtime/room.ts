/**
 * Section `room`: one message to a 1,000-member `room:` channel. The members (1,000 players, one socket
 * each, the sender among them) are placed three ways, one after another, with the same client processes:
 *   - the bare `ws` broadcast server (the baseline: every frame it receives goes to all its clients);
 *   - every member on node A;
 *   - the members split over node A and node B (the sender on A).
 * Each placement runs a latency phase (messages paced at --rate per second, each stamped with its send time,
 * latency taken at every receiving member) and a throughput phase (--blast messages sent as fast as their
 * oks come back, BLAST_WINDOW in flight; events delivered per second from the first send to the last
 * delivery). Every member must receive every message, once.
 */
import { Report, infoRow, throughputRow, timeRow, type Row } from '../support/table.js';
import { checkOpened, ms, numberFlag, startClients, summarise, triple, wsUrl, makePlayers, type Proc, type Summary } from './common.js';
import type { Cluster } from './cluster.js';
import type { CollectedReport } from './member.js';

const PAD = 64;
const WARM_UP = 5;
/** Handshakes (and joins) in flight per client process: the section measures delivery, not a connect storm. */
const OPEN_CONCURRENCY = 4;
/**
 * Throughput phase: sends in flight at once. All at once (200) overflows a node's database pool queue and is
 * refused with 503 (load shedding), which measures the refusal rather than delivery.
 */
const BLAST_WINDOW = 16;

interface Placement {
  name: string;
  channel: string;
  /** The server each member client process talks to (the sender's first). */
  servers: Proc[];
  labels: string[];
}

interface Outcome {
  latency: Summary;
  byNode: Map<string, Summary>;
  expected: number;
  received: number;
  missing: number;
  duplicates: number;
  /** Throughput phase: events delivered per second, in all and per node. */
  perSecond: number;
  perSecondByNode: Map<string, number>;
  /** Throughput phase: messages stored (ok) per second. */
  messagesPerSecond: number;
  ackP99: number;
  /** Sends answered with an error frame, sends never answered, and the first error frame. */
  refused: number;
  unanswered: number;
  firstRefusal: string | undefined;
  sockets: Map<string, number>;
}

export async function roomSection(report: Report, cluster: Cluster): Promise<void> {
  const members = numberFlag('members', 1_000);
  const messages = numberFlag('messages', 50);
  const rate = numberFlag('rate', 10);
  const blast = numberFlag('blast', 200);
  const processes = 4;
  if (members !== 1_000) report.note(`room: scaled to ${members} members (--members; the target is stated for 1,000)`);
  const [a, b] = cluster.nodes;

  const started = performance.now();
  const { players } = await makePlayers(a.url, 'room', members);
  report.note(`room: ${members} players signed in (device ids over HTTP) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const [sender, ...rest] = players;
  const shares = Array.from({ length: processes }, (_, i) => rest.filter((_, j) => j % processes === i).map((p) => p.token));

  const senderClient = (await startClients(1, 2))[0]!;
  const memberClients = await startClients(processes, 3);
  const all = [senderClient, ...memberClients];
  const joinRetried: string[] = [];
  try {
    const run = async (placement: Placement, ggscale: boolean): Promise<Outcome> => {
      const opens = await Promise.all(
        all.map((client, i) =>
          client.open({
            concurrency: OPEN_CONCURRENCY,
            url: wsUrl(placement.servers[i]!, ggscale ? '/v1/realtime' : '/'),
            tokens: ggscale ? (i === 0 ? [sender!.token] : shares[i - 1]!) : [],
            count: i === 0 ? 1 : shares[i - 1]!.length,
            ...(ggscale ? { join: placement.channel } : {}),
          }),
        ),
      );
      checkOpened(`room (${placement.name})`, opens, members);
      if (ggscale && opens.some((o) => o.joined !== o.opened)) {
        throw new Error(`room (${placement.name}): not every socket joined ${placement.channel} (first error: ${opens.find((o) => o.firstError)?.firstError ?? 'none'})`);
      }
      const retried = new Map<string, number>();
      for (const o of opens) for (const [code, n] of Object.entries(o.joinRetries)) retried.set(code, (retried.get(code) ?? 0) + n);
      if (retried.size > 0) joinRetried.push(`${placement.name}: ${[...retried].map(([code, n]) => `${n}× ${code}`).join(', ')}`);
      const sockets = new Map<string, number>();
      opens.forEach((o, i) => sockets.set(placement.labels[i]!, (sockets.get(placement.labels[i]!) ?? 0) + o.opened));
      const collectAll = (expect: number) => Promise.all(all.map((client) => client.collect({ expect, idleMs: 10_000 })));

      // Warm-up (not counted): the first messages of a channel meet cold code paths on every node.
      await senderClient.send({ kind: 'chat', channel: placement.channel, count: WARM_UP, rate, pad: PAD, waitMs: 10_000 });
      await collectAll(WARM_UP);

      // A refused send (its error frame) is counted, not fatal: members then expect only the accepted ones.
      const paced = await senderClient.send({ kind: 'chat', channel: placement.channel, count: messages, rate, pad: PAD, waitMs: 30_000 });
      const latencyReports = await collectAll(paced.acks.length);
      const blasted = await senderClient.send({ kind: 'chat', channel: placement.channel, count: blast, rate: 0, window: BLAST_WINDOW, pad: PAD, waitMs: 60_000 });
      const blastReports = await collectAll(blasted.acks.length);
      const refused = paced.errors + blasted.errors;
      const unanswered = messages + blast - paced.acks.length - blasted.acks.length - refused;
      await Promise.all(all.map((client) => client.close()));

      const byNode = new Map<string, number[]>();
      latencyReports.forEach((r, i) => byNode.set(placement.labels[i]!, [...(byNode.get(placement.labels[i]!) ?? []), ...r.latencies]));
      const lastAt = Math.max(...blastReports.map((r) => r.lastAt));
      const seconds = (lastAt - blasted.startedAt) / 1000;
      const perSecondByNode = new Map<string, number>();
      blastReports.forEach((r, i) => perSecondByNode.set(placement.labels[i]!, (perSecondByNode.get(placement.labels[i]!) ?? 0) + r.latencies.length / seconds));
      const sum = (reports: CollectedReport[], pick: (r: CollectedReport) => number) => reports.reduce((s, r) => s + pick(r), 0);
      return {
        latency: summarise(latencyReports.flatMap((r) => r.latencies)),
        byNode: new Map([...byNode].map(([node, values]) => [node, summarise(values)])),
        expected: members * (paced.acks.length + blasted.acks.length),
        refused,
        unanswered,
        firstRefusal: paced.firstError ?? blasted.firstError,
        received: sum(latencyReports, (r) => r.latencies.length) + sum(blastReports, (r) => r.latencies.length),
        missing: sum(latencyReports, (r) => r.missing) + sum(blastReports, (r) => r.missing),
        duplicates: sum(latencyReports, (r) => r.duplicates) + sum(blastReports, (r) => r.duplicates),
        perSecond: sum(blastReports, (r) => r.latencies.length) / seconds,
        messagesPerSecond: blasted.acks.length / seconds,
        perSecondByNode,
        ackP99: summarise(paced.acks).p99,
        sockets,
      };
    };

    const base = cluster.baseline;
    const baseline = await run({ name: 'bare ws', channel: '', servers: [base, base, base, base, base], labels: ['ws', 'ws', 'ws', 'ws', 'ws'] }, false);
    const one = await run({ name: 'one node', channel: 'room:bench-one', servers: [a, a, a, a, a], labels: ['A', 'A', 'A', 'A', 'A'] }, true);
    const two = await run({ name: 'two nodes', channel: 'room:bench-two', servers: [a, a, a, b, b], labels: ['A', 'A', 'A', 'B', 'B'] }, true);

    const where = (o: Outcome) => [...o.sockets].map(([node, count]) => `${count} on node ${node}`).join(', ');
    report.note(`room: one node: ${where(one)}; two nodes: ${where(two)} (node A :${a.port}, node B :${b.port}; the sender is on A and is a member)`);
    report.note(`room: latency phase ${messages} messages at ${rate}/s after ${WARM_UP} warm-up messages; throughput phase ${blast} messages sent as fast as oks come back, ${BLAST_WINDOW} in flight; data ${PAD + 40} bytes`);
    if (joinRetried.length > 0) {
      report.note(`room: refused while ${members} members connected and joined (retried after 200-500 ms, as a client would): ${joinRetried.join('; ')}`);
    }
    const refusals = (name: string, o: Outcome): Row => ({
      ...infoRow(`${name}: sends refused / unanswered`, `${o.refused} / ${o.unanswered} of ${messages + blast}`, 'bare ws', `${baseline.refused} / ${baseline.unanswered}`),
      target: { text: 'every send stored', met: o.refused === 0 && o.unanswered === 0 },
    });
    for (const [name, o] of [['one node', one], ['two nodes', two]] as const) {
      if (o.firstRefusal) report.note(`room: ${name}: first refused send: ${o.firstRefusal}`);
    }
    const loss = (name: string, o: Outcome): Row => ({
      ...infoRow(`${name}: deliveries received / expected (of the stored)`, `${o.received} / ${o.expected}`, 'bare ws', `${baseline.received} / ${baseline.expected}`),
      target: { text: 'none lost or repeated', met: o.missing === 0 && o.duplicates === 0 && o.received === o.expected },
    });
    const rows: Row[] = [
      timeRow(`one node (${members} on A): delivery p99`, one.latency.p99, 'bare ws broadcast p99', baseline.latency.p99, { maxMs: 50 }),
      infoRow('one node: delivery p50 / p99 / max', triple(one.latency), 'bare ws broadcast', triple(baseline.latency)),
      refusals('one node', one),
      loss('one node', one),
      timeRow('two nodes: delivery p99 (all members)', two.latency.p99, 'bare ws broadcast p99', baseline.latency.p99, { maxMs: 100 }),
      ...[...two.byNode].map(([node, s]) => infoRow(`two nodes: members on node ${node}`, triple(s), 'bare ws broadcast', triple(baseline.latency))),
      refusals('two nodes', two),
      loss('two nodes', two),
      infoRow('sender: channel.send → ok p99 (paced)', `${ms(one.ackP99)} / ${ms(two.ackP99)}`, 'bare ws echo p99', ms(baseline.ackP99), 'one / two nodes'),
      throughputRow('one node: events delivered/s', one.perSecond, 'bare ws broadcast', baseline.perSecond, { minRatio: 0.5 }, 'events/s'),
      throughputRow('two nodes: events delivered/s per node (mean)', two.perSecond / two.perSecondByNode.size, 'bare ws broadcast', baseline.perSecond, { minRatio: 0.5 }, 'events/s'),
      // Split over two nodes, each node delivers half of each message: its rate is bounded by the messages stored per second.
      throughputRow('messages sent (stored) per second, one node', one.messagesPerSecond, 'bare ws broadcast', baseline.messagesPerSecond, {}, 'msg/s'),
      throughputRow('messages sent (stored) per second, two nodes', two.messagesPerSecond, 'bare ws broadcast', baseline.messagesPerSecond, {}, 'msg/s'),
      ...[...two.perSecondByNode].map(([node, value]) => throughputRow(`two nodes: events delivered/s by node ${node}`, value, 'bare ws broadcast', baseline.perSecond, {}, 'events/s')),
    ];
    report.table(`One message to a ${members}-member room: channel (2 nodes, PostgreSQL + Redis; 2 cores shared with ${all.length} client processes)`, rows);
  } finally {
    await Promise.all(all.map((client) => client.exit()));
  }
}
