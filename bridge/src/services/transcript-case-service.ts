import { createHash } from 'node:crypto';
import { z } from 'zod';
import { channelOf, truncateCaseFields, truncateText } from '../core/case-templates';
import type { HaptikChannel } from '../core/case-templates';
import { BridgeError } from '../core/errors';
import type { Redactor } from '../core/redaction';
import {
    fitTranscript,
    formatTranscriptTime,
    historySender,
    mergeTranscriptEntries,
    renderTranscript,
    transcriptFileLine,
    transcriptFileName,
    transcriptSummary,
    withFileLines
} from '../core/transcript';
import type { TranscriptEntry, TranscriptFile, TranscriptSettings } from '../core/transcript';
import { countBytes } from '../files/byte-count';
import type { ChatFileSource } from '../files/chat-file-source';
import type { FileFetcher } from '../files/file-fetcher';
import { extensionFor, safeFileName } from '../files/file-names';
import type { ChatHistoryEntry } from '../haptik/chat-history';
import type { HaptikClient } from '../haptik/haptik-client';
import { hslToPlainText } from '../haptik/hsl';
import type { HaptikWebhookPayload } from '../haptik/payloads';
import type { Logger } from '../observability/logger';
import { isSalesforceError } from '../salesforce/salesforce-client';
import type { SalesforceClient } from '../salesforce/salesforce-client';
import { soqlString } from '../salesforce/soql';
import { conversationKey, getConversation } from '../store/conversations';
import type { Db, Queryable } from '../store/db';
import {
    getHandoverFile,
    listConversationFiles,
    markFileAttached,
    markFileNotAttached,
    noteFileSeen
} from '../store/handover-files';
import type { HandoverFile } from '../store/handover-files';
import { listHandoversByConversation } from '../store/handover-sessions';
import { markInboundProcessed } from '../store/inbox';
import { listMessages } from '../store/message-log';
import { awaitJob, enqueue } from '../store/outbox';
import { isPermanentFailure, permanentFailure } from '../store/outbox-worker';
import type { OutboxHandlers, OutboxJobContext } from '../store/outbox-worker';
import { enqueueOutbound } from './outbound-jobs';
import type { UserNames } from './user-names';

/**
 * The transcript Case of a completed conversation (contract §4): the webhook queues a
 * `transcript.build` job in the same transaction that stores the event; the job merges Haptik's bot
 * history with the agent part from the bridge's message log, renders and redacts it, and queues (with
 * marking the event processed) the upsert on `Haptik_Conversation_Key__c`, so a Case a handover already
 * made is the one updated. A transcript too long for the field also goes, whole, into a file attached to
 * the Case by a `salesforce.transcript_file` job that runs after the upsert (same ordering key).
 */
export const TRANSCRIPT_BUILD_JOB = 'transcript.build';
export const TRANSCRIPT_FILE_JOB = 'salesforce.transcript_file';
/**
 * BRIDGE_TRANSCRIPT_FILES=link: one job per file of the conversation puts it on the transcript Case (a
 * ContentVersion), after the Case's upsert (same ordering key). When all have run, the transcript is built once
 * more (`refresh`) if what it says of the files changed (one could not be attached, a size became known).
 */
export const CASE_FILE_JOB = 'salesforce.case_file';

const buildPayloadSchema = z.object({
    conversationKey: z.string(),
    userId: z.string(),
    /** Absent when the completion came from a TRACT hook: looked up when the job runs. */
    userName: z.string().optional(),
    conversationNo: z.string(),
    channel: z.string(),
    userFullName: z.string().optional(),
    completion: z.string().optional(),
    closingReason: z.string().optional(),
    inbound: z.object({ source: z.string(), eventId: z.string() }),
    /**
     * Set on the second build after the files were put on the Case: what the first build said of them (a hash of
     * their lines), and whether it had Haptik's history (a refresh never replaces it with less).
     */
    refresh: z.object({ files: z.string(), withHistory: z.boolean() }).optional()
});
export type TranscriptBuildPayload = z.infer<typeof buildPayloadSchema>;

