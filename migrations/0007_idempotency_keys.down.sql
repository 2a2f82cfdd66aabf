-- Back to 0004's leaderboard_idempotency and 0005's idempotency columns on fleet_allocations, with the keys
-- that still answer carried back (the migrating role bypasses row-level security).
create table leaderboard_idempotency (
  tenant_id bigint not null,
  project_id bigint not null,
  caller text collate "C" not null check (char_length(caller) between 1 and 40),
  key text collate "C" not null check (char_length(key) between 1 and 255),
  request_hash bytea not null check (octet_length(request_hash) = 32),
  response jsonb,
  created_at timestamptz not null default now(),
  constraint leaderboard_idempotency_pkey primary key (tenant_id, project_id, caller, key),
  constraint leaderboard_idempotency_project_fkey foreign key (tenant_id, project_id) references projects (tenant_id, id) on delete cascade
);
create index leaderboard_idempotency_created_idx on leaderboard_idempotency (created_at);
select ggscale_isolate('leaderboard_idempotency');
grant select, insert, update, delete on leaderboard_idempotency to ggscale_app;

insert into leaderboard_idempotency (tenant_id, project_id, caller, key, request_hash, response, created_at)
select tenant_id, project_id, caller, key, request_hash, answer, created_at
  from idempotency_keys
 where operation = 'leaderboards.submit' and answer is not null and char_length(caller) <= 40;

-- The columns come back at the end of the table (column order is not part of the old shape any code reads).
alter table fleet_allocations
  add column idempotency_key text check (char_length(idempotency_key) between 1 and 255),
  add column request_hash bytea check (octet_length(request_hash) = 32);
update fleet_allocations a
   set idempotency_key = k.key, request_hash = k.request_hash
  from idempotency_keys k
 where k.operation = 'fleet.allocate' and k.answer ? 'allocation_id'
   and a.tenant_id = k.tenant_id and a.project_id = k.project_id and a.id = (k.answer ->> 'allocation_id')::bigint;
create unique index fleet_allocations_idempotency_key on fleet_allocations (tenant_id, project_id, idempotency_key)
  where idempotency_key is not null;
grant update (idempotency_key) on fleet_allocations to ggscale_app;

drop table idempotency_keys;
