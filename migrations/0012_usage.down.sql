drop index if exists fleet_allocations_ended_idx;
drop table if exists usage_tenant_hourly;
drop table if exists usage_flushes;
drop table if exists usage_mau;
drop table if exists usage_hourly;
