/** Sets up tenants, projects and keys through the operator API, as a studio would. */
import type { FastifyInstance } from 'fastify';
import assert from 'node:assert/strict';

export const OPERATOR_TOKEN = 'test-operator-token-0123456789abcdef';

export interface TestProject {
  tenantId: string;
  projectId: string;
  publishableKey: string;
  secretKey: string;
  secretKeyId: string;
}

let counter = 0;

export async function operator(app: FastifyInstance, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) {
  return app.inject({ method, url, headers: { authorization: `Bearer ${OPERATOR_TOKEN}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
}

export async function createTenant(app: FastifyInstance, name = `tenant-${process.pid}-${++counter}`): Promise<string> {
  const res = await operator(app, 'POST', '/v1/admin/tenants', { name });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<{ id: string }>().id;
}

export async function createProject(app: FastifyInstance, tenantId: string, name = `project-${++counter}`): Promise<TestProject> {
  const project = await operator(app, 'POST', `/v1/admin/tenants/${tenantId}/projects`, { name });
  assert.equal(project.statusCode, 201, project.body);
  const projectId = project.json<{ id: string }>().id;
  const keys: Record<string, { key: string; id: string }> = {};
  for (const kind of ['publishable', 'secret']) {
    const res = await operator(app, 'POST', `/v1/admin/projects/${projectId}/api-keys`, { kind, name: kind });
    assert.equal(res.statusCode, 201, res.body);
    keys[kind] = res.json<{ key: string; id: string }>();
  }
  return { tenantId, projectId, publishableKey: keys.publishable!.key, secretKey: keys.secret!.key, secretKeyId: keys.secret!.id };
}

export const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` });

export interface TestPlayer {
  playerId: string;
  accessToken: string;
  refreshToken: string;
}

/** A device player of the project (no password hashing: fast). */
export async function createPlayer(app: FastifyInstance, project: TestProject, deviceId = `device-${process.pid}-${++counter}-0123456789`): Promise<TestPlayer> {
  const res = await app.inject({ method: 'POST', url: '/v1/auth/device', headers: bearer(project.publishableKey), payload: { device_id: deviceId } });
  assert.ok(res.statusCode === 201 || res.statusCode === 200, res.body);
  const body = res.json<{ player: { id: string }; access_token: string; refresh_token: string }>();
  return { playerId: body.player.id, accessToken: body.access_token, refreshToken: body.refresh_token };
}
