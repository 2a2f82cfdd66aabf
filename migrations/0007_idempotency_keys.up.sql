-- Idempotency-Key (docs/api/conventions.md), one table for every route that honours it: the first answer to
-- a key, replayed for 24 h. It replaces leaderboard_idempotency (0004) and fleet_allocations' idempotency_key
-- and request_hash (0005), so the routes that come next reuse one implementation instead of adding a third.
-- Project data like the rest: tenant_id + project_id, RLS enabled and forced (ggscale_isolate, 0001), a
-- composite key that starts with them and a foreign key to the project.
create table idempotency_keys (
  tenant_id bigint not null,
  project_id bigint not null,
  -- The route that honours the key: the same key sent to two routes is two keys.
  operation text collate "C" not null check (operation ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  -- Whose key it is within the project, as the route decides ('player:<id>' or 'secret' for score submits,
  -- 'project' for allocations), so one caller's key never answers another's request.
  caller text collate "C" not null check (char_length(caller) between 1 and 64),
  -- 1–255 printable ASCII characters, as the header parser (src/http/idempotency-key.ts) accepts.
  key text collate "C" not null check (key ~ '^[ -~]{1,255}$'),
  -- SHA-256 of the canonical request, so a reused key with another request is refused, not replayed.
  request_hash bytea not null check (octet_length(request_hash) = 32),
  -- The first answer; null while the request that claimed the key has not answered yet (an allocation
  -- commits its claim before it asks the backend for a server, a score submit commits both at once).
  answer jsonb,
  -- When the key was claimed: it answers for 24 h from then, and a claim older than that is taken over.
  created_at timestamptz not null default now(),
  constraint idempotency_keys_pkey primary key (tenant_id, project_id, operation, caller, key),
  constraint idempotency_keys_project_fkey foreign key (tenant_id, project_id) references projects (tenant_id, id) on delete cascade
);
-- The 24-hour purge runs across tenants on the operator path, so this index cannot lead with tenant_id.
create index idempotency_keys_created_idx on idempotency_keys (created_at);

select ggscale_isolate('idempotency_keys');

-- The request path claims (insert, or take an expired row over), answers, amends and gives keys back
-- (delete); the purge runs on the operator path and needs nothing here.
grant select, insert, delete on idempotency_keys to ggscale_app;
grant update (request_hash, answer, created_at) on idempotency_keys to ggscale_app;

-- The keys still answering move over (the migrating role bypasses row-level security, so these statements
-- see every tenant's rows). Request hashes carry over unchanged: both routes hash the same canonical JSON
-- as before, so a retry that straddles the upgrade still replays.
insert into idempotency_keys (tenant_id, project_id, operation, caller, key, request_hash, answer, created_at)
select tenant_id, project_id, 'leaderboards.submit', caller, key, request_hash, response, created_at
  from leaderboard_idempotency
 where response is not null and created_at > now() - interval '24 hours';
drop table leaderboard_idempotency;

-- An allocation's key answers with the allocation itself: the route reads it back by id, as it did. A
-- Pending allocation's key is left behind: that request is cut off by the upgrade, and the reconciler
-- drops its row, which freed the key before too.
insert into idempotency_keys (tenant_id, project_id, operation, caller, key, request_hash, answer, created_at)
select tenant_id, project_id, 'fleet.allocate', 'project', idempotency_key, request_hash,
       jsonb_build_object('allocation_id', id::text), created_at
  from fleet_allocations
 where idempotency_key is not null and request_hash is not null and state <> 'Pending'
   and created_at > now() - interval '24 hours';
-- The runtime role's column grant on idempotency_key goes with the column.
drop index fleet_allocations_idempotency_key;
alter table fleet_allocations drop column idempotency_key, drop column request_hash;
