import type { Queryable } from './db';
import { asDate, jsonParam } from './sql';

export type MessageDirection = 'in' | 'out';
export type MessageSender = 'user' | 'bot' | 'agent' | 'system';

/** One message that went through the bridge, kept for transcripts and replay detection. */
export interface LoggedMessage {
    id: string;
    conversationKey: string;
    handoverId: string | null;
    direction: MessageDirection;
    sender: MessageSender;
    text: string;
    hsl: unknown;
    externalId: string | null;
    createdAt: Date;
}

interface MessageRow {
    id: string;
    conversation_key: string;
    handover_id: string | null;
    direction: MessageDirection;
    sender: MessageSender;
    text: string;
    hsl: unknown;
    external_id: string | null;
    created_at: unknown;
}

/**
 * Appends a message. With an `externalId` (Haptik message_id, Salesforce entry id) a replay of the
 * same message in the same direction is not stored again: `duplicate: true` and the first row's id.
 */
export async function appendMessage(
    q: Queryable,
    message: {
        conversationKey: string;
        handoverId?: string | null | undefined;
        direction: MessageDirection;
        sender: MessageSender;
        text: string;
        hsl?: unknown;
        externalId?: string | null | undefined;
    }
): Promise<{ id: string; duplicate: boolean }> {
    const externalId = message.externalId ?? null;
    const inserted = await q.query<{ id: string }>(
        `INSERT INTO message_log (conversation_key, handover_id, direction, sender, text, hsl, external_id)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
         ON CONFLICT (conversation_key, direction, external_id) WHERE external_id IS NOT NULL DO NOTHING
         RETURNING id`,
        [
            message.conversationKey,
            message.handoverId ?? null,
            message.direction,
            message.sender,
            message.text,
            jsonParam(message.hsl),
            externalId
        ]
    );
    const row = inserted.rows[0];
    if (row !== undefined) return { id: String(row.id), duplicate: false };
    const existing = await q.query<{ id: string }>(
        'SELECT id FROM message_log WHERE conversation_key = $1 AND direction = $2 AND external_id = $3',
        [message.conversationKey, message.direction, externalId]
    );
    return { id: String(existing.rows[0]!.id), duplicate: true };
}

/** A conversation's messages in the order they were logged (optionally one handover's, or the last `limit`). */
export async function listMessages(
    q: Queryable,
    conversationKey: string,
    options: { handoverId?: string | undefined; limit?: number | undefined } = {}
): Promise<LoggedMessage[]> {
    const result = await q.query<MessageRow>(
        `SELECT * FROM (
             SELECT * FROM message_log
             WHERE conversation_key = $1 AND ($2::text IS NULL OR handover_id = $2)
             ORDER BY id DESC LIMIT $3
         ) latest ORDER BY id`,
        [conversationKey, options.handoverId ?? null, options.limit ?? 10_000]
    );
    return result.rows.map((row) => ({
        id: String(row.id),
        conversationKey: row.conversation_key,
        handoverId: row.handover_id,
        direction: row.direction,
        sender: row.sender,
        text: row.text,
        hsl: row.hsl,
        externalId: row.external_id,
        createdAt: asDate(row.created_at)
    }));
}
