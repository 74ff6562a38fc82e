import { z } from 'zod';
import { BridgeError } from '../core/errors';
import type { Queryable } from '../store/db';
import { enqueue } from '../store/outbox';
import type { NewOutboxJob } from '../store/outbox';

/**
 * The outbox job kinds of live-agent handover: calls to the chat adapter (in order per handover, key
 * `chat:<handoverId>`) and the handover's own timers and Salesforce links. The Haptik and Salesforce
 * calls themselves use the shared kinds of outbound-jobs.ts.
 */
const triggerSchema = z.object({
    source: z.enum(['integration', 'tract_event']),
    user: z.looseObject({
        user_id: z.string(),
        user_name: z.string().nullish(),
        full_name: z.string().nullish(),
        auth_id: z.string().nullish(),
        language_code: z.string().nullish(),
        device_platform: z.union([z.number(), z.string()]).nullish()
    }),
    conversationNo: z.string(),
    node: z.unknown().optional(),
    conversation_details: z.record(z.string(), z.unknown()).optional(),
    user_details: z.record(z.string(), z.unknown()).optional(),
    entities: z
        .record(
            z.string(),
            z.array(z.looseObject({ entity_value: z.unknown().optional(), original_text: z.string().nullish() }))
        )
        .optional()
});

export const HANDOVER_JOB_SCHEMAS = {
    'chat.open': z.object({ handoverId: z.string(), trigger: triggerSchema }),
    'chat.send_message': z.object({ handoverId: z.string(), messageId: z.string(), text: z.string() }),
    /** A user's file for the agent (issue 18): downloaded from `url` and uploaded into the chat, or sent as a link. */
    'chat.send_file': z.object({
        handoverId: z.string(),
        messageId: z.string(),
        url: z.string(),
        name: z.string(),
        kind: z.enum(['image', 'document']),
        /** The file's row in handover_files (absent in jobs queued before schema v6). */
        fileId: z.string().optional()
    }),
    'chat.typing': z.object({ handoverId: z.string(), typing: z.boolean() }),
    'chat.end': z.object({ handoverId: z.string() }),
    'handover.timeout': z.object({ handoverId: z.string() }),
    /** An agent's file for the user (issue 18): a Haptik message with a signed link, issued when the job runs. */
    'haptik.send_file': z.object({
        handoverId: z.string(),
        userId: z.string(),
        messageId: z.string(),
        language: z.string().nullish(),
        agentName: z.string().optional(),
        attachment: z.object({ id: z.string(), name: z.string(), contentType: z.string(), url: z.string() })
    }),
    'handover.link_case': z.object({
        handoverId: z.string(),
        chatRecordId: z.string(),
        caseJobId: z.string(),
        recordType: z.enum(['MessagingSession', 'LiveChatTranscript'])
    })
} as const;

export type HandoverJobKind = keyof typeof HANDOVER_JOB_SCHEMAS;
export type HandoverJobPayload<K extends HandoverJobKind> = z.infer<(typeof HANDOVER_JOB_SCHEMAS)[K]>;

export function chatOrderingKey(handoverId: string): string {
    return `chat:${handoverId}`;
}

/** Calls on the live chat session: they run in the instance that reads the chat's stream, while it lives. */
const STREAM_BOUND: ReadonlySet<HandoverJobKind> = new Set([
    'chat.send_message',
    'chat.send_file',
    'chat.typing',
    'chat.end'
]);

export type HandoverJob<K extends HandoverJobKind> = {
    orderingKey: string;
    idempotencyKey: string;
    payload: HandoverJobPayload<K>;
    runAt?: Date;
};

/** The outbox job of a handover kind, bound to the chat's stream where its kind needs that. */
export function handoverJob<K extends HandoverJobKind>(kind: K, job: HandoverJob<K>): NewOutboxJob {
    return { kind, ...job, ...(STREAM_BOUND.has(kind) ? { streamId: job.payload.handoverId } : {}) };
}

export function enqueueHandoverJob<K extends HandoverJobKind>(
    q: Queryable,
    kind: K,
    job: HandoverJob<K>
): Promise<{ id: string; duplicate: boolean }> {
    return enqueue(q, handoverJob(kind, job));
}

export function parseHandoverJob<K extends HandoverJobKind>(kind: K, raw: unknown): HandoverJobPayload<K> {
    const parsed = HANDOVER_JOB_SCHEMAS[kind].safeParse(raw);
    if (!parsed.success) {
        throw new BridgeError('bridge_outbox_bad_payload', `Job payload of ${kind} is not readable`, {
            details: { retryable: false, issues: parsed.error.issues.map((i) => i.path.join('.')) }
        });
    }
    return parsed.data as HandoverJobPayload<K>;
}
