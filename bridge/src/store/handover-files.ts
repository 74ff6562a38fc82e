import type { Queryable } from './db';
import { asDate } from './sql';

/**
 * The files of handovers (schema v6), both ways: recorded with the message that carried them, completed as the
 * bridge learns more (the type and size a download tells), and, with BRIDGE_TRANSCRIPT_FILES=link, marked with
 * the ContentVersion that holds the file on the transcript Case, or with why it could not be attached.
 */
export type FileSender = 'user' | 'agent';

export interface NewHandoverFile {
    /** Stable key (userFileId / agentFileId): the same file recorded again is no new row. */
    id: string;
    conversationKey: string;
    handoverId: string;
    /** The message log's external id of the message that carried the file. */
    messageId: string;
    position: number;
    sender: FileSender;
    name: string;
    contentType: string;
    size?: number | undefined;
    sourceUrl: string;
    /** The chat's attachment id (agent files). */
    sourceId?: string | undefined;
}

export interface HandoverFile extends Omit<NewHandoverFile, 'size' | 'sourceId'> {
    size: number | undefined;
    sourceId: string | undefined;
    contentVersionId: string | undefined;
    /** Reason code why the file could not be linked to the Case. */
    notAttached: string | undefined;
    createdAt: Date;
}

interface FileRow {
    id: string;
    conversation_key: string;
    handover_id: string;
    message_id: string;
    position: number;
    sender: FileSender;
    name: string;
    content_type: string;
    size_bytes: string | number | null;
    source_url: string;
    source_id: string | null;
    content_version_id: string | null;
    not_attached: string | null;
    created_at: unknown;
}

/** The key of a user's file: the one its `chat.send_file` job derives from (relay-files.ts). */
export function userFileId(handoverId: string, haptikMessageId: string, position: number): string {
    return `user:${handoverId}:${haptikMessageId}:${position}`;
}

export function agentFileId(handoverId: string, chatMessageId: string, position: number): string {
    return `agent:${handoverId}:${chatMessageId}:${position}`;
}

/** Records files of one message; files recorded before are left as they are. */
export async function recordHandoverFiles(q: Queryable, files: readonly NewHandoverFile[]): Promise<void> {
    if (files.length === 0) return;
    const column = <T>(pick: (file: NewHandoverFile) => T): T[] => files.map(pick);
    await q.query(
        `INSERT INTO handover_files (id, conversation_key, handover_id, message_id, position, sender, name,
                                     content_type, size_bytes, source_url, source_id)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[],
                              $8::text[], $9::bigint[], $10::text[], $11::text[])
         ON CONFLICT (id) DO NOTHING`,
        [
            column((f) => f.id),
            column((f) => f.conversationKey),
            column((f) => f.handoverId),
            column((f) => f.messageId),
            column((f) => f.position),
            column((f) => f.sender),
            column((f) => f.name),
            column((f) => f.contentType),
            column((f) => f.size ?? null),
            column((f) => f.sourceUrl),
            column((f) => f.sourceId ?? null)
        ]
    );
}

/** What a download told of a file: its type and size (either may be unknown; what is known already stays). */
export async function noteFileSeen(
    q: Queryable,
    id: string,
    seen: { contentType?: string | undefined; size?: number | undefined }
): Promise<void> {
    if (seen.contentType === undefined && seen.size === undefined) return;
    await q.query(
        `UPDATE handover_files
         SET content_type = COALESCE($2, content_type), size_bytes = COALESCE($3, size_bytes), updated_at = now()
         WHERE id = $1`,
        [id, seen.contentType ?? null, seen.size ?? null]
    );
}

/** An agent's file's size, learnt when the bridge streamed it through a signed link (by handover and attachment id). */
export async function noteAgentFileSize(
    q: Queryable,
    handoverId: string,
    attachmentId: string,
    size: number
): Promise<void> {
    await q.query(
        `UPDATE handover_files SET size_bytes = $3, updated_at = now()
         WHERE handover_id = $1 AND source_id = $2 AND sender = 'agent' AND size_bytes IS NULL`,
        [handoverId, attachmentId, size]
    );
}

export async function getHandoverFile(q: Queryable, id: string): Promise<HandoverFile | undefined> {
    const result = await q.query<FileRow>('SELECT * FROM handover_files WHERE id = $1', [id]);
    const row = result.rows[0];
    return row === undefined ? undefined : fromRow(row);
}

/** A conversation's files, in the order they were sent. */
export async function listConversationFiles(q: Queryable, conversationKey: string): Promise<HandoverFile[]> {
    const result = await q.query<FileRow>(
        `SELECT * FROM handover_files WHERE conversation_key = $1 ORDER BY created_at, message_id, position`,
        [conversationKey]
    );
    return result.rows.map(fromRow);
}

/** The file is on the Case as this ContentVersion (and no longer "not attached", should an earlier try have said so). */
export async function markFileAttached(q: Queryable, id: string, contentVersionId: string): Promise<void> {
    await q.query(
        `UPDATE handover_files SET content_version_id = $2, not_attached = NULL, updated_at = now() WHERE id = $1`,
        [id, contentVersionId]
    );
}

export async function markFileNotAttached(q: Queryable, id: string, reason: string): Promise<void> {
    await q.query(
        `UPDATE handover_files SET not_attached = $2, updated_at = now()
         WHERE id = $1 AND content_version_id IS NULL`,
        [id, reason]
    );
}

function fromRow(row: FileRow): HandoverFile {
    const size = row.size_bytes === null ? undefined : Number(row.size_bytes);
    return {
        id: row.id,
        conversationKey: row.conversation_key,
        handoverId: row.handover_id,
        messageId: row.message_id,
        position: Number(row.position),
        sender: row.sender,
        name: row.name,
        contentType: row.content_type,
        size: size !== undefined && Number.isSafeInteger(size) ? size : undefined,
        sourceUrl: row.source_url,
        sourceId: row.source_id ?? undefined,
        contentVersionId: row.content_version_id ?? undefined,
        notAttached: row.not_attached ?? undefined,
        createdAt: asDate(row.created_at)
    };
}
