/** /v1/storage: objects (raw bytes) and listings, inside the player-or-secret-key auth context. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { authOf } from '../../http/credential-gate.js';
import { Page, decodeCursor, encodeCursor } from '../../http/schemas.js';
import type { StorageConfig } from './config.js';
import type { ObjectMetadata } from './object-store.js';
import { deleteCondition, entityTag, notModified, putCondition } from './preconditions.js';
import { limitedRawBody, storedContentType } from './raw-body.js';
import {
  CollectionParams,
  DeleteHeaders,
  ListQuery,
  NAME_PATTERN,
  NotFoundResponse,
  NotModifiedResponse,
  ObjectBytesResponse,
  ObjectMetadata as ObjectMetadataSchema,
  ObjectMetadataResponse,
  ObjectParams,
  PreconditionFailedResponse,
  PutHeaders,
  PutQuery,
  ReadHeaders,
  ReadQuery,
  TooLargeResponse,
  UnsupportedMediaResponse,
  type ConditionalHeaders,
  type ObjectMetadataView,
} from './schemas.js';
import { PROJECT_OWNER, type StorageService } from './storage-service.js';

const tags = ['storage'];
const OBJECT_PATH = '/v1/storage/:collection/:key';
const NAME = new RegExp(NAME_PATTERN);

const isKeyCursor = (value: unknown): value is { after: string } =>
  typeof value === 'object' && value !== null && typeof (value as { after?: unknown }).after === 'string' && NAME.test((value as { after: string }).after);

export function metadataView(metadata: ObjectMetadata): ObjectMetadataView {
  return {
    collection: metadata.collection,
    key: metadata.key,
    owner: metadata.owner === PROJECT_OWNER ? null : metadata.owner,
    version: metadata.version,
    size: metadata.size,
    content_type: metadata.contentType,
    acl: metadata.publicRead ? 'public-read' : 'private',
    updated_at: metadata.updatedAt.toISOString(),
  };
}

/**
 * Headers of GET/HEAD/304. The bytes are the client's, of any type: nosniff (set for every response) and a
 * sandbox CSP keep a stored HTML or SVG from running as ggscale's origin; the answer depends on the
 * credential, so no shared cache may keep it.
 */
function objectHeaders(reply: FastifyReply, metadata: ObjectMetadata): FastifyReply {
  return reply
    .header('etag', entityTag(metadata.version))
    .header('last-modified', metadata.updatedAt.toUTCString())
    .header('content-security-policy', 'sandbox')
    .header('cache-control', 'private, no-cache');
}

