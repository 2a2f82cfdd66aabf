-- The social graph (docs/api/social.md): friendships, friend requests and blocks between two players of a
-- project. Project data like the rest: tenant_id + project_id, RLS enabled and forced (ggscale_isolate, 0001),
-- a composite key that starts with them and foreign keys to both players.
--
-- One row per direction: (player_id, other_id) holds the relation as player_id sees other_id. A friendship or
-- a request is two rows written together (friend/friend, invite_sent/invite_received); a block is one row on
-- the blocker's side only, because the blocked player must see nothing (no row, the same as no relation).
-- Each player's own view, its listing order and its counts for the limits are then reads of its own rows by
-- the primary key's prefix. The request path keeps the two rows of a pair consistent by taking both players'
-- advisory locks (in key order) before it reads them, inside one transaction.
create table friend_relations (
  tenant_id bigint not null,
  project_id bigint not null,
  player_id bigint not null,
  other_id bigint not null,
  state text collate "C" not null check (state in ('friend', 'invite_received', 'invite_sent', 'blocked')),
  -- The listing order of the states (friend, invite_received, invite_sent, blocked), for the index below.
  state_rank smallint not null generated always as (
    case state when 'friend' then 1 when 'invite_received' then 2 when 'invite_sent' then 3 else 4 end
  ) stored,
  updated_at timestamptz not null default now(),
  constraint friend_relations_not_self check (player_id <> other_id),
  constraint friend_relations_pkey primary key (tenant_id, project_id, player_id, other_id),
  constraint friend_relations_project_fkey foreign key (tenant_id, project_id) references projects (tenant_id, id) on delete cascade,
  constraint friend_relations_player_fkey foreign key (tenant_id, project_id, player_id)
    references players (tenant_id, project_id, id) on delete cascade,
  constraint friend_relations_other_fkey foreign key (tenant_id, project_id, other_id)
    references players (tenant_id, project_id, id) on delete cascade
);
-- The listing: a player's relations by state, then by the other player's id compared byte-wise as text.
create index friend_relations_list_idx on friend_relations
  (tenant_id, project_id, player_id, state_rank, (other_id::text) collate "C");
-- The reverse side: who holds a row about a player (blockers of a player, the other player's cascade).
create index friend_relations_other_idx on friend_relations (tenant_id, project_id, other_id, state);

select ggscale_isolate('friend_relations');

grant select, insert, update, delete on friend_relations to ggscale_app;
