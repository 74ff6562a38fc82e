import type { Queryable } from './db';
import type { MessageDirection, MessageSender } from './message-log';
import { afterInsert, jobInsert, OUTBOX_NOTIFY_CALL } from './outbox';
import type { DirectClaim, InsertedJobRow, NewOutboxJob } from './outbox';
import { jsonParam } from './sql';

/**
 * The rows one relayed message writes, in ONE statement (data-modifying CTEs) instead of one each: the
 * inbox row of the webhook that brought it (TRACT), its message-log entry, the outbox job that relays it,
 * and the chat stream's new position. Same rules as the single-row functions (inbox.ts, message-log.ts,
 * outbox.ts `enqueue`, handover-sessions.ts), run inside the caller's transaction under the session lock:
 *
 * - with `inbound`, a webhook delivered again (same source and event id) writes nothing else: `duplicate`;
 * - without it, a message logged before (same conversation, direction and external id: a stream replayed
 *   from an older cursor) is not logged or relayed again: `duplicate`;
 * - the job (if any) is written only for a message that is new, claimed at once with `claim` as enqueue does;
 * - `cursor` is written whatever the message was (the stream has moved past it either way).
 */
export interface RelayedMessage {
    /** The webhook's inbox row, stored as processed (it is handled in this same transaction). */
    inbound?: { source: string; eventId: string; payload: unknown } | undefined;
    message: {
        conversationKey: string;
        handoverId: string;
        direction: MessageDirection;
        sender: MessageSender;
        text: string;
        hsl?: unknown;
        externalId: string;
    };
    job?: NewOutboxJob | undefined;
    claim?: DirectClaim | undefined;
    /** The handover's stream position after this message (`handover_sessions.last_event_id`). */
    cursor?: { handoverId: string; lastEventId: string | null } | undefined;
}

interface RelayedRow {
    inbound: number | null;
    logged: number;
    job_id: string | null;
    job_state: InsertedJobRow['state'] | null;
    job_created_at: unknown;
}

export async function recordRelayedMessage(q: Queryable, relayed: RelayedMessage): Promise<{ duplicate: boolean }> {
    const params: unknown[] = [];
    const param = (value: unknown, cast = ''): string => {
        params.push(value);
        return `$${params.length}${cast}`;
    };
    const ctes: string[] = [];
    const { inbound, message, job, cursor } = relayed;
    if (inbound !== undefined) {
        ctes.push(`inbound AS (
            INSERT INTO inbound_events (source, event_id, payload, processed_at)
            VALUES (${param(inbound.source)}, ${param(inbound.eventId)}, ${param(jsonParam(inbound.payload ?? null), '::jsonb')}, now())
            ON CONFLICT (source, event_id) DO NOTHING
            RETURNING 1 AS ok)`);
    }
    ctes.push(`logged AS (
        INSERT INTO message_log (conversation_key, handover_id, direction, sender, text, hsl, external_id)
        SELECT ${param(message.conversationKey)}, ${param(message.handoverId)}, ${param(message.direction)},
            ${param(message.sender)}, ${param(message.text)}, ${param(jsonParam(message.hsl), '::jsonb')},
            ${param(message.externalId)}
        ${inbound === undefined ? '' : 'FROM inbound'}
        ON CONFLICT (conversation_key, direction, external_id) WHERE external_id IS NOT NULL DO NOTHING
        RETURNING id)`);
    let insert: ReturnType<typeof jobInsert> | undefined;
    if (job !== undefined) {
        // A delivered-again webhook, or a replayed stream entry, relays nothing.
        insert = jobInsert(job, relayed.claim, params.length + 1, inbound === undefined ? 'logged' : 'inbound');
        params.push(...insert.params);
        ctes.push(`job AS (${insert.sql})`);
        // Left pending for another instance that reads the chat's stream: wake it at commit (as enqueue does).
        if (job.streamId !== undefined) {
            ctes.push(`woken AS (SELECT ${OUTBOX_NOTIFY_CALL} AS n FROM job WHERE job.state = 'pending')`);
        }
    }
    if (cursor !== undefined) {
        ctes.push(`moved AS (
            UPDATE handover_sessions SET last_event_id = ${param(cursor.lastEventId)}, updated_at = now()
            WHERE id = ${param(cursor.handoverId)}
            RETURNING 1 AS ok)`);
    }
    const result = await q.query<RelayedRow>(
        `WITH ${ctes.join(',\n')}
         SELECT ${inbound === undefined ? 'NULL' : '(SELECT count(*) FROM inbound)::int'} AS inbound,
             (SELECT count(*) FROM logged)::int AS logged,
             ${job === undefined ? 'NULL AS job_id, NULL AS job_state, NULL AS job_created_at' : 'job.id AS job_id, job.state AS job_state, job.created_at AS job_created_at'}
             ${job?.streamId === undefined ? '' : ', (SELECT count(*) FROM woken)::int AS woken'}
             ${cursor === undefined ? '' : ', (SELECT count(*) FROM moved)::int AS moved'}
         FROM (SELECT 1) AS one ${job === undefined ? '' : 'LEFT JOIN job ON true'}`,
        params
    );
    const row = result.rows[0]!;
    if (job !== undefined && insert !== undefined && row.job_id !== null && row.job_state !== null) {
        afterInsert(
            job,
            { id: row.job_id, state: row.job_state, created_at: row.job_created_at },
            insert.payload,
            relayed.claim
        );
    }
    return { duplicate: inbound === undefined ? Number(row.logged) === 0 : Number(row.inbound) === 0 };
}
