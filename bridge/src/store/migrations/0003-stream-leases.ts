import type { Migration } from './migration';

/**
 * Schema v3: several bridge instances share one database (issue 10). Each instance keeps a heartbeat
 * row; each active handover's Salesforce event stream belongs to one instance (`stream_owner`), and
 * `stream_epoch` goes up whenever the stream changes hands, so a paused old owner that wakes up finds
 * a different epoch on the row it locks and stops instead of acting. Epoch 0 means "no stream yet"
 * (the chat is still being opened); an open chat whose owner is NULL or whose owner's heartbeat ran
 * out is free for any instance to take over.
 */
export const streamLeases: Migration = {
    version: 3,
    name: 'stream-leases',
    statements: [
        `CREATE TABLE bridge_instances (
            id text PRIMARY KEY,
            started_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL
        )`,
        `ALTER TABLE handover_sessions ADD COLUMN stream_owner text`,
        `ALTER TABLE handover_sessions ADD COLUMN stream_epoch bigint NOT NULL DEFAULT 0`,
        // Chats opened before this version have a stream that nobody owns yet: the first instance takes it.
        `UPDATE handover_sessions SET stream_epoch = 1
            WHERE state NOT IN ('ended', 'failed')
              AND (adapter_state -> 'core' -> 'machine' ->> 'chatOpened') = 'true'`,
        // Outbox jobs that must run where a chat's stream is read (outbox.ts `streamId`).
        `ALTER TABLE outbox_jobs ADD COLUMN stream_id text`,
        `CREATE INDEX handover_sessions_stream_idx ON handover_sessions (stream_owner, id)
            WHERE state NOT IN ('ended', 'failed') AND stream_epoch > 0`
    ]
};
