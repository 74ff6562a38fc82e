import { errorSummary, isBridgeError } from '../../core/errors';
import type { ChatAttachment, ChatSessionState } from '../../core/handover/chat-port';
import { renderNotice } from '../../core/handover/notices';
import { attachmentLine } from '../../core/transcript';
import { countBytes } from '../../files/byte-count';
import type { FetchedFile, FileFetcher } from '../../files/file-fetcher';
import type { FileLinks } from '../../files/file-links';
import { isImageType } from '../../files/file-names';
import type { HostRule } from '../../files/host-rules';
import { documentHsl, imageHsl, textHsl } from '../../haptik/hsl';
import type { UserFileRef } from '../../haptik/user-files';
import type { Queryable } from '../../store/db';
import { getHandoverSession } from '../../store/handover-sessions';
import type { HandoverSession } from '../../store/handover-sessions';
import { agentFileId, noteFileSeen, recordHandoverFiles, userFileId } from '../../store/handover-files';
import { appendMessage } from '../../store/message-log';
import { enqueue } from '../../store/outbox';
import type { DirectClaim } from '../../store/outbox';
import { chatOrderingKey, handoverJob, parseHandoverJob } from '../handover-jobs';
import { applyInput } from './apply-input';
import type { HandoverContext } from './context';
import { chatStateOf, haptikOrderingKey, isLive } from './session-state';
import type { CoreState } from './session-state';

/**
 * Attachments both ways (issue 18). Each file is one outbox job on the same ordering key as the chat's texts
 * (user → agent: the chat's key; agent → user: the Haptik user's key), so a photo sent between two texts
 * arrives between them; its idempotency key derives from the message that carried it, so a webhook delivered
 * again or a stream replayed from an older cursor queues nothing new, across restarts and instances.
 */
export interface HandoverFiles {
    /** Downloads a user's file from the allowed hosts (files/file-fetcher.ts). */
    fetcher: Pick<FileFetcher, 'open'>;
    /** Signed links to agents' files; undefined without BRIDGE_PUBLIC_URL (the user then gets a note). */
    links: Pick<FileLinks, 'issue'> | undefined;
    /** BRIDGE_FILE_HOSTS: where a user's upload may come from (haptik/user-files.ts). */
    hosts: readonly HostRule[];
}

/** The log text of a user's message with files: what they wrote, then one line per file. */
export function userUploadLogText(caption: string, files: readonly UserFileRef[]): string {
    return [caption, ...files.map((file) => attachmentLine('user', file.name, file.kind))]
        .filter((line) => line !== '')
        .join('\n');
}

/** The files of a user's message, for the transcript (store/handover-files.ts), in the message's transaction. */
export async function recordUserFiles(
    tx: Queryable,
    session: Pick<HandoverSession, 'id' | 'conversationKey'>,
    haptikMessageId: string,
    files: readonly UserFileRef[]
): Promise<void> {
    await recordHandoverFiles(
        tx,
        files.map((file, position) => ({
            id: userFileId(session.id, haptikMessageId, position),
            conversationKey: session.conversationKey,
            handoverId: session.id,
            messageId: haptikMessageId,
            position,
            sender: 'user',
            name: file.name,
            // What the message said it is; the download tells the real type (sendFileToAgent).
            contentType: file.kind,
            sourceUrl: file.url
        }))
    );
}

/** The files of an agent's message, for the transcript; an attachment that says its size gives it. */
export async function recordAgentFiles(
    tx: Queryable,
    session: Pick<HandoverSession, 'id' | 'conversationKey'>,
    chatMessageId: string,
    attachments: readonly ChatAttachment[]
): Promise<void> {
    await recordHandoverFiles(
        tx,
        attachments.map((attachment, position) => ({
            id: agentFileId(session.id, chatMessageId, position),
            conversationKey: session.conversationKey,
            handoverId: session.id,
            messageId: chatMessageId,
            position,
            sender: 'agent',
            name: attachment.name,
            contentType: attachment.contentType,
            size: attachment.size,
            sourceUrl: attachment.url,
            sourceId: attachment.id
        }))
    );
}

/** Queues one `chat.send_file` job per file of a user's message (after its caption, on the chat's key). */
export async function enqueueUserFiles(
    tx: Queryable,
    handoverId: string,
    haptikMessageId: string,
    files: readonly UserFileRef[],
    claim: DirectClaim | undefined
): Promise<void> {
    for (const [index, file] of files.entries()) {
        await enqueue(
            tx,
            handoverJob('chat.send_file', {
                orderingKey: chatOrderingKey(handoverId),
                idempotencyKey: `chat.file:${handoverId}:${haptikMessageId}:${index}`,
                payload: {
                    handoverId,
                    // The caption went as `haptik-<id>`: the file's own message id differs (Enhanced Chat drops repeats).
                    messageId: `haptik-${haptikMessageId}-file-${index}`,
                    url: file.url,
                    name: file.name,
                    kind: file.kind,
                    fileId: userFileId(handoverId, haptikMessageId, index)
                }
            }),
            claim
        );
    }
}

