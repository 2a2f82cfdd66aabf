drop table if exists chat_messages;
drop table if exists chat_channels;
