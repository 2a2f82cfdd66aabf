/** Request budgets (docs/api/rate-limits.md) on one node: headers, 429s, per-project overrides, never a lockout. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';
import { createPglite, type TestDatabase } from '../support/db.js';
import { bearer, createPlayer, createProject, createTenant, operator, type TestProject } from '../support/tenancy.js';

const LIMITS = {
  RATE_LIMIT_PER_MIN: '5',
  SECRET_KEY_RATE_LIMIT_PER_MIN: '4',
  AUTH_RATE_LIMIT_PER_MIN: '6',
  PROJECT_AUTH_RATE_LIMIT_PER_MIN: '1000',
  AUTH_FAILURES_PER_EMAIL_IP: '3',
  AUTH_FAILURES_PER_EMAIL: '5',
  BAD_CREDENTIALS_PER_IP_PER_MIN: '3',
};

function assertLimited(res: { statusCode: number; headers: Record<string, unknown>; json<T>(): T }, policy: string): void {
  assert.equal(res.statusCode, 429);
  assert.equal(res.json<{ type: string }>().type, 'https://ggscale.dev/problems/quota-exceeded');
  assert.match(String(res.headers['retry-after']), /^\d+$/);
  assert.ok(Number(res.headers['retry-after']) >= 1);
  assert.match(String(res.headers['ratelimit-policy']), new RegExp(`^"${policy}";q=\\d+;w=\\d+$`));
  assert.match(String(res.headers.ratelimit), new RegExp(`^"${policy}";r=0;t=\\d+$`));
}

describe('request budgets', () => {
  let database: TestDatabase;
  let t: TestApp;
  let project: TestProject;
  let ip = 0;
  const nextIp = () => `198.51.100.${++ip}`;

  before(async () => {
    database = await createPglite();
    t = await buildTestApp({ db: database.db, env: LIMITS });
    // The setup itself signs players in: give it a generous project of its own.
    project = await createProject(t.app, await createTenant(t.app));
  });
  after(async () => {
    await t.close();
    await database.drop();
  });

  const me = (token: string, remoteAddress = '203.0.113.1') =>
    t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(token), remoteAddress });
  const device = (key: string, remoteAddress: string, id = `device-${remoteAddress}-0123456789`) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/device', headers: bearer(key), payload: { device_id: id }, remoteAddress });

  it('budgets each player, with RateLimit fields on every answer; another player is unaffected', async () => {
    const one = await createPlayer(t.app, project);
    const two = await createPlayer(t.app, project);
    for (let i = 0; i < 5; i++) {
      const res = await me(one.accessToken);
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['ratelimit-policy'], '"player";q=5;w=60');
      assert.match(String(res.headers.ratelimit), new RegExp(`^"player";r=${4 - i};t=\\d+$`));
    }
    assertLimited(await me(one.accessToken), 'player');
    assert.equal((await me(two.accessToken)).statusCode, 200);
  });

  it('budgets each secret key, and a studio server signing players in from one IP is not held to the per-IP sign-in budget', async () => {
    const own = await createProject(t.app, await createTenant(t.app));
    await operator(t.app, 'PATCH', `/v1/admin/projects/${own.projectId}`, { limits: { secret_key_rate_limit_per_min: 10, auth_rate_limit_per_min: 2 } });
    const server = nextIp();
    for (let i = 0; i < 10; i++) assert.ok([200, 201].includes((await device(own.secretKey, server, `studio-${i}-0123456789abcdef`)).statusCode));
    assertLimited(await device(own.secretKey, server, 'studio-x-0123456789abcdef'), 'secret-key');
  });

  it('applies per-project overrides from the operator API at once', async () => {
    const own = await createProject(t.app, await createTenant(t.app));
    const player = await createPlayer(t.app, own);
    const patch = await operator(t.app, 'PATCH', `/v1/admin/projects/${own.projectId}`, { limits: { rate_limit_per_min: 2 } });
    assert.equal(patch.statusCode, 200);
    assert.equal((await me(player.accessToken)).statusCode, 200);
    assert.equal((await me(player.accessToken)).statusCode, 200);
    assertLimited(await me(player.accessToken), 'player');
  });

  it('budgets sign-ins per client IP, never per publishable key: a flood from one IP does not stop others', async () => {
    const own = await createProject(t.app, await createTenant(t.app));
    const flooder = nextIp();
    for (let i = 0; i < 6; i++) assert.ok([200, 201].includes((await device(own.publishableKey, flooder, `flood-${i}-0123456789abcdef`)).statusCode));
    assertLimited(await device(own.publishableKey, flooder, 'flood-x-0123456789abcdef'), 'signin-ip');
    for (let i = 0; i < 5; i++) assert.ok([200, 201].includes((await device(own.publishableKey, nextIp())).statusCode));
  });

  it('caps a project\'s sign-ins from all IPs together', async () => {
    const own = await createProject(t.app, await createTenant(t.app));
    await operator(t.app, 'PATCH', `/v1/admin/projects/${own.projectId}`, { limits: { project_auth_rate_limit_per_min: 3 } });
    for (let i = 0; i < 3; i++) assert.ok([200, 201].includes((await device(own.publishableKey, nextIp())).statusCode));
    assertLimited(await device(own.publishableKey, nextIp()), 'signin-project');
  });

  it('slows failed logins per (email, IP) and per email, counted for unknown emails too, and never locks the account', async () => {
    const own = await createProject(t.app, await createTenant(t.app));
    const email = `victim-${Date.now()}@example.test`;
    const signup = await t.app.inject({ method: 'POST', url: '/v1/auth/signup', headers: bearer(own.publishableKey), payload: { email, password: 'the right one' }, remoteAddress: nextIp() });
    assert.equal(signup.statusCode, 201);
    const login = (password: string, remoteAddress: string, address = email) =>
      t.app.inject({ method: 'POST', url: '/v1/auth/login', headers: bearer(own.publishableKey), payload: { email: address, password }, remoteAddress });

    const attacker = nextIp();
    for (let i = 0; i < 3; i++) assert.equal((await login('wrong guess', attacker)).statusCode, 401);
    assertLimited(await login('the right one', attacker), 'login-failures-email-ip');
    // The owner, from an IP that has not failed, signs in.
    assert.equal((await login('the right one', nextIp())).statusCode, 200);

    // Spread failures over more IPs until the per-email budget is spent.
    const others = [nextIp(), nextIp()];
    for (const other of others) assert.equal((await login('wrong guess', other)).statusCode, 401);
    assertLimited(await login('wrong guess', others[0]!), 'login-failures-email');
    assert.equal((await login('the right one', nextIp())).statusCode, 200, 'an IP without failures is never locked out');

    // Unknown emails are counted the same way (no enumeration through the limiter).
    const prober = nextIp();
    for (let i = 0; i < 3; i++) assert.equal((await login('wrong guess', prober, 'nobody@example.test')).statusCode, 401);
    assertLimited(await login('wrong guess', prober, 'nobody@example.test'), 'login-failures-email-ip');
  });

  it('budgets credentials that fail to resolve, per client IP', async () => {
    const guesser = nextIp();
    for (let i = 0; i < 3; i++) {
      const res = await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(`ggs_sk_${String(i).padStart(43, 'A')}`), remoteAddress: guesser });
      assert.equal(res.statusCode, 401);
    }
    assertLimited(await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(`ggs_sk_${'B'.repeat(43)}`), remoteAddress: guesser }), 'bad-credentials');
    const player = await createPlayer(t.app, project);
    assert.equal((await me(player.accessToken, nextIp())).statusCode, 200);
  });
});