/** Queues one `haptik.send_file` job per attachment of an agent's message (after its caption, on the user's key). */
export async function enqueueAgentFiles(
    tx: Queryable,
    session: HandoverSession,
    core: CoreState,
    message: { messageId: string; agentName?: string | undefined; attachments: readonly ChatAttachment[] },
    claim: DirectClaim | undefined
): Promise<void> {
    for (const [index, attachment] of message.attachments.entries()) {
        await enqueue(
            tx,
            handoverJob('haptik.send_file', {
                orderingKey: haptikOrderingKey(core.userId),
                idempotencyKey: `haptik-file:agent:${session.id}:${message.messageId}:${index}`,
                payload: {
                    handoverId: session.id,
                    userId: core.userId,
                    messageId: `${message.messageId}:file:${index}`,
                    language: core.language,
                    ...(message.agentName === undefined ? {} : { agentName: message.agentName }),
                    attachment: {
                        id: attachment.id,
                        name: attachment.name,
                        contentType: attachment.contentType,
                        url: attachment.url
                    }
                }
            }),
            claim
        );
    }
}

/** Why a file went to the agent as a link, in the words of the note the agent reads. */
const REFUSALS: Record<string, string> = {
    adapter_without_upload: 'this chat does not take files',
    bridge_files_too_large: 'it is larger than the upload limit',
    bridge_chat_file_too_large: 'it is larger than the upload limit',
    bridge_files_type_refused: 'its file type is not accepted',
    bridge_chat_file_type_refused: 'its file type is not accepted',
    bridge_chat_file_refused: 'uploads are turned off for this chat',
    bridge_chat_file_empty: 'it is empty',
    bridge_files_host_refused: 'it is not on an allowed file host',
    bridge_files_address_refused: 'it is not on an allowed file host',
    bridge_files_redirect_refused: 'it is not on an allowed file host',
    bridge_files_url_invalid: 'its link is not one the bridge may download from'
};

/** The note the agent gets instead of a file: what it is, why it is a link, and the link. */
export function fileLinkNote(name: string, url: string, reason: string): string {
    const why = REFUSALS[reason] ?? 'it could not be downloaded';
    return `The user sent a file that could not be attached (${why}): ${name}\n${url}`;
}

/** A final error (retrying will not help): the file goes as a link. Anything else retries the whole job. */
function finalReason(error: unknown): string | undefined {
    if (!isBridgeError(error) || error.details['retryable'] !== false) return undefined;
    return error.code;
}

/**
 * Outbox job `chat.send_file`: downloads the user's file (allowed hosts, limits) and streams it into the chat.
 * A final refusal (too large, type, uploads off, host, or an adapter without uploads such as Legacy Chat)
 * sends the agent a link and a note instead, and tells the user nothing is lost. A retryable error (network,
 * timeout, 5xx) fails the job, and its retry downloads again (a stream is read once).
 */
export async function sendFileToAgent(ctx: HandoverContext, raw: unknown, prefetched?: unknown): Promise<unknown> {
    const p = parseHandoverJob('chat.send_file', raw);
    const session = sessionOf(prefetched, p.handoverId) ?? (await getHandoverSession(ctx.db, p.handoverId));
    if (!isLive(session)) return { skipped: 'not active' };
    const state = chatStateOf(session);
    const refusal = await uploadFile(ctx, p, state);
    if (refusal === undefined) return { sent: 'file' };
    ctx.logger.info({ handoverId: p.handoverId, reason: refusal }, "user's file sent to the agent as a link");
    await ctx.chat.sendMessage(p.handoverId, state, {
        messageId: `${p.messageId}-link`,
        text: fileLinkNote(p.name, p.url, refusal)
    });
    await tellUserFileSentAsLink(ctx, p.handoverId, p.messageId, p.name);
    return { sent: 'link', reason: refusal };
}

