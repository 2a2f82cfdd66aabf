drop index if exists fleet_allocations_ended_idx;
drop table if exists usage_tenant_hourly;
