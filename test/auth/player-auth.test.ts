/** Player auth over HTTP on every database: the flows of docs/api/auth.md and their isolation. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify, decodeJwt } from 'jose';
import { buildTestApp, type TestApp } from '../support/app.js';
import { databaseKinds, type TestDatabase } from '../support/db.js';
import { namespaceOf } from '../support/deployments.js';
import { bearer, createPlayer, createProject, createTenant, operator, type TestProject } from '../support/tenancy.js';

interface SignedIn {
  player: { id: string; email: string | null; username: string | null; created_at: string };
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
}

for (const kind of databaseKinds()) {
  describe(`player auth (${kind.name})`, () => {
    let database: TestDatabase;
    let t: TestApp;
    let graceless: TestApp;
    let a: TestProject;
    let a2: TestProject;
    let b: TestProject;
    let n = 0;
    const email = () => `Player${++n}-${kind.name}@Example.test`;

    before(async () => {
      database = await kind.create();
      t = await buildTestApp({ db: database.db, env: { AUTH_RATE_LIMIT_PER_MIN: '100000', PROJECT_AUTH_RATE_LIMIT_PER_MIN: '1000000' } });
      graceless = await buildTestApp({ db: database.db, env: { REFRESH_REUSE_GRACE_SECONDS: '0', AUTH_RATE_LIMIT_PER_MIN: '100000' } });
      const tenantA = await createTenant(t.app);
      a = await createProject(t.app, tenantA);
      a2 = await createProject(t.app, tenantA);
      b = await createProject(t.app, await createTenant(t.app));
    });
    after(async () => {
      await graceless.close();
      await t.close();
      await database.drop();
    });

    const post = (app: TestApp, url: string, credential: string, payload?: object) =>
      app.app.inject({ method: 'POST', url, headers: bearer(credential), ...(payload ? { payload } : {}) });
    const signup = (project: TestProject, body: object) => post(t, '/v1/auth/signup', project.publishableKey, body);
    const login = (project: TestProject, body: object) => post(t, '/v1/auth/login', project.publishableKey, body);
    const me = (token: string) => t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(token) });

    it('signs up with the documented shape; email unique per project, case-insensitively; username too', async () => {
      const address = email();
      const res = await signup(a, { email: address, password: 'correct horse', username: 'Ace_1' });
      assert.equal(res.statusCode, 201, res.body);
      const body = res.json<SignedIn>();
      assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'player', 'refresh_token', 'token_type']);
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.expires_in, 900);
      assert.equal(body.player.email, address);
      assert.equal(body.player.username, 'Ace_1');
      assert.equal((await signup(a, { email: address.toUpperCase(), password: 'another pass' })).statusCode, 409);
      assert.equal((await signup(a, { email: email(), password: 'another pass', username: 'ace_1' })).statusCode, 409);
      // The same email may exist in another project, even of the same tenant.
      assert.equal((await signup(a2, { email: address, password: 'correct horse' })).statusCode, 201);
      assert.equal((await signup(b, { email: address, password: 'correct horse' })).statusCode, 201);
    });

    it('refuses bad sign-up input with 400', async () => {
      for (const body of [
        { email: email(), password: 'short' },
        { email: email(), password: 'x'.repeat(257) },
        { email: 'not-an-email', password: 'long enough' },
        { email: email(), password: 12345678 },
        { email: email(), password: 'long enough', admin: true },
        { email: email(), password: 'long enough', username: 'bad name!' },
      ]) {
        const res = await signup(a, body);
        assert.equal(res.statusCode, 400, JSON.stringify(body));
      }
    });

    it('logs in; a wrong password and an unknown email answer the same 401', async () => {
      const address = email();
      await signup(a, { email: address, password: 'correct horse' });
      const ok = await login(a, { email: address.toLowerCase(), password: 'correct horse' });
      assert.equal(ok.statusCode, 200);
      const wrong = await login(a, { email: address, password: 'wrong horse' });
      const unknown = await login(a, { email: `nobody-${address}`, password: 'wrong horse' });
      assert.equal(wrong.statusCode, 401);
      assert.equal(unknown.statusCode, 401);
      const strip = (body: string) => ({ ...(JSON.parse(body) as object), request_id: undefined });
      assert.deepEqual(strip(wrong.body), strip(unknown.body));
    });

    it('device sign-in creates once (201) and then signs the same player in (200)', async () => {
      const device = `device-${kind.name}-0123456789abcdef`;
      const first = await post(t, '/v1/auth/device', a.publishableKey, { device_id: device });
      assert.equal(first.statusCode, 201);
      const again = await post(t, '/v1/auth/device', a.publishableKey, { device_id: device });
      assert.equal(again.statusCode, 200);
      assert.equal(again.json<SignedIn>().player.id, first.json<SignedIn>().player.id);
      assert.equal((await post(t, '/v1/auth/device', a.publishableKey, { device_id: 'short' })).statusCode, 400);
    });

    it('access tokens carry the documented claims and verify against the JWKS', async () => {
      const player = await createPlayer(t.app, a);
      const jwks = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
      assert.equal(jwks.statusCode, 200);
      const set = jwks.json<{ keys: { kid: string; alg: string; kty: string; crv: string }[] }>();
      assert.ok(set.keys.length >= 1);
      for (const key of set.keys) assert.deepEqual([key.alg, key.kty, key.crv, typeof key.kid], ['EdDSA', 'OKP', 'Ed25519', 'string']);
      const { payload, protectedHeader } = await jwtVerify(player.accessToken, createLocalJWKSet(set as never), {
        // GGSCALE_PUBLIC_URL when set; unset (as here), derived from the deployment namespace.
        issuer: t.config.tokenIssuer ?? `urn:ggscale:${await namespaceOf(database.db)}`,
        audience: `project:${a.projectId}`,
      });
      assert.equal(protectedHeader.alg, 'EdDSA');
      assert.equal(payload.sub, player.playerId);
      assert.equal(payload.tid, a.tenantId);
      assert.equal(payload.pid, a.projectId);
      assert.equal(typeof payload.sid, 'string');
      assert.equal(payload.exp! - payload.iat!, 900);
      // A game server of another project checking aud refuses it.
      await assert.rejects(jwtVerify(player.accessToken, createLocalJWKSet(set as never), { audience: `project:${a2.projectId}` }));
    });

    it('refuses a token whose tid, pid or aud was edited', async () => {
      const player = await createPlayer(t.app, a);
      const [header, , signature] = player.accessToken.split('.');
      const claims = decodeJwt(player.accessToken);
      for (const edit of [{ tid: b.tenantId }, { pid: a2.projectId }, { aud: `project:${a2.projectId}` }, { pid: a2.projectId, aud: `project:${a2.projectId}` }]) {
        const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, ...edit })).toString('base64url')}.${signature}`;
        assert.equal((await me(forged)).statusCode, 401, JSON.stringify(edit));
      }
      assert.equal((await me(player.accessToken)).statusCode, 200);
    });

    it('rotates refresh tokens; a retry within the grace window answers the same pair', async () => {
      const player = await createPlayer(t.app, a);
      const first = await post(t, '/v1/auth/refresh', a.publishableKey, { refresh_token: player.refreshToken });
      assert.equal(first.statusCode, 200, first.body);
      const pair = first.json<{ access_token: string; refresh_token: string }>();
      assert.notEqual(pair.refresh_token, player.refreshToken);
      const retry = await post(t, '/v1/auth/refresh', a.publishableKey, { refresh_token: player.refreshToken });
      assert.equal(retry.statusCode, 200);
      assert.deepEqual(retry.json(), first.json());
      const next = await post(t, '/v1/auth/refresh', a.publishableKey, { refresh_token: pair.refresh_token });
      assert.equal(next.statusCode, 200);
      assert.equal((await me(next.json<{ access_token: string }>().access_token)).statusCode, 200);
    });

    it('a reuse after the grace window revokes the whole session family', async () => {
      const player = await createPlayer(graceless.app, a);
      const rotated = await post(graceless, '/v1/auth/refresh', a.publishableKey, { refresh_token: player.refreshToken });
      assert.equal(rotated.statusCode, 200);
      const successor = rotated.json<{ access_token: string; refresh_token: string }>();
      const reuse = await post(graceless, '/v1/auth/refresh', a.publishableKey, { refresh_token: player.refreshToken });
      assert.equal(reuse.statusCode, 401);
      assert.equal((await post(graceless, '/v1/auth/refresh', a.publishableKey, { refresh_token: successor.refresh_token })).statusCode, 401);
      const meAfter = await graceless.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(successor.access_token) });
      assert.equal(meAfter.statusCode, 401);
    });

    it("refuses tenant A's refresh token under tenant B's key, and A's player under B's key", async () => {
      const address = email();
      await signup(a, { email: address, password: 'correct horse' });
      const player = await createPlayer(t.app, a);
      assert.equal((await post(t, '/v1/auth/refresh', b.publishableKey, { refresh_token: player.refreshToken })).statusCode, 401);
      assert.equal((await post(t, '/v1/auth/refresh', a2.publishableKey, { refresh_token: player.refreshToken })).statusCode, 401);
      assert.equal((await login(b, { email: address, password: 'correct horse' })).statusCode, 401);
      assert.equal((await login(a2, { email: address, password: 'correct horse' })).statusCode, 401);
    });

    it('logout ends the session: its access and refresh tokens stop working', async () => {
      const player = await createPlayer(t.app, a);
      assert.equal((await me(player.accessToken)).statusCode, 200);
      assert.equal((await post(t, '/v1/auth/logout', player.accessToken)).statusCode, 204);
      assert.equal((await me(player.accessToken)).statusCode, 401);
      assert.equal((await post(t, '/v1/auth/refresh', a.publishableKey, { refresh_token: player.refreshToken })).statusCode, 401);
    });

    it('me answers the player; credentials of the wrong kind are 403', async () => {
      const player = await createPlayer(t.app, a);
      const res = await me(player.accessToken);
      assert.equal(res.json<{ player: { id: string } }>().player.id, player.playerId);
      assert.equal((await me(a.publishableKey)).statusCode, 403);
      assert.equal((await me(a.secretKey)).statusCode, 403);
      assert.equal((await post(t, '/v1/auth/device', player.accessToken, { device_id: 'device-0123456789abcdef-x' })).statusCode, 403);
      assert.equal((await me('ggs_sk_' + 'A'.repeat(43))).statusCode, 401);
      assert.equal((await t.app.inject({ method: 'GET', url: '/v1/auth/me' })).statusCode, 401);
    });

    it('password change: old password fails, other sessions end, this one stays', async () => {
      const address = email();
      const first = (await signup(a, { email: address, password: 'first password' })).json<SignedIn>();
      const second = (await login(a, { email: address, password: 'first password' })).json<SignedIn>();
      const wrong = await post(t, '/v1/auth/password', first.access_token, { current_password: 'nope nope', new_password: 'second password' });
      assert.equal(wrong.statusCode, 403);
      const change = await post(t, '/v1/auth/password', first.access_token, { current_password: 'first password', new_password: 'second password' });
      assert.equal(change.statusCode, 204);
      assert.equal((await me(first.access_token)).statusCode, 200);
      assert.equal((await me(second.access_token)).statusCode, 401);
      assert.equal((await login(a, { email: address, password: 'first password' })).statusCode, 401);
      assert.equal((await login(a, { email: address, password: 'second password' })).statusCode, 200);
    });

    it('links an email to a device player once; a taken email is 409', async () => {
      const player = await createPlayer(t.app, a);
      const address = email();
      const linked = await post(t, '/v1/auth/link/email', player.accessToken, { email: address, password: 'linked password' });
      assert.equal(linked.statusCode, 200, linked.body);
      assert.equal(linked.json<{ player: { email: string } }>().player.email, address);
      assert.equal((await post(t, '/v1/auth/link/email', player.accessToken, { email: email(), password: 'linked password' })).statusCode, 409);
      const other = await createPlayer(t.app, a);
      assert.equal((await post(t, '/v1/auth/link/email', other.accessToken, { email: address, password: 'linked password' })).statusCode, 409);
      const signedIn = await login(a, { email: address, password: 'linked password' });
      assert.equal(signedIn.json<SignedIn>().player.id, player.playerId);
    });

    it('revoke-all ends every session of the player', async () => {
      const device = `device-revoke-all-${kind.name}-0123`;
      const one = (await post(t, '/v1/auth/device', a.publishableKey, { device_id: device })).json<SignedIn>();
      const two = (await post(t, '/v1/auth/device', a.publishableKey, { device_id: device })).json<SignedIn>();
      assert.equal((await post(t, '/v1/auth/sessions/revoke-all', one.access_token)).statusCode, 204);
      assert.equal((await me(one.access_token)).statusCode, 401);
      assert.equal((await me(two.access_token)).statusCode, 401);
    });

    it('a banned player cannot sign in, refresh, or use its tokens; unbanning restores sign-in', async () => {
      const address = email();
      const signed = (await signup(a, { email: address, password: 'ban me please' })).json<SignedIn>();
      const ban = await operator(t.app, 'POST', `/v1/admin/projects/${a.projectId}/players/${signed.player.id}/ban`);
      assert.equal(ban.statusCode, 204);
      assert.equal((await me(signed.access_token)).statusCode, 401);
      assert.equal((await post(t, '/v1/auth/refresh', a.publishableKey, { refresh_token: signed.refresh_token })).statusCode, 401);
      assert.equal((await login(a, { email: address, password: 'ban me please' })).statusCode, 403);
      // A ban names the project: the same player id under another project is 404.
      assert.equal((await operator(t.app, 'POST', `/v1/admin/projects/${b.projectId}/players/${signed.player.id}/ban`)).statusCode, 404);
      assert.equal((await operator(t.app, 'DELETE', `/v1/admin/projects/${a.projectId}/players/${signed.player.id}/ban`)).statusCode, 204);
      assert.equal((await login(a, { email: address, password: 'ban me please' })).statusCode, 200);
    });

    it('never logs a key, password or token', async () => {
      const address = email();
      const res = (await signup(a, { email: address, password: 'log-secret-password' })).json<SignedIn>();
      await post(t, '/v1/auth/refresh', a.publishableKey, { refresh_token: res.refresh_token });
      await me(res.access_token);
      const logs = t.logs.lines.join('\n');
      for (const secret of ['log-secret-password', res.access_token, res.refresh_token, a.publishableKey, a.secretKey, b.secretKey]) {
        assert.ok(!logs.includes(secret), 'a credential reached the logs');
      }
    });
  });
}
