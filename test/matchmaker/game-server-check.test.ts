/**
 * The game server's match-token check (docs/api/matchmaker.md), end to end on the local fleet with the shipped
 * echo server run as `ggscale gameserver --require-match-token`: the local fleet hands each server the issuer
 * and a JWKS URL; a player of the match is admitted with its token (UDP and TCP), once per token; nothing else
 * runs before a token; an access token, a tampered token, a token for another match, and any token shown to a
 * server allocated outside the matchmaker are refused.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { createPlayer, createProject, createTenant, operator, type TestPlayer, type TestProject } from '../support/tenancy.js';
import { listen, type Client } from '../realtime/helpers.js';
import { caller, frameOf, sockets, type Json } from './helpers.js';
import { allocate, metricValue } from '../fleet/helpers.js';
import { defaultGameServerCommand } from '../../src/modules/fleet/local/default-command.js';

const CHECKED = [...defaultGameServerCommand(), '--require-match-token'];
const POOL = { id: 'duel', fleet: 'checked', min_players: 2, max_players: 2, skill: { window_start: 100, growth_per_second: 0 }, max_wait_seconds: 60 };

/** One UDP socket (one peer): sends a line, answers the reply. */
async function udpPeer(port: number): Promise<{ ask(text: string): Promise<string>; close(): void }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    ask: (text) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no UDP answer to ${text.slice(0, 20)} within 10 s`)), 10_000);
        socket.once('message', (msg) => {
          clearTimeout(timer);
          resolve(msg.toString('utf8'));
        });
        socket.send(text, port, '127.0.0.1');
      }),
    close: () => socket.close(),
  };
}

/** One TCP connection: sends a line, answers the reply line (the echo server's TCP replies end in a blank line). */
async function tcpPeer(port: number): Promise<{ ask(text: string): Promise<string>; close(): void }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.setEncoding('utf8');
  let buffer = '';
  return {
    ask: (text) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no TCP answer to ${text.slice(0, 20)} within 10 s`)), 10_000);
        const onData = (chunk: string) => {
          buffer += chunk;
          const end = buffer.indexOf('\n');
          if (end < 0) return;
          const line = buffer.slice(0, end + 1);
          buffer = buffer.slice(end + 1).replace(/^\n/, '');
          socket.off('data', onData);
          clearTimeout(timer);
          resolve(line);
        };
        socket.on('data', onData);
        socket.write(`${text}\n`);
      }),
    close: () => socket.destroy(),
  };
}

