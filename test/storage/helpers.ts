/** Helpers shared by the storage suites (not a test file itself). */
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildTestApp, type TestApp } from '../support/app.js';
import type { TestDatabase, TestDatabaseKind } from '../support/db.js';
import { bearer } from '../support/tenancy.js';

/** The request budgets (docs/api/rate-limits.md) are not under test here: lift them so suites can make many calls. */
export const UNLIMITED = {
  RATE_LIMIT_PER_MIN: '100000000',
  SECRET_KEY_RATE_LIMIT_PER_MIN: '100000000',
  AUTH_RATE_LIMIT_PER_MIN: '100000000',
  PROJECT_AUTH_RATE_LIMIT_PER_MIN: '100000000',
};

export interface StorageSuite {
  database: TestDatabase;
  t: TestApp;
  close(): Promise<void>;
}

export async function startSuite(kind: TestDatabaseKind, env: Record<string, string> = {}): Promise<StorageSuite> {
  const database = await kind.create();
  const t = await buildTestApp({ db: database.db, env: { ...UNLIMITED, ...env } });
  return {
    database,
    t,
    close: async () => {
      await t.close();
      await database.drop();
    },
  };
}

export interface ObjectJson {
  collection: string;
  key: string;
  owner: string | null;
  version: string;
  size: number;
  content_type: string;
  acl: 'private' | 'public-read';
  updated_at: string;
}

export interface PageJson {
  items: ObjectJson[];
  next_cursor: string | null;
}

export function putObject(
  app: FastifyInstance,
  credential: string,
  path: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  const contentType = 'content-type' in headers ? {} : { 'content-type': 'application/octet-stream' };
  return app.inject({ method: 'PUT', url: `/v1/storage/${path}`, headers: { ...bearer(credential), ...contentType, ...headers }, payload: body });
}

export function getObject(app: FastifyInstance, credential: string, path: string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'GET', url: `/v1/storage/${path}`, headers: { ...bearer(credential), ...headers } });
}

export function headObject(app: FastifyInstance, credential: string, path: string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'HEAD', url: `/v1/storage/${path}`, headers: { ...bearer(credential), ...headers } });
}

export function deleteObject(app: FastifyInstance, credential: string, path: string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'DELETE', url: `/v1/storage/${path}`, headers: { ...bearer(credential), ...headers } });
}

export function listObjects(app: FastifyInstance, credential: string, pathAndQuery: string) {
  return app.inject({ method: 'GET', url: `/v1/storage/${pathAndQuery}`, headers: bearer(credential) });
}

/** Asserts a problem response of the given status and slug; returns its detail. */
export function assertProblem(res: LightMyRequestResponse, status: number, slug: string, what = ''): string {
  assert.equal(res.statusCode, status, `${what}: ${res.statusCode} ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
  const problem = res.json<{ type: string; detail: string }>();
  assert.equal(problem.type, `https://ggscale.dev/problems/${slug}`, what);
  return problem.detail;
}

export const json = (res: LightMyRequestResponse) => res.json<ObjectJson>();
