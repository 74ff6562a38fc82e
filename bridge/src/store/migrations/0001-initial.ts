import type { Migration } from './migration';

/**
 * Schema v1: all bridge state. Times are timestamptz; payloads jsonb. Statements are listed one by one
 * because PGlite's parameterised query path runs a single statement at a time.
 */
export const initialSchema: Migration = {
    version: 1,
    name: 'initial',
    statements: [
        `CREATE TABLE conversations (
            key text PRIMARY KEY,
            business_id text NOT NULL,
            user_id text NOT NULL,
            conversation_no text NOT NULL,
            channel text,
            case_id text,
            case_number text,
            context jsonb NOT NULL DEFAULT '{}'::jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        )`,
        `CREATE INDEX conversations_user_idx ON conversations (business_id, user_id)`,
        `CREATE INDEX conversations_case_idx ON conversations (case_id) WHERE case_id IS NOT NULL`,

        `CREATE TABLE handover_sessions (
            id text PRIMARY KEY,
            conversation_key text NOT NULL REFERENCES conversations (key),
            adapter text NOT NULL CHECK (adapter IN ('enhanced', 'legacy')),
            state text NOT NULL,
            state_reason text,
            adapter_state jsonb NOT NULL DEFAULT '{}'::jsonb,
            last_event_id text,
            agent_name text,
            salesforce_session_id text,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            ended_at timestamptz
        )`,
        // At most one live handover per conversation; 'ended' and 'failed' are the terminal states.
        `CREATE UNIQUE INDEX handover_sessions_one_active_idx ON handover_sessions (conversation_key)
            WHERE state NOT IN ('ended', 'failed')`,
        `CREATE INDEX handover_sessions_conversation_idx ON handover_sessions (conversation_key, created_at)`,
        `CREATE INDEX handover_sessions_sf_session_idx ON handover_sessions (salesforce_session_id)
            WHERE salesforce_session_id IS NOT NULL`,

        `CREATE TABLE message_log (
            id bigserial PRIMARY KEY,
            conversation_key text NOT NULL,
            handover_id text REFERENCES handover_sessions (id),
            direction text NOT NULL CHECK (direction IN ('in', 'out')),
            sender text NOT NULL CHECK (sender IN ('user', 'bot', 'agent', 'system')),
            text text NOT NULL,
            hsl jsonb,
            external_id text,
            created_at timestamptz NOT NULL DEFAULT now()
        )`,
        // A replayed message (same external id, same direction) is stored once.
        `CREATE UNIQUE INDEX message_log_external_idx ON message_log (conversation_key, direction, external_id)
            WHERE external_id IS NOT NULL`,
        `CREATE INDEX message_log_conversation_idx ON message_log (conversation_key, id)`,

        `CREATE TABLE inbound_events (
            source text NOT NULL,
            event_id text NOT NULL,
            payload jsonb NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            processed_at timestamptz,
            error text,
            PRIMARY KEY (source, event_id)
        )`,
        `CREATE INDEX inbound_events_unprocessed_idx ON inbound_events (received_at) WHERE processed_at IS NULL`,

        `CREATE TABLE idempotency_keys (
            scope text NOT NULL,
            key text NOT NULL,
            result jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (scope, key)
        )`,

        `CREATE TABLE outbox_jobs (
            id bigserial PRIMARY KEY,
            kind text NOT NULL,
            ordering_key text NOT NULL,
            payload jsonb NOT NULL,
            idempotency_key text UNIQUE,
            state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'dead')),
            attempts integer NOT NULL DEFAULT 0,
            run_at timestamptz,
            locked_until timestamptz,
            locked_by text,
            last_error text,
            last_error_code text,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz
        )`,
        `CREATE INDEX outbox_jobs_open_idx ON outbox_jobs (id) WHERE state IN ('pending', 'running')`,
        `CREATE INDEX outbox_jobs_open_key_idx ON outbox_jobs (ordering_key, id) WHERE state IN ('pending', 'running')`,
        `CREATE INDEX outbox_jobs_dead_idx ON outbox_jobs (id) WHERE state = 'dead'`
    ]
};