for (const [index, kind] of databaseKinds().entries()) {
  describe(`a game server that requires match tokens (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let app: FastifyInstance;
    let base: string;
    let project: TestProject;
    const clients: Client[] = [];
    const range = { first: 25000 + index * 200, last: 25199 + index * 200 };
    const call = caller(() => app);
    const socket = sockets(() => base, clients);

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({
        db: database.db,
        env: { MATCHMAKER_INTERVAL_MS: '100', FLEET_LOCAL_BUFFER: '2', FLEET_LOCAL_PORT_RANGE: `${range.first}-${range.last}`, FLEET_SWEEP_INTERVAL_MS: '200' },
      });
      app = t.app;
      base = await listen(t);
      project = await createProject(app, await createTenant(app));
      const fleet = await operator(app, 'POST', `/v1/admin/projects/${project.projectId}/fleets`, { name: 'checked', backend: 'local', command: CHECKED });
      assert.equal(fleet.statusCode, 201, fleet.body);
      assert.equal((await call('POST', '/v1/matchmaker/pools', project.secretKey, POOL)).statusCode, 201);
      await eventually(async () => (await metricValue(app, 'ggscale_fleet_ready_game_servers')) >= 2, 30_000, 'two Ready game servers');
    });
    after(async () => {
      await Promise.all(clients.map((client) => client.close()));
      await t?.close();
      await database?.drop();
    });

    /** Two players matched: their match and tokens. */
    async function matchedPair(skill: number): Promise<{ players: TestPlayer[]; match: Json; tokens: string[] }> {
      const players = await Promise.all([createPlayer(app, project), createPlayer(app, project)]);
      const connections = await Promise.all(players.map((player) => socket(player)));
      for (const player of players) {
        const res = await call('POST', '/v1/matchmaker/tickets', player.accessToken, { pool: 'duel', skill, regions: ['eu'] });
        assert.equal(res.statusCode, 201, res.body);
      }
      const frames = await Promise.all(connections.map((client) => frameOf(client, 'matchmaker.matched', undefined, 30_000)));
      return { players, match: frames[0]!.match as Json, tokens: frames.map((frame) => frame.token as string) };
    }
    const portOf = (match: Json) => (match.ports as { port: number; protocol: string }[]).find((port) => port.protocol === 'UDP')!.port;

    it('admits a player of the match once per token, over UDP and TCP; nothing runs before a token', async () => {
      const { players, match, tokens } = await matchedPair(1000);
      const port = portOf(match);
      const udp = await udpPeer(port);
      const tcp = await tcpPeer(port);
      const late = await udpPeer(port);
      try {
        assert.equal(await udp.ask('hello'), 'ERROR: present a match token first: TOKEN <token>\n');
        assert.equal(await udp.ask(`TOKEN ${tokens[0]!}`), `ADMITTED: ${players[0]!.playerId} 0\n`);
        assert.equal(await udp.ask('hello'), 'ACK: hello\n', 'an admitted peer is served');

        assert.equal(await tcp.ask('hello'), 'ERROR: present a match token first: TOKEN <token>\n');
        assert.equal(await tcp.ask(`TOKEN ${tokens[1]!}`), `ADMITTED: ${players[1]!.playerId} 0\n`);
        assert.equal(await tcp.ask('hello'), 'ACK TCP: hello\n');

        assert.equal(await late.ask(`TOKEN ${tokens[0]!}`), 'ERROR: the token was used already\n', 'a replayed token is refused');
        assert.equal(await late.ask('hello'), 'ERROR: present a match token first: TOKEN <token>\n');
        // A fresh token (from the ticket, while the allocation lives) admits the player again.
        const ticketId = ((await call('GET', '/v1/matchmaker/tickets?state=matched', players[0]!.accessToken)).json<{ items: Json[] }>().items[0]!).id as string;
        const fresh = (await call('GET', `/v1/matchmaker/tickets/${ticketId}`, players[0]!.accessToken)).json<Json>().token as string;
        assert.equal(await late.ask(`TOKEN ${fresh}`), `ADMITTED: ${players[0]!.playerId} 0\n`);
      } finally {
        udp.close();
        tcp.close();
        late.close();
      }
    });

    it('refuses an access token, a tampered token and a token of another match', async () => {
      const first = await matchedPair(3000);
      const second = await matchedPair(5000);
      assert.notEqual(portOf(first.match), portOf(second.match));
      const udp = await udpPeer(portOf(first.match));
      try {
        assert.equal(await udp.ask(`TOKEN ${first.players[0]!.accessToken}`), 'ERROR: the token is for another match\n', 'an access token has audience project:<id>');
        const [header, payload, signature] = first.tokens[0]!.split('.');
        const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: '999999' })).toString('base64url');
        assert.equal(await udp.ask(`TOKEN ${header}.${forged}.${signature}`), 'ERROR: the token is not signed by this deployment\n');
        assert.equal(await udp.ask(`TOKEN ${second.tokens[0]!}`), 'ERROR: the token is for another match\n');
        assert.equal(await udp.ask('TOKEN'), 'ERROR: usage: TOKEN <match token>\n');
        assert.equal(await udp.ask('hello'), 'ERROR: present a match token first: TOKEN <token>\n', 'no refusal admitted the peer');
      } finally {
        udp.close();
      }
    });

    it('refuses every token on a server allocated outside the matchmaker (it has no match)', async () => {
      const { tokens } = await matchedPair(7000);
      const res = await allocate(app, project, { fleet: 'checked' });
      assert.equal(res.statusCode, 201, res.body);
      const udp = await udpPeer(res.json<{ ports: { port: number }[] }>().ports[0]!.port);
      try {
        assert.equal(await udp.ask(`TOKEN ${tokens[0]!}`), 'ERROR: this server is not allocated to a match\n');
      } finally {
        udp.close();
      }
    });
  });
}
