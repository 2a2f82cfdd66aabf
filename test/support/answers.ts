/** Assertions on an answer that every suite shares: a JSON body of a status, and a problem document. */
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';

/** Asserts the status (200 unless told) and answers the JSON body. */
export function json<T>(res: LightMyRequestResponse, status = 200): T {
  assert.equal(res.statusCode, status, res.body);
  return res.json<T>();
}

/** Asserts a problem answer of this status and slug; returns the problem document. */
export function assertProblem(res: LightMyRequestResponse, status: number, slug: string, what = ''): Record<string, unknown> {
  assert.equal(res.statusCode, status, `${what}: ${res.statusCode} ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, what);
  const problem = res.json<Record<string, unknown>>();
  assert.equal(problem.type, `https://ggscale.dev/problems/${slug}`, what);
  return problem;
}
