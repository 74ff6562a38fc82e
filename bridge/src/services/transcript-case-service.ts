import { z } from 'zod';
import { channelOf, truncateCaseFields, truncateText } from '../core/case-templates';
import type { HaptikChannel } from '../core/case-templates';
import { BridgeError } from '../core/errors';
import type { Redactor } from '../core/redaction';
import {
    fitTranscript,
    historySender,
    mergeTranscriptEntries,
    renderTranscript,
    transcriptFileName,
    transcriptSummary
} from '../core/transcript';
import type { TranscriptEntry, TranscriptSettings } from '../core/transcript';
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
    inbound: z.object({ source: z.string(), eventId: z.string() })
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
    /** The outbox handlers of the two job kinds. */
    handlers: OutboxHandlers;
}

export interface TranscriptCaseServiceDeps {
    db: Db;
    haptik: Pick<HaptikClient, 'getChatHistory'>;
    /** The user's Haptik user name when the completion did not carry it (TRACT hooks). */
    userNames: Pick<UserNames, 'nameOf'>;
    salesforce: Pick<SalesforceClient, 'query' | 'createContentVersion'>;
    settings: TranscriptSettings;
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

export function createTranscriptCaseService(deps: TranscriptCaseServiceDeps): TranscriptCaseService {
    const { db, settings } = deps;

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

    /** The bot part from Haptik; a permanent refusal leaves the Case with what the bridge has. */
    async function botHistory(job: TranscriptBuildPayload, ctx: OutboxJobContext): Promise<TranscriptEntry[]> {
        const userName = job.userName ?? (await deps.userNames.nameOf(job.userId));
        if (userName === undefined) {
            ctx.logger.warn('no Haptik user name for the user; the transcript holds only what the bridge relayed');
            return [];
        }
        try {
            const entries = await deps.haptik.getChatHistory({
                userName,
                conversationNo: job.conversationNo
            });
            return entries.map(historyEntry);
        } catch (error) {
            // Transient (5xx, timeouts, 429): the worker retries the job with backoff.
            if (!isPermanentFailure(error)) throw error;
            ctx.logger.warn(
                { code: error instanceof BridgeError ? error.code : 'unknown' },
                'Haptik refused the chat history; the transcript holds only what the bridge relayed'
            );
            return [];
        }
    }

    async function bridgeLog(key: string): Promise<TranscriptEntry[]> {
        const agents = new Map<string, string>();
        for (const handover of await listHandoversByConversation(db, key)) {
            if (handover.agentName) agents.set(handover.id, handover.agentName);
        }
        return (await listMessages(db, key)).map((m) => ({
            at: m.createdAt,
            role: m.sender,
            name: m.sender === 'agent' && m.handoverId !== null ? agents.get(m.handoverId) : undefined,
            text: m.text.trim() !== '' ? m.text : hslToPlainText(m.hsl),
            messageId: m.externalId ?? undefined
        }));
    }

    async function build(raw: unknown, ctx: OutboxJobContext): Promise<void> {
        const job = parse(buildPayloadSchema, raw, TRANSCRIPT_BUILD_JOB);
        const key = job.conversationKey;
        const history = await botHistory(job, ctx);
        const logged = await bridgeLog(key);
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
        const fields = truncateCaseFields({
            ...describe,
            ...(settings.status !== undefined ? { Status: settings.status } : {}),
            Haptik_Transcript__c: fitted.fieldText,
            Haptik_User_Id__c: job.userId,
            Haptik_Channel__c: channel
        });

        // The handover upserts this Case on the same ordering key, so the two writes never race to create it.
        await db.transaction(async (tx) => {
            const upsert = await enqueueOutbound(tx, 'salesforce.upsert', {
                orderingKey: `case:conv:${key}`,
                idempotencyKey: `transcript-case:${key}`,
                payload: {
                    type: 'Case',
                    externalIdField: 'Haptik_Conversation_Key__c',
                    externalId: key,
                    fields
                }
            });
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
            await markInboundProcessed(tx, job.inbound);
        });
        ctx.logger.info(
            {
                messages: entries.length,
                fromHistory: history.length,
                fromBridge: logged.length,
                overflow: fitted.overflow
            },
            'transcript Case queued'
        );
    }

    async function caseIdFor(job: TranscriptFilePayload): Promise<string> {
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

    return {
        onConversationComplete,
        onTractComplete,
        handlers: { [TRANSCRIPT_BUILD_JOB]: build, [TRANSCRIPT_FILE_JOB]: attach }
    };
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