export async function storageRoutes(app: FastifyInstance, opts: { service: StorageService; config: StorageConfig }): Promise<void> {
  const { service, config } = opts;

  // Uploads take any media type as raw bytes. The catch-all parser lives only in this context: everywhere
  // else the server stays JSON-only.
  await app.register(async (uploads) => {
    uploads.removeAllContentTypeParsers();
    uploads.addContentTypeParser('*', limitedRawBody(config.maxObjectBytes));

    uploads.put<{ Params: ObjectParams; Querystring: PutQuery; Headers: ConditionalHeaders; Body: Buffer | undefined }>(
      OBJECT_PATH,
      {
        schema: {
          operationId: 'putStorageObject',
          tags,
          summary: 'Creates or replaces an object: raw bytes, any Content-Type (none: application/octet-stream).',
          description:
            `At most STORAGE_MAX_OBJECT_BYTES (default 1 MiB; over it 413, detected while streaming). If-Match / If-None-Match: * ` +
            'make it conditional (412 when they fail, and nothing changes). Over the owner\'s quotas is 413 quota-exceeded.',
          params: ObjectParams,
          querystring: PutQuery,
          headers: PutHeaders,
          // Documentation only: the body is read by this context's own parser, never validated as a schema.
          rawBody: { description: 'The object: raw bytes, stored and served back as sent, with this Content-Type.', maxBytes: config.maxObjectBytes },
          response: {
            200: ObjectMetadataResponse('Replaced.'),
            201: ObjectMetadataResponse('Created.'),
            404: NotFoundResponse,
            412: PreconditionFailedResponse,
            413: TooLargeResponse,
            415: UnsupportedMediaResponse,
          },
        },
        // Before any byte of the body is read (Fastify's own check would answer "send application/json").
        preParsing: async (request) => {
          storedContentType(request.headers['content-type']);
        },
      },
      async (request, reply) => {
        const { collection, key } = request.params;
        const condition = putCondition(request.headers['if-match'], request.headers['if-none-match']);
        const { created, metadata } = await service.put(authOf(request), collection, key, request.query.owner, {
          body: request.body ?? Buffer.alloc(0),
          contentType: storedContentType(request.headers['content-type']),
          publicRead: request.query.acl === 'public-read',
          condition,
        });
        reply.header('etag', entityTag(metadata.version)).header('last-modified', metadata.updatedAt.toUTCString());
        return reply.code(created ? 201 : 200).send(metadataView(metadata));
      },
    );
  });

  app.get<{ Params: ObjectParams; Querystring: ReadQuery; Headers: ConditionalHeaders }>(
    OBJECT_PATH,
    {
      // HEAD is its own route below: it reads the metadata only, not the bytes.
      exposeHeadRoute: false,
      schema: {
        operationId: 'getStorageObject',
        tags,
        summary: 'Reads an object: its bytes with the stored Content-Type, ETag and Last-Modified.',
        description: 'If-None-Match with the current ETag (or *) is 304. Missing, or private to another owner: 404.',
        params: ObjectParams,
        querystring: ReadQuery,
        headers: ReadHeaders,
        response: { 200: ObjectBytesResponse, 304: NotModifiedResponse, 404: NotFoundResponse },
      },
    },
    async (request, reply) => {
      const object = await service.get(authOf(request), request.params.collection, request.params.key, request.query.owner);
      objectHeaders(reply, object);
      if (notModified(request.headers['if-none-match'], object.version)) return reply.code(304).send();
      return reply.code(200).header('content-type', object.contentType).send(object.body);
    },
  );

  app.head<{ Params: ObjectParams; Querystring: ReadQuery; Headers: ConditionalHeaders }>(
    OBJECT_PATH,
    {
      // @fastify/swagger leaves HEAD routes out of the document unless asked (they are usually GET's shadow).
      config: { swagger: { exposeHeadRoute: true } },
      schema: {
        operationId: 'headStorageObject',
        tags,
        summary: 'The headers of GET without the bytes.',
        params: ObjectParams,
        querystring: ReadQuery,
        headers: ReadHeaders,
        response: { 200: Type.Null({ description: 'The object exists.' }), 304: NotModifiedResponse, 404: NotFoundResponse },
      },
    },
    async (request, reply) => {
      const metadata = await service.head(authOf(request), request.params.collection, request.params.key, request.query.owner);
      objectHeaders(reply, metadata);
      if (notModified(request.headers['if-none-match'], metadata.version)) return reply.code(304).send();
      return reply.code(200).header('content-type', metadata.contentType).header('content-length', String(metadata.size)).send();
    },
  );

  app.delete<{ Params: ObjectParams; Querystring: ReadQuery; Headers: ConditionalHeaders }>(
    OBJECT_PATH,
    {
      schema: {
        operationId: 'deleteStorageObject',
        tags,
        summary: 'Deletes an object; If-Match: "<version>" deletes only that version.',
        params: ObjectParams,
        querystring: ReadQuery,
        headers: DeleteHeaders,
        response: { 204: Type.Null({ description: 'Deleted.' }), 404: NotFoundResponse, 412: PreconditionFailedResponse },
      },
    },
    async (request, reply) => {
      const condition = deleteCondition(request.headers['if-match'], request.headers['if-none-match']);
      await service.delete(authOf(request), request.params.collection, request.params.key, request.query.owner, condition);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: CollectionParams; Querystring: ListQuery }>(
    '/v1/storage/:collection',
    {
      schema: {
        operationId: 'listStorageObjects',
        tags,
        summary: "Lists one owner's objects of a collection (metadata), by key in byte order.",
        description: '?prefix= keeps keys that start with that literal text. Players list only their own objects.',
        params: CollectionParams,
        querystring: ListQuery,
        response: { 200: Page(ObjectMetadataSchema), 404: NotFoundResponse },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 20;
      const afterKey = decodeCursor(request.query.cursor, isKeyCursor)?.after ?? '';
      const items = await service.list(authOf(request), request.params.collection, request.query.owner, {
        afterKey,
        prefix: request.query.prefix ?? '',
        limit: limit + 1,
      });
      const page = items.slice(0, limit);
      return { items: page.map(metadataView), next_cursor: items.length > limit ? encodeCursor({ after: page.at(-1)!.key }) : null };
    },
  );
}
