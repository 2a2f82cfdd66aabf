-- Storage (issue 4): key-value blobs addressed by (project, owner, collection, key), and each owner's usage
-- for the quotas. Both are project data: tenant_id + project_id, RLS enabled and forced with the policy of
-- migration 0001 (ggscale_isolate), composite keys and foreign keys.
--
-- The owner is a player of the project, or the project itself. `player_id` is NULL for the project (so the
-- foreign key to players applies only to players); `owner` is the same value with 0 for the project, a
-- non-null key column: NULLs would not collide in a unique key, and `IS NOT DISTINCT FROM` cannot use an
-- index. Player ids come from an identity that starts at 1, so 0 never names a player.

create table storage_objects (
  tenant_id bigint not null,
  project_id bigint not null,
  player_id bigint,
  owner bigint generated always as (coalesce(player_id, 0)) stored,
  collection text collate "C" not null check (collection ~ '^[A-Za-z0-9._-]{1,128}$'),
  key text collate "C" not null check (key ~ '^[A-Za-z0-9._-]{1,128}$'),
  -- A random 128-bit id drawn for every write: unique for all time (a deleted and recreated object never
  -- reuses one) and, unlike a global sequence, telling no tenant how much anyone else writes.
  version text collate "C" not null check (version ~ '^[0-9a-f]{32}$'),
  content_type text not null check (char_length(content_type) between 1 and 255),
  size integer not null check (size >= 0),
  body bytea not null,
  public_read boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- Also the listing order: keys of one owner's collection, byte-wise.
  constraint storage_objects_pkey primary key (tenant_id, project_id, owner, collection, key),
  constraint storage_objects_project_fkey foreign key (tenant_id, project_id) references projects (tenant_id, id) on delete cascade,
  constraint storage_objects_player_fkey foreign key (tenant_id, project_id, player_id)
    references players (tenant_id, project_id, id) on delete cascade
);
-- For the player foreign key's cascade (a deleted player takes its objects along).
create index storage_objects_player_idx on storage_objects (tenant_id, project_id, player_id) where player_id is not null;

-- One row per owner that has written: what its objects count and weigh. Every write of an owner locks this
-- row first (in the same transaction as the write), so quota checks are race-free and all writes of one owner
-- are applied one after another; nothing ever counts the objects.
create table storage_usage (
  tenant_id bigint not null,
  project_id bigint not null,
  player_id bigint,
  owner bigint generated always as (coalesce(player_id, 0)) stored,
  objects integer not null default 0 check (objects >= 0),
  bytes bigint not null default 0 check (bytes >= 0),
  constraint storage_usage_pkey primary key (tenant_id, project_id, owner),
  constraint storage_usage_project_fkey foreign key (tenant_id, project_id) references projects (tenant_id, id) on delete cascade,
  constraint storage_usage_player_fkey foreign key (tenant_id, project_id, player_id)
    references players (tenant_id, project_id, id) on delete cascade
);
create index storage_usage_player_idx on storage_usage (tenant_id, project_id, player_id) where player_id is not null;

select ggscale_isolate('storage_objects');
select ggscale_isolate('storage_usage');

grant select, insert, update, delete on storage_objects to ggscale_app;
grant select, insert, update on storage_usage to ggscale_app;
