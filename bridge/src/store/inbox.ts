import type { Queryable } from './db';
import { asDate, asOptionalDate, jsonParam } from './sql';

/**
 * The durable inbox: a webhook is answered 200 only after its event row is written here, and a
 * second delivery with the same (source, event id) is recognised as a duplicate.
 */
export interface InboundEvent {
    source: string;
    eventId: string;
    payload: unknown;
    receivedAt: Date;
    processedAt: Date | null;
    error: string | null;
}

interface InboundEventRow {
    source: string;
    event_id: string;
    payload: unknown;
    received_at: unknown;
    processed_at: unknown;
    error: string | null;
}

/**
 * Stores an event once. `processed: true` stores it as handled already, for callers that handle it in
 * the same transaction (one statement instead of an INSERT and an UPDATE).
 */
export async function recordInboundEvent(
    q: Queryable,
    event: { source: string; eventId: string; payload: unknown; processed?: boolean | undefined }
): Promise<{ duplicate: boolean }> {
    const result = await q.query(
        `INSERT INTO inbound_events (source, event_id, payload, processed_at)
         VALUES ($1, $2, $3::jsonb, CASE WHEN $4::boolean THEN now() END)
         ON CONFLICT (source, event_id) DO NOTHING`,
        [event.source, event.eventId, jsonParam(event.payload ?? null), event.processed === true]
    );
    return { duplicate: result.affectedRows === 0 };
}

/** Marks an event handled; pass `error` when handling gave up, so it is not replayed. */
export async function markInboundProcessed(
    q: Queryable,
    event: { source: string; eventId: string; error?: string | undefined }
): Promise<void> {
    await q.query(`UPDATE inbound_events SET processed_at = now(), error = $3 WHERE source = $1 AND event_id = $2`, [
        event.source,
        event.eventId,
        event.error ?? null
    ]);
}

export async function getInboundEvent(
    q: Queryable,
    source: string,
    eventId: string
): Promise<InboundEvent | undefined> {
    const result = await q.query<InboundEventRow>('SELECT * FROM inbound_events WHERE source = $1 AND event_id = $2', [
        source,
        eventId
    ]);
    const row = result.rows[0];
    return row === undefined ? undefined : toEvent(row);
}

/** Events stored but not yet handled (e.g. the process stopped in between), oldest first. */
export async function listUnprocessed(
    q: Queryable,
    options: { source?: string | undefined; limit?: number | undefined } = {}
): Promise<InboundEvent[]> {
    const result = await q.query<InboundEventRow>(
        `SELECT * FROM inbound_events
         WHERE processed_at IS NULL AND ($1::text IS NULL OR source = $1)
         ORDER BY received_at, source, event_id
         LIMIT $2`,
        [options.source ?? null, options.limit ?? 100]
    );
    return result.rows.map(toEvent);
}

function toEvent(row: InboundEventRow): InboundEvent {
    return {
        source: row.source,
        eventId: row.event_id,
        payload: row.payload,
        receivedAt: asDate(row.received_at),
        processedAt: asOptionalDate(row.processed_at),
        error: row.error
    };
}
