import type { Queryable } from './db';

/**
 * The Bring Your Own Channel subscription's lease and the events it wrote (schema v5, 0005-byoc-events.ts).
 * All times are the database's (`now()`), so instances need no synchronised clocks.
 */

export const BYOC_EVENTS_CHANNEL = 'byoc_events';

export interface SubscriptionClaim {
    epoch: number;
    /** Where to resume: the last event written, or null (never subscribed: start at the tip). */
    replayId: number | null;
}

export interface StoredByocEvent {
    seq: number;
    endUserId: string;
    payload: Record<string, unknown>;
}

/** Takes the topic's subscription when nobody holds it (or the holder's lease ran out); undefined otherwise. */
export async function claimSubscription(
    q: Queryable,
    topic: string,
    instanceId: string,
    leaseMs: number
): Promise<SubscriptionClaim | undefined> {
    const result = await q.query<{ epoch: string | number; replay_id: string | number | null }>(
        `INSERT INTO byoc_subscriptions (topic, owner, epoch, expires_at)
         VALUES ($1, $2, 1, now() + $3 * interval '1 millisecond')
         ON CONFLICT (topic) DO UPDATE
            SET owner = EXCLUDED.owner, epoch = byoc_subscriptions.epoch + 1, expires_at = EXCLUDED.expires_at,
                reading_since = NULL
            WHERE byoc_subscriptions.owner IS NULL OR byoc_subscriptions.expires_at < now()
         RETURNING epoch, replay_id`,
        [topic, instanceId, leaseMs]
    );
    const row = result.rows[0];
    if (row === undefined) return undefined;
    return { epoch: Number(row.epoch), replayId: row.replay_id === null ? null : Number(row.replay_id) };
}

/** Renews the holder's lease; false when this instance no longer holds it (another took it over). */
export async function renewSubscription(
    q: Queryable,
    topic: string,
    instanceId: string,
    epoch: number,
    leaseMs: number
): Promise<boolean> {
    const result = await q.query(
        `UPDATE byoc_subscriptions SET expires_at = now() + $4 * interval '1 millisecond'
         WHERE topic = $1 AND owner = $2 AND epoch = $3`,
        [topic, instanceId, epoch, leaseMs]
    );
    return result.affectedRows === 1;
}

/** Graceful shutdown: hands the subscription back so another instance takes it at its next look. */
export async function releaseSubscription(
    q: Queryable,
    topic: string,
    instanceId: string,
    epoch: number
): Promise<void> {
    await q.query(
        `UPDATE byoc_subscriptions SET owner = NULL, expires_at = now(), reading_since = NULL
         WHERE topic = $1 AND owner = $2 AND epoch = $3`,
        [topic, instanceId, epoch]
    );
}

/** The holder's stream is open (the server answered the subscribe request). */
export async function markReading(q: Queryable, topic: string, instanceId: string, epoch: number): Promise<void> {
    await q.query(
        `UPDATE byoc_subscriptions SET reading_since = now() WHERE topic = $1 AND owner = $2 AND epoch = $3`,
        [topic, instanceId, epoch]
    );
}

/**
 * Whether an event published now will reach byoc_events: a replay id is stored (any holder resumes from it),
 * or a live holder's stream is open. A chat is opened only then.
 */
export async function subscriptionReady(q: Queryable, topic: string): Promise<boolean> {
    const result = await q.query<{ ready: boolean }>(
        `SELECT (replay_id IS NOT NULL OR (owner IS NOT NULL AND reading_since IS NOT NULL AND expires_at >= now())) AS ready
         FROM byoc_subscriptions WHERE topic = $1`,
        [topic]
    );
    return result.rows[0]?.ready === true;
}

/**
 * Writes received events and moves the stored replay id past them, in the caller's transaction, fenced by
 * the epoch: false (and nothing must be committed) when this instance lost the subscription meanwhile.
 * A redelivered event (same replay id) is not written twice.
 */
export async function storeEvents(
    q: Queryable,
    claim: { topic: string; instanceId: string; epoch: number },
    events: ReadonlyArray<{ replayId: number; endUserId: string; payload: Record<string, unknown> }>,
    replayId: number
): Promise<boolean> {
    const moved = await q.query(
        `UPDATE byoc_subscriptions SET replay_id = GREATEST(COALESCE(replay_id, 0), $4)
         WHERE topic = $1 AND owner = $2 AND epoch = $3`,
        [claim.topic, claim.instanceId, claim.epoch, replayId]
    );
    if (moved.affectedRows !== 1) return false;
    for (const event of events) {
        await q.query(
            `INSERT INTO byoc_events (topic, replay_id, end_user_id, payload) VALUES ($1, $2, $3, $4)
             ON CONFLICT (topic, replay_id) DO NOTHING`,
            [claim.topic, event.replayId, event.endUserId, JSON.stringify(event.payload)]
        );
    }
    if (events.length > 0) await q.query(`SELECT pg_notify('${BYOC_EVENTS_CHANNEL}:' || current_schema(), '')`);
    return true;
}

/** The newest event's position (a new chat's stream starts after it). */
export async function latestEventSeq(q: Queryable): Promise<number> {
    const result = await q.query<{ seq: string | number | null }>('SELECT max(seq) AS seq FROM byoc_events');
    return Number(result.rows[0]?.seq ?? 0);
}

/**
 * Events after `after`, for every chat of the org, oldest first: the one look an instance takes per tick.
 * `seq` follows commit order because one writer at a time stores events, serialised by the fence row's lock
 * in storeEvents (a stale holder blocks on it, then finds its epoch gone), so nothing commits below a seq
 * already seen.
 */
export async function readEventsAfter(q: Queryable, after: number, limit: number): Promise<StoredByocEvent[]> {
    const result = await q.query<EventRow>(
        `SELECT seq, end_user_id, payload FROM byoc_events WHERE seq > $1 ORDER BY seq LIMIT $2`,
        [after, limit]
    );
    return result.rows.map(toEvent);
}

/** Events for these chats after each one's cursor and up to `upTo`, oldest first (chats catching up). */
export async function readEventsFor(
    q: Queryable,
    cursors: ReadonlyArray<{ endUserId: string; after: number }>,
    upTo: number,
    limit: number
): Promise<StoredByocEvent[]> {
    if (cursors.length === 0) return [];
    const result = await q.query<EventRow>(
        `SELECT e.seq, e.end_user_id, e.payload
         FROM byoc_events e
         JOIN unnest($1::text[], $2::bigint[]) AS c(end_user_id, after) ON e.end_user_id = c.end_user_id AND e.seq > c.after
         WHERE e.seq <= $3
         ORDER BY e.seq
         LIMIT $4`,
        [cursors.map((c) => c.endUserId), cursors.map((c) => c.after), upTo, limit]
    );
    return result.rows.map(toEvent);
}

interface EventRow {
    seq: string | number;
    end_user_id: string;
    payload: unknown;
}

const toEvent = (row: EventRow): StoredByocEvent => ({
    seq: Number(row.seq),
    endUserId: row.end_user_id,
    payload: (typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload) as Record<string, unknown>
});

/** Deletes events older than `olderThanMs` (every chat reading them has long moved on). */
export async function pruneEvents(q: Queryable, olderThanMs: number): Promise<number> {
    const result = await q.query(`DELETE FROM byoc_events WHERE received_at < now() - $1 * interval '1 millisecond'`, [
        olderThanMs
    ]);
    return result.affectedRows;
}
