/**
 * Where a server's time went: reads a V8 .cpuprofile (BENCH_CPU_PROF_DIR=dir makes every bench server
 * write one) and prints the share of samples by package, the top frames by self time, and the top frames
 * by inclusive time (each sample counted once per distinct frame on its stack).
 * Run: node --import tsx bench/support/profile-top.ts <file.cpuprofile ...> [--top=25]
 * (a server run under tsx also writes a small profile of tsx's loader thread: the main thread's is the
 * largest file).
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function packageOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  if (url.startsWith('node:')) return 'node core';
  const source = /\/(src|bench|dist)\/(.*)$/.exec(url);
  if (source) return source[1] === 'src' ? `src/${source[2]!.split('/').slice(0, -1).join('/') || '.'}` : source[1]!;
  return url;
}

function summarise(file: string, top: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const label = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? ` ${url.replace(/^file:\/\/.*?\/(node_modules|src|bench|dist)\//, '$1/')}:${lineNumber + 1}` : '';
    return `${functionName || '(anonymous)'}${where}`;
  };

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const packages = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((sample, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    const node = byId.get(sample);
    if (!node) return;
    total += delta;
    self.set(label(node), (self.get(label(node)) ?? 0) + delta);
    packages.set(packageOf(node.callFrame.url, node.callFrame.functionName), (packages.get(packageOf(node.callFrame.url, node.callFrame.functionName)) ?? 0) + delta);
    const seen = new Set<string>();
    for (let id: number | undefined = sample; id !== undefined; id = parent.get(id)) {
      const name = label(byId.get(id)!);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + delta);
    }
  });

  const print = (title: string, map: Map<string, number>, count: number) => {
    console.log(`\n${title}`);
    for (const [name, time] of [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, count)) {
      console.log(`${((time / total) * 100).toFixed(1).padStart(6)}%  ${name}`);
    }
  };
  console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
  print('self time by package', packages, 20);
  print('top frames by self time', self, top);
  print('top frames by inclusive time', inclusive, top);
}

const args = process.argv.slice(2);
const files = args.filter((arg) => !arg.startsWith('--'));
if (files.length === 0) throw new Error('usage: profile-top.ts <file.cpuprofile ...> [--top=N]');
const top = Number(args.find((arg) => arg.startsWith('--top='))?.slice('--top='.length) ?? 25);
for (const file of files) summarise(file, top);
