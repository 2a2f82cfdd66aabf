-- Usage metering (docs/api/usage.md): one row per project, meter and UTC hour, and the exact monthly active
-- players (one row per player per UTC calendar month). Nodes write through the operator path in their
-- periodic flush; ggscale_app may only read, through the tenant isolation policy.

create table usage_hourly (
  tenant_id  bigint not null,
  project_id bigint not null,
  meter      text collate "C" not null check (meter in ('mau', 'requests', 'messages', 'storage_bytes', 'ccu_peak', 'server_seconds')),
  -- The start of the UTC hour.
  hour       timestamptz not null check (hour = date_trunc('hour', hour, 'UTC')),
  value      bigint not null check (value >= 0),
  primary key (tenant_id, project_id, meter, hour),
  foreign key (tenant_id, project_id) references projects (tenant_id, id) on delete cascade
);
-- The usage endpoint reads a tenant's hours in a range, across its projects.
create index usage_hourly_tenant_hour_idx on usage_hourly (tenant_id, hour);
select ggscale_isolate('usage_hourly');
grant select on usage_hourly to ggscale_app;

create table usage_mau (
  tenant_id  bigint not null,
  project_id bigint not null,
  -- The first day of the UTC calendar month.
  month      date not null check (extract(day from month) = 1),
  player_id  bigint not null,
  -- When the player was first counted that month: its hour holds the player in usage_hourly's mau.
  first_at   timestamptz not null,
  primary key (tenant_id, project_id, month, player_id),
  -- No foreign key to players: a player deleted before the flush must not make the flush fail for ever.
  foreign key (tenant_id, project_id) references projects (tenant_id, id) on delete cascade
);
select ggscale_isolate('usage_mau');
grant select on usage_mau to ggscale_app;

-- The flushes already applied, by the id a node drew for the batch: a flush retried after an ambiguous
-- failure (the commit happened, its answer was lost) is applied once. Kept a day, written by nodes only.
create table usage_flushes (
  id         uuid primary key,
  applied_at timestamptz not null default now()
);
create index usage_flushes_applied_idx on usage_flushes (applied_at);

-- A tenant's own ccu_peak: its lease set counts the tenant's open sockets, which is not the sum of its
-- projects' peaks (they peak at different times). The other meters of a tenant are the sum of its projects.
create table usage_tenant_hourly (
  tenant_id  bigint not null references tenants (id) on delete cascade,
  meter      text collate "C" not null check (meter in ('ccu_peak')),
  hour       timestamptz not null check (hour = date_trunc('hour', hour, 'UTC')),
  value      bigint not null check (value >= 0),
  primary key (tenant_id, meter, hour)
);
select ggscale_isolate('usage_tenant_hourly', false);
grant select on usage_tenant_hourly to ggscale_app;

-- server_seconds recomputes the open hours from the allocations that overlap them: those still running
-- (ended_at null) or ended within the open hours. Both are a range of this index.
create index fleet_allocations_ended_idx on fleet_allocations (ended_at);
