/** Fleet schemas: closed objects, bounded strings, maps and arrays. */
import { Type, type Static } from '@sinclair/typebox';
import { Id, Timestamp } from '../../../http/schemas.js';
import { MAX_ANNOTATIONS, MAX_ANNOTATION_VALUE, MAX_LABELS } from '../labels.js';

export const FleetName = Type.String({
  minLength: 1,
  maxLength: 63,
  pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$',
  description: 'A fleet name: lowercase letters, digits and "-" (a Kubernetes label value).',
});

const FLEET_NAME = new RegExp(FleetName.pattern!);

/**
 * A fleet-listing cursor is `{"after": <fleet name>}`. Anything else is not one of ours: checked against the
 * name pattern, so no byte Postgres text cannot hold (U+0000) reaches a query and answers 500.
 */
export const isFleetNameCursor = (value: unknown): value is { after: string } =>
  typeof value === 'object' && value !== null && typeof (value as { after?: unknown }).after === 'string' && FLEET_NAME.test((value as { after: string }).after);

export const LabelMap = Type.Record(Type.String(), Type.String({ maxLength: 63 }), {
  maxProperties: MAX_LABELS,
  propertyNames: { maxLength: 317 },
  description: 'Kubernetes labels. Keys under agones.dev/, ggscale.dev/, kubernetes.io/ and k8s.io/ are reserved.',
});

const AnnotationMap = Type.Record(Type.String(), Type.String({ maxLength: MAX_ANNOTATION_VALUE }), {
  maxProperties: MAX_ANNOTATIONS,
  propertyNames: { maxLength: 317 },
  description: 'Kubernetes annotations (free-text values). Reserved prefixes as for labels.',
});

const Backend = Type.Union([Type.Literal('local'), Type.Literal('agones')]);

export const FleetRegistrationBody = Type.Object(
  {
    name: FleetName,
    backend: Backend,
    labels: Type.Optional(LabelMap),
    max_allocations: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, description: 'Live allocations allowed at once (default 10).' })),
    allocation_ttl_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 604_800, description: 'Allocations expire this long after they are made.' })),
    command: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), {
        minItems: 1,
        maxItems: 64,
        description:
          'Local fleets only: the argv of a game server; "{port}" in an argument is replaced by its port, which is also in PORT, with the SDK in AGONES_SDK_HTTP_PORT. Default: the echo server shipped with ggscale.',
      }),
    ),
    agones_fleet: Type.Optional(Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$', description: 'Agones fleets only: the Fleet in the cluster (default: name).' })),
  },
  { additionalProperties: false },
);
export type FleetRegistrationBody = Static<typeof FleetRegistrationBody>;

export const FleetPatchBody = Type.Object(
  {
    max_allocations: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
    allocation_ttl_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 604_800, description: 'Applies to allocations made from now on.' })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type FleetPatchBody = Static<typeof FleetPatchBody>;

export const Fleet = Type.Object(
  {
    id: Id,
    project_id: Id,
    name: Type.String(),
    backend: Backend,
    labels: LabelMap,
    max_allocations: Type.Integer(),
    allocation_ttl_seconds: Type.Integer(),
    command: Type.Union([Type.Array(Type.String()), Type.Null()]),
    agones_fleet: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp,
  },
  { additionalProperties: false },
);

/** What a studio's own servers see of their fleets (no operator settings such as the command). */
export const ProjectFleet = Type.Object(
  {
    name: Type.String(),
    backend: Backend,
    labels: LabelMap,
    max_allocations: Type.Integer(),
    allocation_ttl_seconds: Type.Integer(),
    created_at: Timestamp,
  },
  { additionalProperties: false },
);

export const AllocateBody = Type.Object(
  {
    fleet: FleetName,
    labels: Type.Optional(LabelMap),
    metadata: Type.Optional(
      Type.Object(
        { labels: Type.Optional(LabelMap), annotations: Type.Optional(AnnotationMap) },
        { additionalProperties: false, description: 'Applied to the game server when it is allocated.' },
      ),
    ),
  },
  { additionalProperties: false },
);
export type AllocateBody = Static<typeof AllocateBody>;

export const AllocationStateSchema = Type.Union([
  Type.Literal('Allocated'),
  Type.Literal('Released'),
  Type.Literal('Expired'),
  Type.Literal('Ended'),
  Type.Literal('Lost'),
]);

export const Allocation = Type.Object(
  {
    id: Id,
    fleet: Type.String(),
    game_server: Type.String(),
    state: AllocationStateSchema,
    address: Type.String(),
    ports: Type.Array(
      Type.Object({ name: Type.String(), port: Type.Integer(), protocol: Type.String() }, { additionalProperties: false }),
    ),
    expires_at: Timestamp,
    created_at: Timestamp,
    ended_at: Type.Union([Timestamp, Type.Null()], { description: 'When it ended (Released, Expired, Ended by the game server, or Lost), else null.' }),
  },
  { additionalProperties: false },
);

export const AllocationQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    state: Type.Optional(AllocationStateSchema),
    fleet: Type.Optional(FleetName),
  },
  { additionalProperties: false },
);
export type AllocationQuery = Static<typeof AllocationQuery>;