const filePayloadSchema = z.object({
    conversationKey: z.string(),
    upsertJobId: z.string(),
    fileName: z.string(),
    title: z.string(),
    text: z.string()
});
export type TranscriptFilePayload = z.infer<typeof filePayloadSchema>;

const caseFilePayloadSchema = z.object({
    conversationKey: z.string(),
    upsertJobId: z.string(),
    /** The file's row in handover_files. */
    fileId: z.string()
});
export type CaseFilePayload = z.infer<typeof caseFilePayloadSchema>;

export interface TranscriptCaseService {
    /**
     * Inside the webhook's transaction, for a new `webhook_conversation_complete`: queues the
     * transcript job when the mode allows, else marks the event processed. Returns whether it queued.
     */
    onConversationComplete(
        tx: Queryable,
        payload: HaptikWebhookPayload,
        inbound: { source: string; eventId: string }
    ): Promise<boolean>;
    /**
     * Inside the TRACT hook's transaction, for `collection_state`/`complete` (every channel): the same
     * transcript job as the webhook's, on the same conversation key, so whichever comes second adds nothing.
     */
    onTractComplete(
        tx: Queryable,
        input: { userId: string; conversationNo: string },
        inbound: { source: string; eventId: string }
    ): Promise<boolean>;
    /** The outbox handlers of the job kinds. */
    handlers: OutboxHandlers;
}

/** Where the files of a conversation come from again when they are put on its Case (BRIDGE_TRANSCRIPT_FILES). */
export interface TranscriptFilesDeps {
    /** `link`: each file also goes on the transcript Case; `off`: the transcript only lists them. */
    mode: 'off' | 'link';
    /** Users' files, from BRIDGE_FILE_HOSTS only (files/file-fetcher.ts). */
    userFiles: Pick<FileFetcher, 'open'>;
    /** Agents' files, with the chat's credentials while they still open it; undefined without a chat adapter. */
    agentFiles: Pick<ChatFileSource, 'open'> | undefined;
    /** BRIDGE_FILE_MAX_BYTES. */
    maxBytes: number;
    /** BRIDGE_FILE_TIMEOUT_SECONDS × 1000: one file's download and upload. */
    timeoutMs: number;
    /** Tries at a file whose download keeps failing for a passing reason before it is given up (default 5). */
    attempts?: number;
}

export interface TranscriptCaseServiceDeps {
    db: Db;
    haptik: Pick<HaptikClient, 'getChatHistory'>;
    /** The user's Haptik user name when the completion did not carry it (TRACT hooks). */
    userNames: Pick<UserNames, 'nameOf'>;
    salesforce: Pick<SalesforceClient, 'query' | 'createContentVersion' | 'createFileVersion'>;
    settings: TranscriptSettings;
    /** Unset: as BRIDGE_TRANSCRIPT_FILES=off. */
    files?: TranscriptFilesDeps;
    businessId: string;
    redact: Redactor;
    logger: Logger;
}

const CHANNELS: readonly string[] = ['Web', 'Android', 'iOS', 'WhatsApp', 'Facebook', 'Other'];

