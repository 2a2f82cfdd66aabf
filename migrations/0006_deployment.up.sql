-- This deployment's identity: one row, made once by the database itself. Its namespace is put in front of
-- every Redis key and pub/sub channel ggscale uses, so two deployments that share one Redis (staging and
-- production, say) never share state even though their ids coincide; when GGSCALE_PUBLIC_URL is unset the
-- access tokens' issuer is derived from it, so every node of the deployment agrees on it. It is data: a
-- restored or copied database keeps it, a database migrated from nothing makes a new one.
-- 16 hex digits (64 bits) of md5 over a random UUID: short, as every key carries it, and collision-safe.
create table deployment (
  singleton boolean primary key default true check (singleton),
  namespace text not null check (namespace ~ '^[0-9a-f]{16}$'),
  created_at timestamptz not null default now()
);
insert into deployment (namespace) values (substr(md5(gen_random_uuid()::text), 1, 16));

-- Not tenant data (no tenant_id, so no row-level security): every node reads the one row at start.
-- The runtime role may read it and nothing else; only the owner could change it, and nothing does.
grant select on deployment to ggscale_app;
