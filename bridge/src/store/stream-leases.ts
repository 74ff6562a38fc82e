import type { Queryable } from './db';

/**
 * Who reads each open chat's Salesforce event stream when several bridge instances share a database.
 *
 * An instance proves it is alive by renewing one heartbeat row (`bridge_instances`), not one lease per
 * chat: ten thousand idle chats cost one UPDATE per renewal, not ten thousand. A chat's stream belongs
 * to the instance named in `stream_owner` for as long as that instance's heartbeat has not run out.
 * Taking a stream over bumps `stream_epoch`; the owner checks the epoch on the row it locks for every
 * event, which fences off an instance that was paused past its heartbeat and woke up again.
 * All times are the database's (`now()`), so instances need no synchronised clocks.
 */

const ACTIVE = `state NOT IN ('ended', 'failed')`;

export interface ClaimedStream {
    id: string;
    epoch: number;
}

/** Starts or renews this instance's heartbeat; `lapsed` when it had run out (or was gone) before. */
export async function renewInstance(q: Queryable, instanceId: string, leaseMs: number): Promise<{ lapsed: boolean }> {
    const result = await q.query<{ lapsed: boolean | null }>(
        `WITH previous AS (SELECT expires_at < now() AS lapsed FROM bridge_instances WHERE id = $1)
         INSERT INTO bridge_instances (id, expires_at) VALUES ($1, now() + $2 * interval '1 millisecond')
         ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at
         RETURNING (SELECT lapsed FROM previous) AS lapsed`,
        [instanceId, leaseMs]
    );
    return { lapsed: result.rows[0]?.lapsed !== false };
}

/**
 * Graceful shutdown: gives every stream of this instance back (owner NULL, epoch kept) so another
 * instance takes them at its next look instead of waiting for the heartbeat to run out.
 */
export async function releaseInstance(q: Queryable, instanceId: string): Promise<number> {
    const released = await q.query(
        `UPDATE handover_sessions SET stream_owner = NULL WHERE stream_owner = $1 AND ${ACTIVE}`,
        [instanceId]
    );
    await q.query('DELETE FROM bridge_instances WHERE id = $1', [instanceId]);
    return released.affectedRows;
}

/**
 * Forgets every other instance's heartbeat, so their streams are free at once. Only for the embedded
 * database, which one process at a time can open: any other instance there is a crashed earlier run.
 */
export async function forgetOtherInstances(q: Queryable, instanceId: string): Promise<void> {
    await q.query('DELETE FROM bridge_instances WHERE id <> $1', [instanceId]);
}

/** The chat is being opened by this instance (inside the caller's transaction, row locked). */
export async function claimStreamForOpen(q: Queryable, handoverId: string, instanceId: string): Promise<number> {
    const result = await q.query<{ stream_epoch: string | number }>(
        `UPDATE handover_sessions SET stream_owner = $2, stream_epoch = stream_epoch + 1
         WHERE id = $1 RETURNING stream_epoch`,
        [handoverId, instanceId]
    );
    const row = result.rows[0];
    if (row === undefined) throw new Error(`handover ${handoverId} does not exist`);
    return Number(row.stream_epoch);
}

/**
 * Takes up to `limit` open chats whose stream nobody holds: released ones, and those of instances
 * whose heartbeat ran out. SKIP LOCKED lets several instances look at once without waiting on each
 * other. The owner test is a NOT EXISTS, not an outer join: when another instance took a row between
 * this statement's snapshot and its lock, PostgreSQL rechecks the WHERE on the new row version, and a
 * rechecked outer join would come out NULL-extended ("no live owner") and take the chat a second time.
 */
export async function claimFreeStreams(q: Queryable, instanceId: string, limit: number): Promise<ClaimedStream[]> {
    const result = await q.query<{ id: string; stream_epoch: string | number }>(
        `WITH free AS (
            SELECT h.id FROM handover_sessions h
            WHERE h.${ACTIVE} AND h.stream_epoch > 0
              AND (h.stream_owner IS NULL OR NOT EXISTS (
                  SELECT 1 FROM bridge_instances i WHERE i.id = h.stream_owner AND i.expires_at >= now()))
            ORDER BY h.id
            LIMIT $2
            FOR UPDATE SKIP LOCKED
         )
         UPDATE handover_sessions s SET stream_owner = $1, stream_epoch = s.stream_epoch + 1
         FROM free WHERE s.id = free.id
         RETURNING s.id, s.stream_epoch`,
        [instanceId, limit]
    );
    return result.rows.map((row) => ({ id: row.id, epoch: Number(row.stream_epoch) }));
}

/** The open chats this instance holds, with their epochs (checked after a lapsed heartbeat). */
export async function listOwnedStreams(q: Queryable, instanceId: string): Promise<ClaimedStream[]> {
    const result = await q.query<{ id: string; stream_epoch: string | number }>(
        `SELECT id, stream_epoch FROM handover_sessions WHERE stream_owner = $1 AND ${ACTIVE} AND stream_epoch > 0`,
        [instanceId]
    );
    return result.rows.map((row) => ({ id: row.id, epoch: Number(row.stream_epoch) }));
}