function text(value: unknown): string | undefined {
    if (typeof value === 'number') return String(value);
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function userFullNameOf(payload: HaptikWebhookPayload): string | undefined {
    const details = payload.data?.user_details ?? {};
    const first = text(details['first_name']);
    const last = text(details['last_name']);
    return (
        text(details['name']) ??
        text(details['full_name']) ??
        (first !== undefined ? [first, last].filter(Boolean).join(' ') : undefined)
    );
}

function closingReasonOf(payload: HaptikWebhookPayload): string | undefined {
    const categories = payload.data?.closing_categories;
    if (typeof categories !== 'object' || categories === null) return undefined;
    const { reason, subReason } = categories as { reason?: unknown; subReason?: unknown };
    const parts = [text(reason), text(subReason)].filter((p): p is string => p !== undefined);
    return parts.length === 0 ? undefined : parts.join(' / ');
}

function historyEntry(entry: ChatHistoryEntry): TranscriptEntry {
    const sender = historySender(entry.sender);
    return { at: entry.at, role: sender.role, name: sender.name, text: entry.plainText, messageId: entry.messageId };
}

function upsertedCaseId(result: unknown): string | undefined {
    if (typeof result !== 'object' || result === null) return undefined;
    const id = (result as { id?: unknown }).id;
    return typeof id === 'string' && id !== '' ? id : undefined;
}

/** Why a file is not on the Case, in the transcript's words; the database keeps the code. */
const NOT_ATTACHED: Record<string, string> = {
    bridge_files_gone: 'the file is no longer available',
    bridge_files_rejected: 'the file is no longer available',
    bridge_files_too_large: 'it is larger than the file size limit',
    bridge_files_type_refused: 'its file type is not accepted',
    bridge_files_host_refused: 'it is not on an allowed file host',
    bridge_files_address_refused: 'it is not on an allowed file host',
    bridge_files_redirect_refused: 'it is not on an allowed file host',
    bridge_files_url_invalid: 'it is not on an allowed file host',
    bridge_chat_unauthorized: "the chat's files can no longer be opened",
    bridge_files_chat_unreachable: "the chat's files can no longer be opened",
    bridge_salesforce_api_error: 'Salesforce refused it'
};

export function notAttachedText(code: string): string {
    return NOT_ATTACHED[code] ?? 'it could not be downloaded';
}

function transcriptFileOf(file: HandoverFile): TranscriptFile {
    return {
        sender: file.sender,
        name: file.name,
        contentType: file.contentType,
        size: file.size,
        ...(file.notAttached === undefined ? {} : { notAttached: notAttachedText(file.notAttached) })
    };
}

/** What the transcript says of a conversation's files, as a hash: a refresh is needed only when it changed. */
function filesFingerprint(files: readonly HandoverFile[]): string {
    const lines = files.map((file) => transcriptFileLine(transcriptFileOf(file))).join('\n');
    return createHash('sha256').update(lines).digest('base64url');
}

/**
 * The Case file's PathOnClient: `haptik/<hash of the file's key>/<name>`. Salesforce takes the file's type from
 * its extension (added from the type when the name has none), and the folder makes it this one file's path, which
 * is what the look for it after an unknown outcome filters on (PathOnClient is filterable; the name alone is not
 * unique: two photos may both be "image.jpg").
 */
export function caseFilePath(file: Pick<HandoverFile, 'id' | 'name' | 'contentType'>): string {
    const key = createHash('sha256').update(file.id).digest('hex').slice(0, 24);
    const name = safeFileName(file.name);
    const extension = /\.[A-Za-z0-9]{1,5}$/.test(name) ? '' : (extensionFor(file.contentType) ?? '');
    return `haptik/${key}/${name}${extension}`;
}

/** A final refusal (retrying cannot help) or, after `attempts` tries, any failure: the code the file is given up with. */
function giveUpReason(error: unknown, attempt: number, attempts: number): string | undefined {
    // Not the file gone, but the way to it: a chat API without files, or a handover the bridge no longer knows.
    const reason = error instanceof BridgeError ? error.details['reason'] : undefined;
    if (reason === 'adapter_without_files' || reason === 'chat_unknown') return 'bridge_files_chat_unreachable';
    if (error instanceof BridgeError && error.details['retryable'] === false) return error.code;
    return attempt >= attempts ? 'bridge_files_unavailable' : undefined;
}

export function createTranscriptCaseService(deps: TranscriptCaseServiceDeps): TranscriptCaseService {
    const { db, settings } = deps;
    const linking = deps.files?.mode === 'link';

    /** `handover` mode: only conversations an agent took part in (a handover, or agent messages logged). */
    async function hadHandover(q: Queryable, key: string): Promise<boolean> {
        if ((await listHandoversByConversation(q, key)).length > 0) return true;
        return (await listMessages(q, key)).some((m) => m.sender === 'agent');
    }

    /**
     * Queues the transcript job when the mode wants one, else marks the event processed. A completion
     * seen before (the webhook after the TRACT hook, or the other way round) finds the job queued already:
     * its own event is marked processed, nothing else happens.
     */
    async function queueTranscript(
        tx: Queryable,
        job: TranscriptBuildPayload,
        inbound: { source: string; eventId: string }
    ): Promise<boolean> {
        const key = job.conversationKey;
        const wanted = settings.mode === 'all' || (settings.mode === 'handover' && (await hadHandover(tx, key)));
        if (!wanted) {
            await markInboundProcessed(tx, inbound);
            return false;
        }
        const queued = await enqueue(tx, {
            kind: TRANSCRIPT_BUILD_JOB,
            orderingKey: `conversation:${key}`,
            idempotencyKey: `transcript:${key}`,
            payload: job
        });
        if (queued.duplicate) {
            await markInboundProcessed(tx, { ...inbound, error: 'transcript already queued' });
            return false;
        }
        return true;
    }

    async function onConversationComplete(
        tx: Queryable,
        payload: HaptikWebhookPayload,
        inbound: { source: string; eventId: string }
    ): Promise<boolean> {
        const userId = payload.user.user_id ?? payload.user.user_name ?? payload.user.auth_id ?? '-';
        const conversationNo = payload.data?.conversation_no ?? '-';
        const fullName = userFullNameOf(payload);
        const completion = text(payload.data?.completion_type);
        const closingReason = closingReasonOf(payload);
        return queueTranscript(
            tx,
            {
                conversationKey: conversationKey(deps.businessId, userId, conversationNo),
                userId,
                userName: payload.user.user_name ?? userId,
                conversationNo,
                channel: channelOf(payload.user.device_platform ?? payload.user.device_platform_name),
                inbound,
                ...(fullName !== undefined ? { userFullName: fullName } : {}),
                ...(completion !== undefined ? { completion } : {}),
                ...(closingReason !== undefined ? { closingReason } : {})
            },
            inbound
        );
    }

    function onTractComplete(
        tx: Queryable,
        input: { userId: string; conversationNo: string },
        inbound: { source: string; eventId: string }
    ): Promise<boolean> {
        return queueTranscript(
            tx,
            {
                conversationKey: conversationKey(deps.businessId, input.userId, input.conversationNo),
                userId: input.userId,
                conversationNo: input.conversationNo,
                // TRACT hooks name no channel: the one the conversation stored is used (see build).
                channel: 'Other',
                inbound,
                completion: 'tract'
            },
            inbound
        );
    }

    /** The bot part from Haptik; a permanent refusal leaves the Case with what the bridge has (`refused`). */
    async function botHistory(
        job: TranscriptBuildPayload,
        ctx: OutboxJobContext
    ): Promise<{ entries: TranscriptEntry[]; refused: boolean }> {
        const userName = job.userName ?? (await deps.userNames.nameOf(job.userId));
        if (userName === undefined) {
            ctx.logger.warn('no Haptik user name for the user; the transcript holds only what the bridge relayed');
            return { entries: [], refused: true };
        }
        try {
            const entries = await deps.haptik.getChatHistory({
                userName,
                conversationNo: job.conversationNo
            });
            return { entries: entries.map(historyEntry), refused: false };
        } catch (error) {
            // Transient (5xx, timeouts, 429): the worker retries the job with backoff.
            if (!isPermanentFailure(error)) throw error;
            ctx.logger.warn(
                { code: error instanceof BridgeError ? error.code : 'unknown' },
                'Haptik refused the chat history; the transcript holds only what the bridge relayed'
            );
            return { entries: [], refused: true };
        }
    }

    /** The bridge's part: its message log, each message with files listed as the bridge knows them now. */
    async function bridgeLog(key: string, files: readonly HandoverFile[]): Promise<TranscriptEntry[]> {
        const agents = new Map<string, string>();
        for (const handover of await listHandoversByConversation(db, key)) {
            if (handover.agentName) agents.set(handover.id, handover.agentName);
        }
        const byMessage = new Map<string, TranscriptFile[]>();
        for (const file of files) {
            const at = `${file.sender}:${file.messageId}`;
            byMessage.set(at, [...(byMessage.get(at) ?? []), transcriptFileOf(file)]);
        }
        return (await listMessages(db, key)).map((m) => {
            const text = m.text.trim() !== '' ? m.text : hslToPlainText(m.hsl);
            const own = m.externalId === null ? undefined : byMessage.get(`${m.sender}:${m.externalId}`);
            return {
                at: m.createdAt,
                role: m.sender,
                name: m.sender === 'agent' && m.handoverId !== null ? agents.get(m.handoverId) : undefined,
                text: own === undefined ? text : withFileLines(text, own),
                messageId: m.externalId ?? undefined
            };
        });
    }

    async function build(raw: unknown, ctx: OutboxJobContext): Promise<unknown> {
        const job = parse(buildPayloadSchema, raw, TRANSCRIPT_BUILD_JOB);
        const key = job.conversationKey;
        const files = await listConversationFiles(db, key);
        const { refresh } = job;
        if (refresh !== undefined && filesFingerprint(files) === refresh.files) return { refreshed: false };
        const { entries: history, refused } = await botHistory(job, ctx);
        if (refresh !== undefined && refused && refresh.withHistory) {
            ctx.logger.warn("the transcript's file notes are not written: Haptik's history is not available now");
            return { refreshed: false };
        }
        const logged = await bridgeLog(key, files);
        const entries = mergeTranscriptEntries(history, logged, settings.duplicateWindowMs);

        const conversation = await getConversation(db, key);
        const storedName = (conversation?.context['user'] as { name?: unknown } | undefined)?.name;
        const userName = job.userFullName ?? text(storedName) ?? settings.userName;
        const channel: HaptikChannel =
            job.channel === 'Other' && conversation?.channel && CHANNELS.includes(conversation.channel)
                ? (conversation.channel as HaptikChannel)
                : CHANNELS.includes(job.channel)
                  ? (job.channel as HaptikChannel)
                  : 'Other';

        // Redaction comes before anything leaves the bridge: the field, the file and the summary.
        const transcript = deps.redact(
            renderTranscript(entries, { user: userName, bot: settings.botName, agent: settings.agentName })
        );
        const fileName = transcriptFileName(key);
        const fitted = fitTranscript(transcript, fileName);
        const subject = settings.subject.replace(/\{(\w+)\}/g, (whole, name: string) =>
            name === 'name' ? userName : name === 'channel' ? channel : whole
        );
        // A Case a handover made already has its subject and description (the bot context): only the
        // transcript fields are added to it.
        const describe =
            conversation?.caseId == null
                ? {
                      Subject: deps.redact(subject),
                      Description: deps.redact(
                          transcriptSummary(entries, {
                              channel,
                              conversationNo: job.conversationNo,
                              completion: job.completion,
                              closingReason: job.closingReason
                          })
                      ),
                      Origin: settings.origin
                  }
                : {};
        // A refresh rewrites the transcript alone: the rest was written a moment ago, and may have been changed since.
        const fields =
            refresh === undefined
                ? truncateCaseFields({
                      ...describe,
                      ...(settings.status !== undefined ? { Status: settings.status } : {}),
                      Haptik_Transcript__c: fitted.fieldText,
                      Haptik_User_Id__c: job.userId,
                      Haptik_Channel__c: channel
                  })
                : { Haptik_Transcript__c: fitted.fieldText };
        const toLink =
            linking && refresh === undefined
                ? files.filter((f) => f.contentVersionId === undefined && f.notAttached === undefined)
                : [];

        // The handover upserts this Case on the same ordering key, so the two writes never race to create it.
        await db.transaction(async (tx) => {
            const upsert = await enqueueOutbound(tx, 'salesforce.upsert', {
                orderingKey: `case:conv:${key}`,
                idempotencyKey: refresh === undefined ? `transcript-case:${key}` : `transcript-case:${key}:files`,
                payload: {
                    type: 'Case',
                    externalIdField: 'Haptik_Conversation_Key__c',
                    externalId: key,
                    fields
                }
            });
            if (refresh !== undefined) return;
            if (fitted.overflow) {
                const file: TranscriptFilePayload = {
                    conversationKey: key,
                    upsertJobId: upsert.id,
                    fileName,
                    title: truncateText(`Chat transcript ${key}`, 255),
                    text: transcript
                };
                await enqueue(tx, {
                    kind: TRANSCRIPT_FILE_JOB,
                    orderingKey: `case:conv:${key}`,
                    idempotencyKey: `transcript-file:${key}`,
                    payload: file
                });
            }
            await queueCaseFiles(tx, job, upsert.id, toLink, {
                files: filesFingerprint(files),
                withHistory: !refused
            });
            await markInboundProcessed(tx, job.inbound);
        });
        ctx.logger.info(
            {
                messages: entries.length,
                fromHistory: history.length,
                fromBridge: logged.length,
                overflow: fitted.overflow,
                files: files.length,
                filesToLink: toLink.length,
                refresh: refresh !== undefined
            },
            refresh === undefined ? 'transcript Case queued' : "transcript Case's file notes queued"
        );
        return refresh === undefined ? undefined : { refreshed: true };
    }

    /**
     * One job per file to put on the Case, after the upsert, then the refresh that writes what became of them into
     * the transcript (same ordering key: it runs once every file job has finished or been given up).
     */
    async function queueCaseFiles(
        tx: Queryable,
        job: TranscriptBuildPayload,
        upsertJobId: string,
        files: readonly HandoverFile[],
        refresh: NonNullable<TranscriptBuildPayload['refresh']>
    ): Promise<void> {
        if (files.length === 0) return;
        const key = job.conversationKey;
        for (const file of files) {
            const payload: CaseFilePayload = { conversationKey: key, upsertJobId, fileId: file.id };
            await enqueue(tx, {
                kind: CASE_FILE_JOB,
                orderingKey: `case:conv:${key}`,
                idempotencyKey: `case-file:${file.id}`,
                payload
            });
        }
        const again: TranscriptBuildPayload = { ...job, refresh };
        await enqueue(tx, {
            kind: TRANSCRIPT_BUILD_JOB,
            orderingKey: `case:conv:${key}`,
            idempotencyKey: `transcript-refresh:${key}`,
            payload: again
        });
    }

    async function caseIdFor(job: Pick<TranscriptFilePayload, 'upsertJobId' | 'conversationKey'>): Promise<string> {
        const upsert = await awaitJob(db, job.upsertJobId, { timeoutMs: 0 });
        if (upsert.state === 'dead') {
            throw permanentFailure(
                new BridgeError(
                    'bridge_transcript_case_failed',
                    'The transcript Case was rejected, so its file has nowhere to go',
                    { details: { upsertJobId: job.upsertJobId, upsertError: upsert.lastErrorCode } }
                )
            );
        }
        const fromResult = upsertedCaseId(upsert.result);
        if (fromResult !== undefined) return fromResult;
        const rows = await deps.salesforce.query<{ Id: string }>(
            `SELECT Id FROM Case WHERE Haptik_Conversation_Key__c = ${soqlString(job.conversationKey)} LIMIT 1`
        );
        const id = rows[0]?.Id;
        if (id === undefined) {
            throw new BridgeError('bridge_transcript_case_missing', 'The transcript Case does not exist yet', {
                details: { retryable: true }
            });
        }
        return id;
    }

    /**
     * A retry after a lost answer must not attach the file twice: look for it first. A failed look is not
     * "not attached": it fails the attempt (the outbox retries), so the file is never made twice.
     */
    async function alreadyAttached(caseId: string, fileName: string, ctx: OutboxJobContext): Promise<boolean> {
        if (ctx.attempt <= 1) return false;
        const rows = await deps.salesforce.query<{ Id: string }>(
            `SELECT Id FROM ContentVersion WHERE FirstPublishLocationId = ${soqlString(caseId)} ` +
                `AND PathOnClient = ${soqlString(fileName)} LIMIT 1`
        );
        return rows.length > 0;
    }

    async function attach(raw: unknown, ctx: OutboxJobContext): Promise<void> {
        const job = parse(filePayloadSchema, raw, TRANSCRIPT_FILE_JOB);
        const caseId = await caseIdFor(job);
        if (await alreadyAttached(caseId, job.fileName, ctx)) return;
        let file: { contentDocumentId: string };
        try {
            file = await deps.salesforce.createContentVersion({
                title: job.title,
                pathOnClient: job.fileName,
                text: job.text,
                firstPublishLocationId: caseId
            });
        } catch (error) {
            // Saved or not, nobody can tell: the next attempt looks for the file before making it again.
            if (isSalesforceError(error) && error.details.outcomeUnknown === true) {
                throw new BridgeError('bridge_transcript_file_unknown', 'The transcript file may have been saved', {
                    cause: error,
                    details: { retryable: true }
                });
            }
            throw error;
        }
        ctx.logger.info({ contentDocumentId: file.contentDocumentId }, 'transcript file attached to the Case');
    }

    /** Opens a file where it came from: a user's from its (allowed) host, an agent's through the chat. */
    async function openSource(
        files: TranscriptFilesDeps,
        file: HandoverFile,
        signal: AbortSignal
    ): Promise<{ body: AsyncIterable<Uint8Array>; contentType?: string | undefined; size?: number | undefined }> {
        if (file.sender === 'user') {
            const fetched = await files.userFiles.open(file.sourceUrl, { signal });
            return { body: fetched.body, contentType: fetched.contentType, size: fetched.contentLength };
        }
        if (files.agentFiles === undefined || file.sourceId === undefined) {
            throw new BridgeError('bridge_files_gone', 'The chat that holds the file cannot be reached', {
                details: { retryable: false, reason: 'adapter_without_files' }
            });
        }
        const opened = await files.agentFiles.open(
            {
                handoverId: file.handoverId,
                attachmentId: file.sourceId,
                url: file.sourceUrl,
                contentType: file.contentType
            },
            signal
        );
        return { body: opened.body, contentType: opened.contentType, size: opened.contentLength };
    }

    /** Gives the file up: the transcript's refresh says so; the log says why, without the file's name or URL. */
    async function notAttached(file: HandoverFile, reason: string, ctx: OutboxJobContext): Promise<unknown> {
        await markFileNotAttached(db, file.id, reason);
        ctx.logger.warn(
            { handoverId: file.handoverId, sender: file.sender, reason },
            'a file of the conversation could not be attached to the transcript Case'
        );
        return { notAttached: reason };
    }

    /**
     * Job `salesforce.case_file`: puts one file of the conversation on its transcript Case, streamed from where it
     * came from, exactly once. Before each upload it looks for the file on the Case (its unique PathOnClient), so
     * a retry after an answer that was lost (a gateway's 502 after Salesforce saved it) finds it instead of making
     * a second; the ContentVersion id is kept in handover_files, and a file kept there is never sent again. A file
     * that cannot be had any more (gone, expired, refused, too large) is given up at once, one that keeps failing
     * for a passing reason after `attempts` tries: either way the transcript says it was not attached, and why.
     */
    async function attachCaseFile(raw: unknown, ctx: OutboxJobContext): Promise<unknown> {
        const job = parse(caseFilePayloadSchema, raw, CASE_FILE_JOB);
        const files = deps.files;
        const file = await getHandoverFile(db, job.fileId);
        if (files === undefined || file === undefined) return { skipped: 'no such file' };
        if (file.contentVersionId !== undefined) return { contentVersionId: file.contentVersionId };
        if (file.notAttached !== undefined) return { notAttached: file.notAttached };
        const caseId = await caseIdFor(job);
        const pathOnClient = caseFilePath(file);
        // A failed look fails the attempt (retried): it is never taken for "not there".
        const found = await deps.salesforce.query<{ Id: string }>(
            `SELECT Id FROM ContentVersion WHERE FirstPublishLocationId = ${soqlString(caseId)} ` +
                `AND PathOnClient = ${soqlString(pathOnClient)} LIMIT 1`
        );
        if (found[0] !== undefined) {
            await markFileAttached(db, file.id, found[0].Id);
            return { contentVersionId: found[0].Id, found: true };
        }
        const attempts = files.attempts ?? 5;
        const deadline = AbortSignal.timeout(files.timeoutMs);
        let source: Awaited<ReturnType<typeof openSource>>;
        try {
            source = await openSource(files, file, deadline);
        } catch (error) {
            const reason = giveUpReason(error, ctx.attempt, attempts);
            if (reason === undefined) throw error;
            return notAttached(file, reason, ctx);
        }
        if (source.size !== undefined && source.size > files.maxBytes) {
            discard(source.body);
            return notAttached(file, 'bridge_files_too_large', ctx);
        }
        const counted = countBytes(source.body, { maxBytes: files.maxBytes });
        const title = file.name.replace(/\.[A-Za-z0-9]{1,5}$/, '') || file.name;
        let created: { id: string };
        try {
            created = await deps.salesforce.createFileVersion(
                {
                    title: truncateText(title, 255),
                    pathOnClient,
                    firstPublishLocationId: caseId,
                    description: `Sent by the ${file.sender} in the chat, ${formatTranscriptTime(file.createdAt)}`,
                    fileName: file.name,
                    contentType: source.contentType ?? file.contentType,
                    body: counted.body
                },
                { timeoutMs: files.timeoutMs }
            );
        } catch (error) {
            // Saved or not, nobody can tell: the next attempt looks for the file before sending it again.
            if (isSalesforceError(error) && error.details.outcomeUnknown === true) {
                throw new BridgeError('bridge_transcript_file_unknown', 'The file may have been saved on the Case', {
                    cause: error,
                    details: { retryable: true }
                });
            }
            // Salesforce refusing this file (storage full, a rule) is final for it; an outage or an authorization
            // problem is the org's, not the file's: retried like every call, never given up as "not attached".
            if (isSalesforceError(error)) {
                if (error.code !== 'bridge_salesforce_api_error') throw error;
                return notAttached(file, error.code, ctx);
            }
            const reason = giveUpReason(error, ctx.attempt, attempts);
            if (reason === undefined) throw error;
            return notAttached(file, reason, ctx);
        } finally {
            counted.body.destroy();
            discard(source.body);
        }
        await markFileAttached(db, file.id, created.id);
        if (file.size === undefined && counted.complete()) {
            await noteFileSeen(db, file.id, { size: counted.bytes() });
        }
        ctx.logger.info({ handoverId: file.handoverId, sender: file.sender }, 'file attached to the transcript Case');
        return { contentVersionId: created.id };
    }

    return {
        onConversationComplete,
        onTractComplete,
        handlers: { [TRANSCRIPT_BUILD_JOB]: build, [TRANSCRIPT_FILE_JOB]: attach, [CASE_FILE_JOB]: attachCaseFile }
    };
}

/** Releases a body that will not be read (further). */
function discard(body: AsyncIterable<Uint8Array>): void {
    const stream = body as { destroy?: () => void; on?: (event: string, listener: () => void) => void };
    stream.on?.('error', () => undefined);
    stream.destroy?.();
}

function parse<T>(schema: z.ZodType<T>, raw: unknown, kind: string): T {
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
        throw new BridgeError('bridge_outbox_bad_payload', `Job payload of ${kind} is not readable`, {
            details: { retryable: false, issues: parsed.error.issues.map((i) => i.path.join('.')) }
        });
    }
    return parsed.data;
}
