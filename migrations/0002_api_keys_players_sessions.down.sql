drop function if exists resolve_api_key(bytea);
drop table if exists signing_keys;
drop table if exists refresh_tokens;
drop table if exists sessions;
drop table if exists identities;
drop table if exists players;
drop table if exists api_keys;
