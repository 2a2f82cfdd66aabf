drop function if exists ggscale_isolate(regclass, boolean);
drop table if exists projects;
drop table if exists tenants;
-- ggscale_app is cluster-wide and may serve other databases: it is left in place.
