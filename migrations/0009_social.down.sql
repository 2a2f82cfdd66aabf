drop table if exists friend_relations;
