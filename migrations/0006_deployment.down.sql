drop table if exists deployment;
