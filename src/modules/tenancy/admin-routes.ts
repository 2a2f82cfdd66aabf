/** The operator API (/v1/admin/*), inside a context that accepts only the operator token. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Id, Page, PageQuery, Timestamp, decodeCursor, encodeCursor } from '../../http/schemas.js';
import type { TenancyService, Actor } from './tenancy-service.js';
import { projectSettingsPatch, type ProjectSettingsPatch } from './project-settings.js';
import type { ProjectLimit } from '../../internal/config/section.js';

const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9 ._-]*$' });
const Tenant = Type.Object({ id: Id, name: Type.String(), created_at: Timestamp }, { additionalProperties: false });
const Settings = Type.Object(
  { limits: Type.Record(Type.String(), Type.Integer()), cors_origins: Type.Array(Type.String()) },
  { additionalProperties: false },
);
const Project = Type.Object(
  { id: Id, tenant_id: Id, name: Type.String(), settings: Settings, created_at: Timestamp },
  { additionalProperties: false },
);
const KeyKind = Type.Union([Type.Literal('secret'), Type.Literal('publishable')]);
const ApiKey = Type.Object(
  {
    id: Id,
    kind: KeyKind,
    name: Type.String(),
    prefix: Type.String(),
    created_at: Timestamp,
    last_used_at: Type.Union([Timestamp, Type.Null()]),
    revoked_at: Type.Union([Timestamp, Type.Null()]),
  },
  { additionalProperties: false },
);
const NewApiKey = Type.Object(
  { id: Id, kind: KeyKind, name: Type.String(), prefix: Type.String(), key: Type.String(), created_at: Timestamp },
  { additionalProperties: false },
);

const isTenantCursor = (value: unknown): value is { after: string } =>
  typeof value === 'object' && value !== null && typeof (value as { after?: unknown }).after === 'string' && /^\d{1,18}$/.test((value as { after: string }).after);

const actorOf = (request: FastifyRequest): Actor => ({ actor: 'operator', ip: request.ip });
const tags = ['operator'];

export async function adminRoutes(app: FastifyInstance, tenancy: TenancyService, projectLimits: readonly ProjectLimit[]): Promise<void> {
  const SettingsPatch = projectSettingsPatch(projectLimits);

  app.post<{ Body: { name: string } }>(
    '/v1/admin/tenants',
    { schema: { operationId: 'createTenant', tags, body: Type.Object({ name: Name }, { additionalProperties: false }), response: { 201: Tenant } } },
    async (request, reply) => reply.code(201).send(await tenancy.createTenant(actorOf(request), request.body.name)),
  );

  app.get<{ Querystring: { limit?: number; cursor?: string } }>(
    '/v1/admin/tenants',
    { schema: { operationId: 'listTenants', tags, querystring: PageQuery, response: { 200: Page(Tenant) } } },
    async (request) => {
      const after = decodeCursor(request.query.cursor, isTenantCursor)?.after;
      const page = await tenancy.listTenants(request.query.limit ?? 20, after);
      return { items: page.items, next_cursor: page.next ? encodeCursor({ after: page.next }) : null };
    },
  );

  app.post<{ Params: { tenant_id: string }; Body: { name: string } }>(
    '/v1/admin/tenants/:tenant_id/projects',
    {
      schema: {
        operationId: 'createProject',
        tags,
        params: Type.Object({ tenant_id: Id }, { additionalProperties: false }),
        body: Type.Object({ name: Name }, { additionalProperties: false }),
        response: { 201: Project },
      },
    },
    async (request, reply) => reply.code(201).send(await tenancy.createProject(actorOf(request), request.params.tenant_id, request.body.name)),
  );

  app.get<{ Params: { tenant_id: string } }>(
    '/v1/admin/tenants/:tenant_id/projects',
    {
      schema: {
        operationId: 'listProjects',
        tags,
        params: Type.Object({ tenant_id: Id }, { additionalProperties: false }),
        response: { 200: Page(Project) },
      },
    },
    async (request) => ({ items: await tenancy.listProjects(request.params.tenant_id), next_cursor: null }),
  );

  app.patch<{ Params: { project_id: string }; Body: ProjectSettingsPatch }>(
    '/v1/admin/projects/:project_id',
    {
      schema: {
        operationId: 'updateProjectSettings',
        tags,
        params: Type.Object({ project_id: Id }, { additionalProperties: false }),
        body: SettingsPatch,
        response: { 200: Project },
      },
    },
    async (request) => tenancy.updateProject(actorOf(request), request.params.project_id, request.body),
  );

  app.post<{ Params: { project_id: string }; Body: { kind: 'secret' | 'publishable'; name: string } }>(
    '/v1/admin/projects/:project_id/api-keys',
    {
      schema: {
        operationId: 'createApiKey',
        tags,
        params: Type.Object({ project_id: Id }, { additionalProperties: false }),
        body: Type.Object({ kind: KeyKind, name: Name }, { additionalProperties: false }),
        response: { 201: NewApiKey },
      },
    },
    async (request, reply) => {
      const { last_used_at: _used, revoked_at: _revoked, ...created } = await tenancy.createApiKey(
        actorOf(request),
        request.params.project_id,
        request.body.kind,
        request.body.name,
      );
      return reply.code(201).send(created);
    },
  );

  app.get<{ Params: { project_id: string } }>(
    '/v1/admin/projects/:project_id/api-keys',
    {
      schema: {
        operationId: 'listApiKeys',
        tags,
        params: Type.Object({ project_id: Id }, { additionalProperties: false }),
        response: { 200: Page(ApiKey) },
      },
    },
    async (request) => ({ items: await tenancy.listApiKeys(request.params.project_id), next_cursor: null }),
  );

  app.delete<{ Params: { key_id: string } }>(
    '/v1/admin/api-keys/:key_id',
    {
      schema: {
        operationId: 'revokeApiKey',
        tags,
        params: Type.Object({ key_id: Id }, { additionalProperties: false }),
        response: { 204: Type.Null({ description: 'Revoked.' }) },
      },
    },
    async (request, reply) => {
      await tenancy.revokeApiKey(actorOf(request), request.params.key_id);
      return reply.code(204).send();
    },
  );

  for (const banned of [true, false]) {
    const route = banned ? app.post.bind(app) : app.delete.bind(app);
    route<{ Params: { project_id: string; player_id: string } }>(
      '/v1/admin/projects/:project_id/players/:player_id/ban',
      {
          schema: {
          operationId: banned ? 'banPlayer' : 'unbanPlayer',
          tags,
            params: Type.Object({ project_id: Id, player_id: Id }, { additionalProperties: false }),
          response: { 204: Type.Null({ description: banned ? 'Banned.' : 'Ban lifted.' }) },
        },
      },
      async (request, reply) => {
        await tenancy.setBan(actorOf(request), request.params.project_id, request.params.player_id, banned);
        return reply.code(204).send();
      },
    );
  }
}
