-- Tenancy and player auth: API keys, players, their identities, sessions (refresh-token families) and the
-- access-token signing keys. Every tenant table: tenant_id + project_id, RLS enabled and forced, the one
-- isolation policy (ggscale_isolate, migration 0001), composite unique keys and foreign keys.

create table api_keys (
  tenant_id bigint not null,
  project_id bigint not null,
  id bigint generated always as identity primary key,
  kind text not null check (kind in ('secret', 'publishable')),
  name text not null check (char_length(name) between 1 and 100),
  -- SHA-256 of the whole key; the key itself is shown once and never stored.
  key_hash bytea not null check (octet_length(key_hash) = 32),
  prefix text not null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz,
  constraint api_keys_scope_id_key unique (tenant_id, project_id, id),
  constraint api_keys_project_fkey foreign key (tenant_id, project_id) references projects (tenant_id, id) on delete cascade
);
-- Resolution looks a hash up before the tenant is known (through resolve_api_key only). A 256-bit hash
-- cannot collide, and nothing but that function can probe this index.
create index api_keys_key_hash_idx on api_keys (key_hash);

create table players (
  tenant_id bigint not null,
  project_id bigint not null,
  id bigint generated always as identity primary key,
  email text check (char_length(email) <= 320),
  username text check (char_length(username) between 1 and 64),
  banned_at timestamptz,
  created_at timestamptz not null default now(),
  constraint players_scope_id_key unique (tenant_id, project_id, id),
  constraint players_project_fkey foreign key (tenant_id, project_id) references projects (tenant_id, id) on delete cascade
);
-- Case-insensitive uniqueness per project. NULL means "none" here (device players have no email), so these
-- are partial indexes rather than NULLS NOT DISTINCT.
create unique index players_email_key on players (tenant_id, project_id, lower(email)) where email is not null;
create unique index players_username_key on players (tenant_id, project_id, lower(username)) where username is not null;

create table identities (
  tenant_id bigint not null,
  project_id bigint not null,
  id bigint generated always as identity primary key,
  player_id bigint not null,
  provider text not null check (provider in ('email', 'device')),
  -- lower(email) for email, the device id for device.
  subject text not null check (char_length(subject) between 1 and 320),
  -- argon2id PHC string for email identities.
  secret_hash text,
  created_at timestamptz not null default now(),
  constraint identities_subject_key unique (tenant_id, project_id, provider, subject),
  constraint identities_player_fkey foreign key (tenant_id, project_id, player_id)
    references players (tenant_id, project_id, id) on delete cascade
);
create index identities_player_idx on identities (tenant_id, project_id, player_id);

-- A session is one sign-in: a family of refresh tokens, each used once (RFC 9700 §4.14).
create table sessions (
  tenant_id bigint not null,
  project_id bigint not null,
  id uuid primary key,
  player_id bigint not null,
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  constraint sessions_scope_id_key unique (tenant_id, project_id, id),
  constraint sessions_player_fkey foreign key (tenant_id, project_id, player_id)
    references players (tenant_id, project_id, id) on delete cascade
);
create index sessions_player_idx on sessions (tenant_id, project_id, player_id);

create table refresh_tokens (
  tenant_id bigint not null,
  project_id bigint not null,
  id bigint generated always as identity primary key,
  session_id uuid not null,
  token_hash bytea not null check (octet_length(token_hash) = 32),
  parent_id bigint,
  -- When it was exchanged; a second use after the grace window revokes the session.
  used_at timestamptz,
  -- The access token issued with this refresh token (re-signed identically for a retried refresh).
  access_issued_at timestamptz not null,
  access_expires_at timestamptz not null,
  access_kid text not null,
  -- The successor refresh token, sealed with a key derived from THIS token: a retry within the grace window
  -- (which must present this token) gets the same successor back, and a database dump alone reveals nothing.
  successor_sealed text,
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  constraint refresh_tokens_hash_key unique (tenant_id, project_id, token_hash),
  constraint refresh_tokens_session_fkey foreign key (tenant_id, project_id, session_id)
    references sessions (tenant_id, project_id, id) on delete cascade
);
create index refresh_tokens_session_idx on refresh_tokens (tenant_id, project_id, session_id);

select ggscale_isolate('api_keys');
select ggscale_isolate('players');
select ggscale_isolate('identities');
select ggscale_isolate('sessions');
select ggscale_isolate('refresh_tokens');

grant select, update (last_used_at) on api_keys to ggscale_app;
grant select, insert, update, delete on players, identities, sessions, refresh_tokens to ggscale_app;

-- Access-token signing keys: not tenant data. Only the operator path reads them.
create table signing_keys (
  kid text primary key,
  algorithm text not null default 'EdDSA',
  public_jwk jsonb not null,
  -- PKCS#8 PEM, or "enc:v1:..." (AES-256-GCM under GGSCALE_SECRET_KEY).
  private_key text not null,
  created_at timestamptz not null default now(),
  -- Published in the JWKS from created_at; signs from activates_at; published until retired_at + token TTL.
  activates_at timestamptz not null,
  retired_at timestamptz
);

-- The request path's only cross-tenant read: an API key hash → ids and flags. Owned by the migrating
-- (owner) role; returns nothing about keys but the one whose hash was given.
create function resolve_api_key(p_key_hash bytea)
returns table (key_id bigint, tenant_id bigint, project_id bigint, kind text, revoked boolean)
language sql stable security definer set search_path = pg_catalog, public as $$
  select k.id, k.tenant_id, k.project_id, k.kind, k.revoked_at is not null
    from public.api_keys k
   where k.key_hash = p_key_hash
   limit 1
$$;
revoke all on function resolve_api_key(bytea) from public;
grant execute on function resolve_api_key(bytea) to ggscale_app;
