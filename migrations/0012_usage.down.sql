drop table if exists usage_flushes;
drop table if exists usage_mau;
drop table if exists usage_hourly;
