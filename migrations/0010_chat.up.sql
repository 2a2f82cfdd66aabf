-- Chat (docs/api/chat.md): the messages of room:, dm: and party: channels, kept until their sender deletes
-- them, a secret key moderates them, or the project's retention passes. Project data like the rest:
-- tenant_id + project_id, RLS enabled and forced (ggscale_isolate, 0001), composite keys that start with them.

-- One row per channel that ever had a message: its last seq. A send updates it (update ... returning) in the
-- transaction that inserts the message, so a channel's seqs start at 1, grow by 1 in commit order (the row
-- lock serialises concurrent sends) and are never reused, even after the messages are deleted.
create table chat_channels (
  tenant_id bigint not null,
  project_id bigint not null,
  -- The canonical channel id: room:<name>, dm:<a>:<b> (a < b byte-wise) or party:<id>.
  channel text collate "C" not null check (channel ~ '^(room|dm|party):' and octet_length(channel) <= 128),
  last_seq bigint not null default 0 check (last_seq >= 0),
  constraint chat_channels_pkey primary key (tenant_id, project_id, channel),
  constraint chat_channels_project_fkey foreign key (tenant_id, project_id) references projects (tenant_id, id) on delete cascade
);

create table chat_messages (
  tenant_id bigint not null,
  project_id bigint not null,
  channel text collate "C" not null,
  seq bigint not null check (seq >= 1),
  -- No foreign key to players: a message outlives its sender (the username is read at display time).
  sender_id bigint not null,
  -- Exactly one of text (1-4,096 bytes) and data (any JSON value, at most 4,096 bytes as the sender sent it).
  text text check (octet_length(text) between 1 and 4096),
  data jsonb,
  created_at timestamptz not null default now(),
  constraint chat_messages_one_body check ((text is null) <> (data is null)),
  -- Also history in both directions (a channel's messages by seq).
  constraint chat_messages_pkey primary key (tenant_id, project_id, channel, seq),
  constraint chat_messages_channel_fkey foreign key (tenant_id, project_id, channel)
    references chat_channels (tenant_id, project_id, channel) on delete cascade
);
-- The retention purge (operator path) probes each project for its messages past that project's retention.
create index chat_messages_created_idx on chat_messages (tenant_id, project_id, created_at);

select ggscale_isolate('chat_channels');
select ggscale_isolate('chat_messages');

-- The request path creates channels, draws seqs, inserts, reads history and deletes single messages; the
-- retention purge runs on the operator path and needs nothing here.
grant select, insert on chat_channels to ggscale_app;
grant update (last_seq) on chat_channels to ggscale_app;
grant select, insert, delete on chat_messages to ggscale_app;
