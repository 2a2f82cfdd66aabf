drop table if exists storage_usage;
drop table if exists storage_objects;
