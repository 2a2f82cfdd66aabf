drop table if exists fleet_allocations;
drop table if exists fleets;
