/**
 * Realtime benchmarks, each figure beside a baseline measured in the same run:
 *   idle      20,000 idle WebSockets on one node (resume on, the default) and their RSS, beside a bare `ws`
 *             server holding as many (bench/realtime/idle.ts);
 *   room      one message to a 1,000-member `room:` channel, members on one node and split over two nodes
 *             sharing PostgreSQL and Redis: delivery latency, loss, events delivered per second, beside a
 *             bare `ws` broadcast server (bench/realtime/room.ts);
 *   presence  a presence.update reaching 100 online friends on the other node (bench/realtime/presence.ts);
 *   send      channel.send → ok at 500 messages/s offered, open loop (bench/realtime/send.ts).
 *
 *   npm run bench -- realtime [--sections=idle,room,presence,send] [--connections=20000] [--members=1000]
 *     [--messages=50] [--rate=10] [--blast=200] [--friends=100] [--updates=100] [--send-rate=500]
 *     [--send-seconds=10] [--resume-off=skip] [--embedded]
 *
 * ggscale nodes are `ggscale serve` processes; clients are forked processes (bench/realtime/member.ts,
 * client.ts), each from its own loopback address. room, presence and send share one deployment: two nodes
 * on a throwaway PostgreSQL database (BENCH_DATABASE_URL, default local) and Redis (REDIS_URL, default
 * redis://127.0.0.1:6379; keys under the fresh database's own deployment namespace), CACHE_BACKEND=redis,
 * connection caps and message budgets lifted (LIFTED_LIMITS in bench/realtime/common.ts).
 */
import { dropAllBenchDatabases } from './support/pg.js';
import { Report } from './support/table.js';
import { flag, logTally, REDIS_URL, stopAll } from './realtime/common.js';
import { startCluster, type Cluster } from './realtime/cluster.js';
import { idleSection } from './realtime/idle.js';
import { presenceSection } from './realtime/presence.js';
import { roomSection } from './realtime/room.js';
import { sendSection } from './realtime/send.js';

const ALL = ['idle', 'room', 'presence', 'send'];
const sections = (flag('sections') ?? ALL.join(',')).split(',').filter(Boolean);
const unknown = sections.filter((name) => !ALL.includes(name));
if (unknown.length > 0) {
  console.error(`bench/realtime: unknown section(s) ${unknown.join(', ')} (available: ${ALL.join(', ')})`);
  process.exit(2);
}

const report = new Report('realtime');
let cluster: Cluster | undefined;

const cleanUp = async () => {
  await cluster?.stop().catch(() => undefined);
  await stopAll();
  await dropAllBenchDatabases();
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
}

try {
  const startedAt = performance.now();
  const timed = async (name: string, work: () => Promise<void>) => {
    const started = performance.now();
    await work();
    report.note(`${name}: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  };
  if (sections.includes('idle')) await timed('idle', () => idleSection(report));
  const clustered = sections.filter((name) => name !== 'idle');
  if (clustered.length > 0) {
    const started = performance.now();
    cluster = await startCluster();
    report.note(`two ggscale nodes on PostgreSQL (a throwaway database) and Redis at ${new URL(REDIS_URL).host} (namespace ${cluster.namespace}), started in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    const logged = new Map<string, number>();
    const nodes = cluster.nodes;
    const logs = (name: string) => {
      const tally = [...logTally(nodes, logged)].sort((x, y) => y[1] - x[1]);
      report.note(`${name}: nodes logged ${tally.length === 0 ? 'no warning or error' : tally.map(([what, n]) => `${n}× ${what}`).join('; ')}`);
    };
    logs('start-up');
    if (clustered.includes('room')) await timed('room', () => roomSection(report, cluster!)).finally(() => logs('room'));
    if (clustered.includes('presence')) await timed('presence', () => presenceSection(report, cluster!)).finally(() => logs('presence'));
    if (clustered.includes('send')) await timed('send', () => sendSection(report, cluster!)).finally(() => logs('send'));
  }
  report.note(`sections ${sections.join(', ')} took ${((performance.now() - startedAt) / 1000).toFixed(0)} s in all`);
  await cleanUp();
  report.finish();
} catch (error) {
  console.error(error);
  await cleanUp();
  process.exit(1);
}
