-- Fleets and allocations (issue 6). Both are project data: tenant_id + project_id, RLS enabled and forced,
-- the policy of ggscale_isolate (migration 0001), composite unique keys and foreign keys.

-- A fleet a project may allocate game servers from, registered by the operator (or the lazily created
-- `default` local fleet). Deleting a fleet leaves a tombstone (deleted_at), so its allocations stay readable
-- and a deleted `default` fleet is not created again behind the operator's back.
create table fleets (
  tenant_id bigint not null,
  project_id bigint not null,
  id bigint generated always as identity primary key,
  -- A Kubernetes label value (it is the agones.dev/fleet selector on the Agones backend).
  name text collate "C" not null check (name ~ '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'),
  backend text not null check (backend in ('local', 'agones')),
  -- The fleet's own labels: always part of every allocation's selector.
  labels jsonb not null default '{}'::jsonb,
  max_allocations integer not null check (max_allocations between 0 and 100000),
  allocation_ttl_seconds integer not null check (allocation_ttl_seconds between 1 and 604800),
  -- Local backend only: the argv of a game server process (null: the echo server shipped with ggscale).
  command jsonb,
  -- Agones backend only: the name of the Agones Fleet in the cluster (null: the same as name).
  agones_fleet text collate "C",
  created_at timestamptz not null default now(),
  deleted_at timestamptz,
  constraint fleets_scope_id_key unique (tenant_id, project_id, id),
  constraint fleets_project_fkey foreign key (tenant_id, project_id) references projects (tenant_id, id) on delete cascade
);
create unique index fleets_name_key on fleets (tenant_id, project_id, name) where deleted_at is null;

-- One allocation of one game server. `Pending` reserves quota while the backend allocates; the ended
-- states say why it ended: Released (DELETE), Expired (its TTL), Ended (the game server shut down, or went
-- back to Ready, on its own), Lost (the game server died or vanished, e.g. with a crashed ggscale).
create table fleet_allocations (
  tenant_id bigint not null,
  project_id bigint not null,
  id bigint generated always as identity primary key,
  fleet_id bigint not null,
  backend text not null check (backend in ('local', 'agones')),
  state text not null check (state in ('Pending', 'Allocated', 'Released', 'Expired', 'Ended', 'Lost')),
  game_server text collate "C" check (char_length(game_server) <= 253),
  -- Local backend: the ggscale node whose child process serves it (crash reconciliation is per node).
  node text check (char_length(node) <= 255),
  address text check (char_length(address) <= 255),
  ports jsonb not null default '[]'::jsonb,
  labels jsonb not null default '{}'::jsonb,
  metadata jsonb not null default '{}'::jsonb,
  idempotency_key text check (char_length(idempotency_key) between 1 and 255),
  -- SHA-256 of the request, so a reused key with a different request is refused rather than replayed.
  request_hash bytea check (octet_length(request_hash) = 32),
  created_at timestamptz not null default now(),
  allocated_at timestamptz,
  expires_at timestamptz,
  ended_at timestamptz,
  constraint fleet_allocations_scope_id_key unique (tenant_id, project_id, id),
  constraint fleet_allocations_fleet_fkey foreign key (tenant_id, project_id, fleet_id)
    references fleets (tenant_id, project_id, id) on delete cascade
);
create unique index fleet_allocations_idempotency_key on fleet_allocations (tenant_id, project_id, idempotency_key)
  where idempotency_key is not null;
-- The quota count: live allocations of one fleet.
create index fleet_allocations_fleet_live_idx on fleet_allocations (tenant_id, project_id, fleet_id)
  where state in ('Pending', 'Allocated');
-- The two scheduler sweeps (TTL expiry, crash reconciliation) run across tenants on the operator path, so
-- these partial indexes cannot lead with tenant_id; they only ever hold live rows.
create index fleet_allocations_expiry_idx on fleet_allocations (expires_at) where state = 'Allocated';
create index fleet_allocations_reconcile_idx on fleet_allocations (backend, node) where state in ('Pending', 'Allocated');

select ggscale_isolate('fleets');
select ggscale_isolate('fleet_allocations');

-- The request path reads fleets and creates the lazy `default` fleet; the operator path does the rest.
grant select, insert on fleets to ggscale_app;
grant select, insert, delete on fleet_allocations to ggscale_app;
grant update (state, game_server, node, address, ports, allocated_at, expires_at, ended_at, idempotency_key)
  on fleet_allocations to ggscale_app;
