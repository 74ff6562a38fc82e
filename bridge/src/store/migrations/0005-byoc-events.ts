import type { Migration } from './migration';

/**
 * Schema v5 (issue 19): Bring Your Own Channel. The org's agent-side events arrive on ONE Pub/Sub
 * subscription (one platform event topic for every chat), held by one bridge instance at a time.
 *
 * `byoc_subscriptions` is that subscription's lease and position: the holder (`owner`) renews `expires_at`;
 * another instance takes it over once it ran out or was handed back (owner NULL), bumping `epoch`, so a holder
 * that was paused and wakes up finds its epoch gone and stops. `replay_id` is the last event written to
 * `byoc_events`, in the same transaction as that event, so a new holder resumes exactly after it: nothing
 * lost, nothing twice (Pub/Sub's replay from a stored id). Before the very first event or keep-alive there is
 * no replay id to resume from; `reading_since` then says the holder's stream is open, and chats are opened
 * only once one of the two is there (an event published before that would be lost to a subscription at the tip).
 *
 * `byoc_events` hands each event to whichever instance reads that chat's stream (the per-chat stream lease of
 * schema v3): `seq` is the chat stream's cursor, `end_user_id` the event's recipient (the chat), and
 * (topic, replay_id) keeps a redelivered event from being written twice. Rows are pruned after a day.
 */
export const byocEvents: Migration = {
    version: 5,
    name: 'byoc-events',
    statements: [
        `CREATE TABLE byoc_subscriptions (
            topic text PRIMARY KEY,
            owner text,
            epoch bigint NOT NULL DEFAULT 0,
            replay_id bigint,
            reading_since timestamptz,
            expires_at timestamptz NOT NULL DEFAULT now()
        )`,
        `CREATE TABLE byoc_events (
            seq bigserial PRIMARY KEY,
            topic text NOT NULL,
            replay_id bigint NOT NULL,
            end_user_id text NOT NULL,
            payload jsonb NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (topic, replay_id)
        )`,
        `CREATE INDEX byoc_events_user_idx ON byoc_events (end_user_id, seq)`,
        // A handover's adapter may now be the third one.
        `ALTER TABLE handover_sessions DROP CONSTRAINT handover_sessions_adapter_check`,
        `ALTER TABLE handover_sessions ADD CONSTRAINT handover_sessions_adapter_check
            CHECK (adapter IN ('enhanced', 'legacy', 'byoc'))`
    ]
};
