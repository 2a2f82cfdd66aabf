-- The runtime role for tenant work: no login, not superuser, no BYPASSRLS, owns nothing.
-- withTenant switches to it for every tenant transaction (set_config('role', 'ggscale_app', true)).
-- Roles are cluster-wide, so another database of the same cluster may have created it already.
do $$
begin
  create role ggscale_app nologin nosuperuser nobypassrls nocreatedb nocreaterole noinherit;
exception
  when duplicate_object or unique_violation then null;
end
$$;

-- The login role of DATABASE_URL must be able to switch to ggscale_app. A superuser always can; any other
-- migrating role is made a member (in production DATABASE_URL's role is itself only a member).
do $$
begin
  if not (select rolsuper from pg_roles where rolname = current_user) then
    execute format('grant ggscale_app to %I', current_user);
  end if;
end
$$;

grant usage on schema public to ggscale_app;

-- Studios. Only the operator path reads this table: ggscale_app has no grant on it at all.
create table tenants (
  id bigint generated always as identity primary key,
  name text not null check (char_length(name) between 1 and 100),
  created_at timestamptz not null default now()
);
create unique index tenants_name_key on tenants (name);

-- Games. A project row is visible only inside its own tenant AND project scope.
create table projects (
  tenant_id bigint not null references tenants (id) on delete cascade,
  id bigint generated always as identity primary key,
  name text not null check (char_length(name) between 1 and 100),
  settings jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  -- Composite keys: project-scoped tables reference (tenant_id, id), never id alone.
  constraint projects_tenant_id_id_key unique (tenant_id, id),
  constraint projects_tenant_id_name_key unique (tenant_id, name)
);

alter table projects enable row level security;
alter table projects force row level security;
create policy tenant_isolation on projects
  using (
    tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::bigint)
    and id = (select nullif(current_setting('app.project_id', true), '')::bigint)
  )
  with check (
    tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::bigint)
    and id = (select nullif(current_setting('app.project_id', true), '')::bigint)
  );
grant select on projects to ggscale_app;

-- Every tenant table gets the same isolation: RLS enabled AND forced (owners too), one policy that fails
-- closed (a missing setting is NULL; nullif turns the '' left by an earlier transaction into NULL), and for
-- project tables the project too. Later migrations call this instead of repeating the policy text.
create function ggscale_isolate(p_table regclass, p_project_scoped boolean default true)
returns void language plpgsql as $$
declare
  tenant_check text := $q$tenant_id = (select nullif(current_setting('app.tenant_id', true), '')::bigint)$q$;
  project_check text := $q$ and project_id = (select nullif(current_setting('app.project_id', true), '')::bigint)$q$;
  predicate text;
begin
  predicate := tenant_check || case when p_project_scoped then project_check else '' end;
  execute format('alter table %s enable row level security', p_table);
  execute format('alter table %s force row level security', p_table);
  execute format('create policy tenant_isolation on %s using (%s) with check (%s)', p_table, predicate, predicate);
end
$$;
revoke all on function ggscale_isolate(regclass, boolean) from public;
