drop table if exists matchmaker_ticket_players;
drop table if exists matchmaker_tickets;
drop table if exists matchmaker_matches;
drop table if exists matchmaker_pools;
