import type { Queryable } from './db';
import { asDate, jsonParam } from './sql';

/** One Haptik conversation the bridge has seen, and the Case it is linked to. */
export interface Conversation {
    /** `<business_id>:<user_id>:<conversation_no>` (contract §4, Haptik_Conversation_Key__c). */
    key: string;
    businessId: string;
    userId: string;
    conversationNo: string;
    channel: string | null;
    caseId: string | null;
    caseNumber: string | null;
    context: Record<string, unknown>;
    createdAt: Date;
    updatedAt: Date;
}

interface ConversationRow {
    key: string;
    business_id: string;
    user_id: string;
    conversation_no: string;
    channel: string | null;
    case_id: string | null;
    case_number: string | null;
    context: Record<string, unknown> | null;
    created_at: unknown;
    updated_at: unknown;
}

export function conversationKey(businessId: string | number, userId: string, conversationNo: string | number): string {
    return `${businessId}:${userId}:${conversationNo}`;
}

/**
 * Creates the conversation or updates it; `channel` and `context` replace the stored values only
 * when given, so a caller that knows less never erases what another stored.
 */
export async function upsertConversation(
    q: Queryable,
    input: {
        businessId: string | number;
        userId: string;
        conversationNo: string | number;
        channel?: string | undefined;
        context?: Record<string, unknown> | undefined;
    }
): Promise<Conversation> {
    const key = conversationKey(input.businessId, input.userId, input.conversationNo);
    const result = await q.query<ConversationRow>(
        `INSERT INTO conversations (key, business_id, user_id, conversation_no, channel, context)
         VALUES ($1, $2, $3, $4, $5, COALESCE($6::jsonb, '{}'::jsonb))
         ON CONFLICT (key) DO UPDATE SET
             channel = COALESCE(EXCLUDED.channel, conversations.channel),
             context = COALESCE($6::jsonb, conversations.context),
             updated_at = now()
         RETURNING *`,
        [
            key,
            String(input.businessId),
            input.userId,
            String(input.conversationNo),
            input.channel ?? null,
            jsonParam(input.context)
        ]
    );
    return toConversation(result.rows[0]!);
}

export async function getConversation(q: Queryable, key: string): Promise<Conversation | undefined> {
    const result = await q.query<ConversationRow>('SELECT * FROM conversations WHERE key = $1', [key]);
    const row = result.rows[0];
    return row === undefined ? undefined : toConversation(row);
}

/** Links the conversation to its Salesforce Case; undefined when the conversation is unknown. */
export async function setConversationCase(
    q: Queryable,
    key: string,
    linked: { caseId: string; caseNumber?: string | undefined }
): Promise<Conversation | undefined> {
    const result = await q.query<ConversationRow>(
        `UPDATE conversations SET case_id = $2, case_number = COALESCE($3, case_number), updated_at = now()
         WHERE key = $1 RETURNING *`,
        [key, linked.caseId, linked.caseNumber ?? null]
    );
    const row = result.rows[0];
    return row === undefined ? undefined : toConversation(row);
}

function toConversation(row: ConversationRow): Conversation {
    return {
        key: row.key,
        businessId: row.business_id,
        userId: row.user_id,
        conversationNo: row.conversation_no,
        channel: row.channel,
        caseId: row.case_id,
        caseNumber: row.case_number,
        context: row.context ?? {},
        createdAt: asDate(row.created_at),
        updatedAt: asDate(row.updated_at)
    };
}
