-- The matchmaker (docs/api/matchmaker.md): pools, the tickets that search in them, and the matches formed from
-- them. Project data like the rest: tenant_id + project_id, RLS enabled and forced (ggscale_isolate, 0001),
-- composite keys that start with them.

-- A pool's rules are one JSON document (validated by the API schema, read whole by the matcher), so a PATCH
-- of any rule is one update and a new rule is no new column.
create table matchmaker_pools (
  tenant_id bigint not null,
  project_id bigint not null,
  id text collate "C" not null check (id ~ '^[a-z0-9_-]{1,64}$'),
  rules jsonb not null check (jsonb_typeof(rules) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint matchmaker_pools_pkey primary key (tenant_id, project_id, id),
  constraint matchmaker_pools_project_fkey foreign key (tenant_id, project_id) references projects (tenant_id, id) on delete cascade
);

-- A match: created when the matcher forms a group (state 'held' while its game server is allocated; the id is
-- the allocation's Idempotency-Key), then 'ready' once the allocation is made, or 'dissolved' when it could
-- not be. Only ready matches are visible through the API.
create table matchmaker_matches (
  tenant_id bigint not null,
  project_id bigint not null,
  id bigint generated always as identity primary key,
  pool_id text collate "C" not null,
  state text collate "C" not null check (state in ('held', 'ready', 'dissolved')),
  region text collate "C" not null check (octet_length(region) between 1 and 32),
  -- [{index, players: [{player_id, ticket_id}]}]: the teams as formed (usernames are read at display time).
  teams jsonb not null check (jsonb_typeof(teams) = 'array'),
  properties jsonb not null default '{}'::jsonb check (jsonb_typeof(properties) = 'object'),
  allocation_id bigint,
  address text check (char_length(address) <= 255),
  ports jsonb not null default '[]'::jsonb,
  -- When the held group stops being retried (MATCHMAKER_ALLOCATION_TIMEOUT_SECONDS after it formed).
  allocate_until timestamptz not null,
  -- The next allocation attempt of a held group (after the fleet's Retry-After).
  retry_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  ended_at timestamptz,
  constraint matchmaker_matches_scope_id_key unique (tenant_id, project_id, id),
  constraint matchmaker_matches_project_fkey foreign key (tenant_id, project_id) references projects (tenant_id, id) on delete cascade
);
create index matchmaker_matches_held_idx on matchmaker_matches (tenant_id, project_id, pool_id, retry_at) where state = 'held';
create index matchmaker_matches_created_idx on matchmaker_matches (tenant_id, project_id, pool_id, created_at) where state = 'ready';

create table matchmaker_tickets (
  tenant_id bigint not null,
  project_id bigint not null,
  id bigint generated always as identity primary key,
  -- No foreign key to the pool: a ticket outlives a deleted pool (ended 'cancelled', reason 'pool-deleted').
  pool_id text collate "C" not null,
  state text collate "C" not null check (state in ('searching', 'matched', 'cancelled', 'expired')),
  players bigint[] not null check (cardinality(players) between 1 and 100),
  party_id text collate "C" check (octet_length(party_id) between 1 and 64),
  skill double precision not null,
  regions jsonb not null check (jsonb_typeof(regions) = 'array'),
  properties jsonb not null default '{}'::jsonb check (jsonb_typeof(properties) = 'object'),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  -- The held group (a match in state 'held') this searching ticket is in, while its server is allocated:
  -- the compare-and-set that claims a ticket sets it only where it is null, so no ticket joins two groups.
  held_by bigint,
  match_id bigint,
  ended_reason text collate "C" check (ended_reason in ('cancelled', 'max-wait', 'pool-deleted', 'fleet-missing', 'plan-limit')),
  ended_at timestamptz,
  constraint matchmaker_tickets_scope_id_key unique (tenant_id, project_id, id),
  constraint matchmaker_tickets_project_fkey foreign key (tenant_id, project_id) references projects (tenant_id, id) on delete cascade,
  constraint matchmaker_tickets_ended check ((state in ('searching', 'matched')) = (ended_reason is null))
-- Room on each page for a row's next version: claiming a ticket (held_by, in no index) is then a HOT update
-- that touches none of the table's indexes, which is most of a large pass's hold.
) with (fillfactor = 70);
-- The matcher's read: a pool's searching tickets, oldest first.
create index matchmaker_tickets_searching_idx on matchmaker_tickets (tenant_id, project_id, pool_id, created_at, id) where state = 'searching';
-- A party's searching ticket (a change of the party's members cancels it).
create index matchmaker_tickets_party_idx on matchmaker_tickets (tenant_id, project_id, party_id) where state = 'searching' and party_id is not null;
-- Expiry and the retention purge.
create index matchmaker_tickets_expiry_idx on matchmaker_tickets (expires_at) where state = 'searching';
create index matchmaker_tickets_created_idx on matchmaker_tickets (tenant_id, project_id, created_at);

-- One row per player of a ticket: a player's tickets newest first, and at most one active ticket per player
-- (the unique index refuses a second; a ticket's rows stop being active when it ends).
create table matchmaker_ticket_players (
  tenant_id bigint not null,
  project_id bigint not null,
  player_id bigint not null,
  ticket_id bigint not null,
  active boolean not null default true,
  constraint matchmaker_ticket_players_pkey primary key (tenant_id, project_id, player_id, ticket_id),
  constraint matchmaker_ticket_players_player_fkey foreign key (tenant_id, project_id, player_id)
    references players (tenant_id, project_id, id) on delete cascade,
  constraint matchmaker_ticket_players_ticket_fkey foreign key (tenant_id, project_id, ticket_id)
    references matchmaker_tickets (tenant_id, project_id, id) on delete cascade
);
create unique index matchmaker_ticket_players_active_key on matchmaker_ticket_players (tenant_id, project_id, player_id) where active;
create index matchmaker_ticket_players_ticket_idx on matchmaker_ticket_players (tenant_id, project_id, ticket_id);

select ggscale_isolate('matchmaker_pools');
select ggscale_isolate('matchmaker_matches');
select ggscale_isolate('matchmaker_tickets');
select ggscale_isolate('matchmaker_ticket_players');

grant select, insert, update, delete on matchmaker_pools to ggscale_app;
grant select, insert, update, delete on matchmaker_matches to ggscale_app;
grant select, insert, update, delete on matchmaker_tickets to ggscale_app;
grant select, insert, update, delete on matchmaker_ticket_players to ggscale_app;
