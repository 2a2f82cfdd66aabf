/**
 * What the OpenAPI document says about bodies that the route schemas cannot: the raw-bytes upload of a
 * storage object (its parser is the storage context's own, so the route declares no body schema), and the
 * WebSocket upgrade, whose only success is 101.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTestApp, type TestApp } from '../support/app.js';

interface Response {
  description?: string;
  content?: Record<string, { schema?: { $ref?: string } }>;
}
interface Operation {
  requestBody?: { required?: boolean; description?: string; content?: Record<string, { schema?: Record<string, unknown> }> };
  responses: Record<string, Response>;
}
type Document = { paths: Record<string, Record<string, Operation>> };

const MAX_OBJECT_BYTES = 12_345;

describe('OpenAPI request bodies and responses the route schemas do not carry', () => {
  let t: TestApp;
  let document: Document;

  before(async () => {
    t = await buildTestApp({ env: { STORAGE_MAX_OBJECT_BYTES: String(MAX_OBJECT_BYTES) } });
    document = (await t.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json<Document>();
  });
  after(() => t.close());

  it('documents the storage upload as a required body of raw bytes of any type, up to the configured size', () => {
    const put = document.paths['/v1/storage/{collection}/{key}']?.put;
    assert.ok(put?.requestBody, 'PUT has a requestBody');
    assert.equal(put.requestBody.required, true);
    assert.deepEqual(Object.keys(put.requestBody.content ?? {}), ['*/*']);
    const schema = put.requestBody.content?.['*/*']?.schema ?? {};
    assert.deepEqual([schema.type, schema.format, schema.maxLength], ['string', 'binary', MAX_OBJECT_BYTES]);
    assert.match(put.requestBody.description ?? '', /12345 bytes/);
  });

  it('gives the WebSocket upgrade a problem answer for every refusal beside its 101', () => {
    const responses = document.paths['/v1/realtime']?.get?.responses ?? {};
    assert.ok(responses['101'], 'the upgrade');
    assert.deepEqual(responses.default?.content?.['application/problem+json']?.schema, { $ref: '#/components/schemas/Problem' });
  });

  it('gives every operation a success response or a default one', () => {
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const statuses = Object.keys(operation.responses);
        assert.ok(statuses.some((status) => status.startsWith('2') || status === 'default'), `${method.toUpperCase()} ${path}`);
      }
    }
  });
});