async function uploadFile(
    ctx: HandoverContext,
    p: { handoverId: string; messageId: string; url: string; fileId?: string | undefined },
    state: ChatSessionState
): Promise<string | undefined> {
    if (ctx.chat.sendFile === undefined || ctx.files === undefined) return 'adapter_without_upload';
    // What the download tells of the file is kept for the transcript (type, and size from the header or the count).
    // A size that could not be written is not worth failing (and so repeating) the upload for.
    const seen = async (facts: { contentType?: string; size?: number | undefined }): Promise<void> => {
        if (p.fileId === undefined) return;
        await noteFileSeen(ctx.db, p.fileId, facts).catch((error: unknown) => {
            ctx.logger.warn({ handoverId: p.handoverId, error: errorSummary(error) }, "could not record a file's size");
        });
    };
    let file: FetchedFile;
    try {
        file = await ctx.files.fetcher.open(p.url);
    } catch (error) {
        const reason = finalReason(error);
        if (reason === undefined) throw error;
        await seen({ size: sizeOf(error) });
        return reason;
    }
    await seen({ contentType: file.contentType, size: file.contentLength });
    // Without a Content-Length the size is the count of what was sent.
    const counted = file.contentLength === undefined ? countBytes(file.body) : undefined;
    try {
        await ctx.chat.sendFile(p.handoverId, state, {
            messageId: p.messageId,
            fileName: file.fileName,
            contentType: file.contentType,
            ...(file.contentLength === undefined ? {} : { contentLength: file.contentLength }),
            body: counted?.body ?? file.body
        });
        if (counted?.complete() === true) await seen({ size: counted.bytes() });
        return undefined;
    } catch (error) {
        const reason = finalReason(error);
        if (reason === undefined) throw error;
        return reason;
    } finally {
        counted?.body.destroy();
        file.body.destroy();
    }
}

/** The size a refusal names (too large by its Content-Length). */
function sizeOf(error: unknown): number | undefined {
    const size = isBridgeError(error) ? error.details['size'] : undefined;
    return typeof size === 'number' && Number.isSafeInteger(size) ? size : undefined;
}

/** The user's notice that a file went as a link: logged and queued once per file (fixed keys), in the user's order. */
async function tellUserFileSentAsLink(
    ctx: HandoverContext,
    handoverId: string,
    fileMessageId: string,
    name: string
): Promise<void> {
    await applyInput(ctx, handoverId, undefined, {
        before: async (tx, session, core) => {
            const text = renderNotice(ctx.settings.notices, core.language, { key: 'fileSentAsLink', file: name });
            const messageId = `notice:${session.id}:${fileMessageId}`;
            await appendMessage(tx, {
                conversationKey: session.conversationKey,
                handoverId: session.id,
                direction: 'out',
                sender: 'system',
                text,
                externalId: messageId
            });
            await enqueue(
                tx,
                {
                    kind: 'haptik.message',
                    orderingKey: haptikOrderingKey(core.userId),
                    idempotencyKey: `haptik-msg:${messageId}`,
                    payload: { userId: core.userId, hsl: textHsl(text), metadata: { message_id: messageId } }
                },
                tx.userClaim
            );
        }
    });
}

/**
 * Outbox job `haptik.send_file`: the agent's file to the user as an image (a one-item carousel) or a named
 * link, through a signed link issued now (so a retried job still gets the full validity). Without file
 * links (no BRIDGE_PUBLIC_URL) the user gets a note naming the file instead.
 */
export async function sendFileToUser(ctx: HandoverContext, raw: unknown): Promise<unknown> {
    const p = parseHandoverJob('haptik.send_file', raw);
    const { attachment } = p;
    const links = ctx.files?.links;
    const metadata = { message_id: p.messageId, ...(p.agentName === undefined ? {} : { agent_name: p.agentName }) };
    if (links === undefined) {
        const text = renderNotice(ctx.settings.notices, p.language, {
            key: 'agentFileUnavailable',
            file: attachment.name
        });
        await ctx.haptik.sendMessage({ userId: p.userId, hsl: textHsl(text), metadata });
        return { sent: 'note' };
    }
    const link = links.issue({
        handoverId: p.handoverId,
        attachmentId: attachment.id,
        url: attachment.url,
        name: attachment.name,
        contentType: attachment.contentType
    });
    const hsl = isImageType(attachment.contentType)
        ? imageHsl(link, { title: attachment.name })
        : documentHsl(link, attachment.name);
    await ctx.haptik.sendMessage({ userId: p.userId, hsl, metadata });
    return { sent: isImageType(attachment.contentType) ? 'image' : 'document' };
}

/** The session handed over with a job (OutboxJobContext.prefetched), if it is this handover's. */
export function sessionOf(prefetched: unknown, handoverId: string): HandoverSession | undefined {
    const session = prefetched as Partial<HandoverSession> | undefined;
    return session?.id === handoverId && typeof session.state === 'string' && session.adapterState !== undefined
        ? (session as HandoverSession)
        : undefined;
}
