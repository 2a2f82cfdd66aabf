-- The identity's sequence goes with the table.
drop table if exists notifications;
