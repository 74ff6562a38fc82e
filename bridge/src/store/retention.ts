import type { Queryable } from './db';

/**
 * Retention: what the bridge keeps is personal data (payloads, messages, bot context) and grows with
 * every conversation, so rows past their period are deleted. Never deleted, whatever their age: what an
 * active handover or an open (pending/running) outbox job still reads, and dead jobs (an operator's to
 * retry or inspect). Deletes go in small batches, so the embedded database's one connection is never held
 * for long.
 */
export interface RetentionPolicy {
    /** Inbound events, message log, idempotency keys, finished handovers, idle conversations and user names. */
    keepMs: number;
    /** Finished (done) outbox jobs. */
    doneJobsMs: number;
    /** A dead instance's heartbeat row. */
    instancesMs: number;
    /** Rows per DELETE statement (default 500). */
    batchSize?: number;
}

export const RETENTION_TABLES = [
    'outbox_jobs',
    'inbound_events',
    'message_log',
    'handover_files',
    'idempotency_keys',
    'handover_sessions',
    'conversations',
    'haptik_users',
    'bridge_instances'
] as const;
export type RetentionTable = (typeof RETENTION_TABLES)[number];

const TERMINAL = `('ended', 'failed')`;
const OPEN_JOB = `j.state IN ('pending', 'running')`;

/** A conversation an active handover or an open job (transcript, Case) still works on. */
const conversationInUse = (key: string): string => `(
    EXISTS (SELECT 1 FROM handover_sessions h WHERE h.conversation_key = ${key} AND h.state NOT IN ${TERMINAL})
    OR EXISTS (SELECT 1 FROM outbox_jobs j WHERE ${OPEN_JOB}
               AND j.ordering_key IN ('conversation:' || ${key}, 'case:conv:' || ${key})))`;

/** Each statement selects one batch of rows to delete: `$1` the cutoff, `$2` the batch size. */
const STATEMENTS: Record<RetentionTable, { table: string; where: string }> = {
    // A done job is kept while an open job or an active handover still reads its result (the Case id).
    outbox_jobs: {
        table: 'outbox_jobs',
        where: `state = 'done' AND finished_at < $1::timestamptz
            AND NOT EXISTS (SELECT 1 FROM outbox_jobs j WHERE ${OPEN_JOB}
                            AND (j.payload ->> 'caseJobId' = t.id::text OR j.payload ->> 'upsertJobId' = t.id::text))
            AND NOT EXISTS (SELECT 1 FROM handover_sessions h WHERE h.state NOT IN ${TERMINAL}
                            AND h.adapter_state -> 'core' ->> 'caseJobId' = t.id::text)`
    },
    // An event not handled yet is kept while a job is still to handle it.
    inbound_events: {
        table: 'inbound_events',
        where: `received_at < $1::timestamptz
            AND (processed_at IS NOT NULL OR NOT EXISTS (
                SELECT 1 FROM outbox_jobs j WHERE ${OPEN_JOB}
                  AND j.payload -> 'inbound' ->> 'source' = t.source
                  AND j.payload -> 'inbound' ->> 'eventId' = t.event_id))`
    },
    message_log: {
        table: 'message_log',
        where: `created_at < $1::timestamptz AND NOT ${conversationInUse('t.conversation_key')}`
    },
    // A file row goes with its conversation's messages (its name is personal data too).
    handover_files: {
        table: 'handover_files',
        where: `created_at < $1::timestamptz AND NOT ${conversationInUse('t.conversation_key')}`
    },
    idempotency_keys: { table: 'idempotency_keys', where: `created_at < $1::timestamptz` },
    handover_sessions: {
        table: 'handover_sessions',
        where: `state IN ${TERMINAL} AND COALESCE(ended_at, updated_at) < $1::timestamptz
            AND NOT EXISTS (SELECT 1 FROM message_log m WHERE m.handover_id = t.id)
            AND NOT EXISTS (SELECT 1 FROM handover_files f WHERE f.handover_id = t.id)
            AND NOT EXISTS (SELECT 1 FROM outbox_jobs j WHERE ${OPEN_JOB} AND j.payload ->> 'handoverId' = t.id)`
    },
    conversations: {
        table: 'conversations',
        where: `updated_at < $1::timestamptz
            AND NOT EXISTS (SELECT 1 FROM handover_sessions h WHERE h.conversation_key = t.key)
            AND NOT EXISTS (SELECT 1 FROM message_log m WHERE m.conversation_key = t.key)
            AND NOT ${conversationInUse('t.key')}`
    },
    // A user's Haptik name (for get_chat_history) goes with the last of the user's conversations.
    haptik_users: {
        table: 'haptik_users',
        where: `updated_at < $1::timestamptz
            AND NOT EXISTS (SELECT 1 FROM conversations c
                            WHERE c.business_id = t.business_id AND c.user_id = t.user_id)`
    },
    // Its streams were taken over already (an expired heartbeat counts as dead); the row only takes room.
    bridge_instances: { table: 'bridge_instances', where: `expires_at < $1::timestamptz` }
};

/** Deletes, table by table (children first), the rows past their period; answers how many per table. */
export async function pruneExpired(
    q: Queryable,
    policy: RetentionPolicy,
    now: Date
): Promise<Record<RetentionTable, number>> {
    const batch = Math.max(1, policy.batchSize ?? 500);
    const cutoff = (ms: number): string => new Date(now.getTime() - ms).toISOString();
    const deleted = Object.fromEntries(RETENTION_TABLES.map((t) => [t, 0])) as Record<RetentionTable, number>;
    for (const name of RETENTION_TABLES) {
        const { table, where } = STATEMENTS[name];
        const before =
            name === 'outbox_jobs'
                ? cutoff(policy.doneJobsMs)
                : name === 'bridge_instances'
                  ? cutoff(policy.instancesMs)
                  : cutoff(policy.keepMs);
        for (;;) {
            const result = await q.query(
                `DELETE FROM ${table} WHERE ctid IN (SELECT t.ctid FROM ${table} t WHERE ${where} LIMIT $2)`,
                [before, batch]
            );
            deleted[name] += result.affectedRows;
            if (result.affectedRows < batch) break;
        }
    }
    return deleted;
}
