drop table if exists leaderboard_idempotency;
drop table if exists leaderboard_records;
drop table if exists leaderboards;
drop sequence if exists leaderboard_record_seq;
