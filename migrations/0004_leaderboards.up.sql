-- Leaderboards (issue 4): boards, their records and the idempotency records of score submits. All three are
-- project data: tenant_id + project_id, RLS enabled and forced, the policy of ggscale_isolate (0001), composite
-- unique keys and foreign keys. Ranks are not stored here: they come from a rank index (memory or Redis)
-- that is derived from leaderboard_records and rebuilt from it when missing.

-- Hands out the tie-break order of records: a record takes a new value whenever its (score, subscore) changes
-- (or it is deleted), so among equal scores whoever reached the score first ranks first. The same value is
-- the record's version in the rank index (a later write of a record always carries a greater value).
create sequence leaderboard_record_seq as bigint;

-- A board. `uid` is the surrogate (and generation): a board deleted and recreated under the same `id` gets a
-- new uid, so its records and rank-index keys start empty. Deleting leaves a tombstone (deleted_at) while
-- the old records are purged in the background.
create table leaderboards (
  tenant_id bigint not null,
  project_id bigint not null,
  uid bigint generated always as identity primary key,
  id text collate "C" not null check (id ~ '^[a-z0-9_-]{1,64}$'),
  sort text not null check (sort in ('desc', 'asc')),
  operator text not null check (operator in ('best', 'set', 'incr', 'decr')),
  authoritative boolean not null default false,
  reset_cron text check (char_length(reset_cron) between 1 and 128),
  metadata jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  deleted_at timestamptz,
  constraint leaderboards_scope_uid_key unique (tenant_id, project_id, uid),
  constraint leaderboards_project_fkey foreign key (tenant_id, project_id) references projects (tenant_id, id) on delete cascade
);
create unique index leaderboards_id_key on leaderboards (tenant_id, project_id, id) where deleted_at is null;

-- One player's record on one board in one period (0 for boards without reset_cron, else the epoch second at
-- which the period began). A deleted record stays as a row marked deleted (its seq moved on), so a later
-- submit always goes through ON CONFLICT DO UPDATE and takes its seq after the row lock: versions in the
-- rank index then always grow in the order Postgres applied the writes.
create table leaderboard_records (
  tenant_id bigint not null,
  project_id bigint not null,
  board_uid bigint not null,
  period bigint not null,
  player_id bigint not null,
  score bigint not null,
  subscore bigint not null default 0,
  seq bigint not null,
  metadata jsonb not null default '{}'::jsonb,
  deleted boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint leaderboard_records_pkey primary key (tenant_id, project_id, board_uid, period, player_id),
  constraint leaderboard_records_board_fkey foreign key (tenant_id, project_id, board_uid)
    references leaderboards (tenant_id, project_id, uid) on delete cascade,
  constraint leaderboard_records_player_fkey foreign key (tenant_id, project_id, player_id)
    references players (tenant_id, project_id, id) on delete cascade
);
-- The player foreign key's cascade (a deleted player) looks records up by player.
create index leaderboard_records_player_idx on leaderboard_records (tenant_id, project_id, player_id);

-- Idempotency-Key of score submits: the first answer, replayed for 24 h. `caller` is who submitted
-- ('player:<id>' or 'secret'), so one caller's key never answers another's request.
create table leaderboard_idempotency (
  tenant_id bigint not null,
  project_id bigint not null,
  caller text collate "C" not null check (char_length(caller) between 1 and 40),
  key text collate "C" not null check (char_length(key) between 1 and 255),
  -- SHA-256 of the request (board and body), so a reused key with another request is refused, not replayed.
  request_hash bytea not null check (octet_length(request_hash) = 32),
  response jsonb,
  created_at timestamptz not null default now(),
  constraint leaderboard_idempotency_pkey primary key (tenant_id, project_id, caller, key),
  constraint leaderboard_idempotency_project_fkey foreign key (tenant_id, project_id) references projects (tenant_id, id) on delete cascade
);
-- The 24-hour purge runs across tenants on the operator path, so this index cannot lead with tenant_id.
create index leaderboard_idempotency_created_idx on leaderboard_idempotency (created_at);
-- Likewise the purge of deleted boards' records looks the tombstones up across tenants.
create index leaderboards_deleted_idx on leaderboards (deleted_at) where deleted_at is not null;

select ggscale_isolate('leaderboards');
select ggscale_isolate('leaderboard_records');
select ggscale_isolate('leaderboard_idempotency');

grant select, insert, delete on leaderboards to ggscale_app;
grant update (deleted_at) on leaderboards to ggscale_app;
grant select, insert, update, delete on leaderboard_records, leaderboard_idempotency to ggscale_app;
grant usage on sequence leaderboard_record_seq to ggscale_app;
