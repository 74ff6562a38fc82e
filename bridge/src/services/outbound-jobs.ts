import { z } from 'zod';
import { BridgeError } from '../core/errors';
import type { HaptikClient } from '../haptik/haptik-client';
import type { ThreadControlDirectory } from '../haptik/thread-control';
import type { SalesforceClient, SfFields, UpsertManyResult } from '../salesforce/salesforce-client';
import type { Queryable } from '../store/db';
import { enqueue } from '../store/outbox';
import type {
    BatchItemOutcome,
    OutboxBatchHandler,
    OutboxBatchHandlers,
    OutboxHandler,
    OutboxHandlers
} from '../store/outbox-worker';

/**
 * The outbound calls that must not be lost, as outbox job kinds. Features enqueue them in the same
 * transaction as the state change that causes them; the outbox worker runs them with retries, in order
 * per key (one Haptik user, one Salesforce record).
 */
const haptikMessage = z.object({
    userId: z.string(),
    hsl: z.string(),
    metadata: z.looseObject({ message_id: z.string() })
});
const haptikEvent = z.object({
    userId: z.string(),
    category: z.string(),
    subcategory: z.string(),
    metadata: z.union([z.string(), z.record(z.string(), z.unknown())]).optional()
});
const haptikThreadControl = z.object({ userId: z.string(), requester: z.string(), receiver: z.string() });
const salesforceUpsert = z.object({
    type: z.string(),
    externalIdField: z.string(),
    externalId: z.string(),
    fields: z.record(z.string(), z.unknown()),
    /** Run the org's assignment rules if this upsert creates the record (a case template that asks). */
    assignmentRules: z.boolean().optional()
});
const salesforceUpdate = z.object({ type: z.string(), id: z.string(), fields: z.record(z.string(), z.unknown()) });

export const OUTBOUND_JOB_SCHEMAS = {
    'haptik.message': haptikMessage,
    'haptik.event': haptikEvent,
    'haptik.thread_control': haptikThreadControl,
    'salesforce.upsert': salesforceUpsert,
    'salesforce.update': salesforceUpdate
} as const;

export type OutboundJobKind = keyof typeof OUTBOUND_JOB_SCHEMAS;
export type OutboundJobPayload<K extends OutboundJobKind> = z.infer<(typeof OUTBOUND_JOB_SCHEMAS)[K]>;

/** Queues an outbound call inside the caller's transaction; a repeated idempotency key queues nothing. */
export function enqueueOutbound<K extends OutboundJobKind>(
    q: Queryable,
    kind: K,
    job: { orderingKey: string; idempotencyKey: string; payload: OutboundJobPayload<K> }
): Promise<{ id: string; duplicate: boolean }> {
    return enqueue(q, { kind, ...job });
}

function parsePayload<K extends OutboundJobKind>(kind: K, raw: unknown): OutboundJobPayload<K> {
    const parsed = OUTBOUND_JOB_SCHEMAS[kind].safeParse(raw);
    if (!parsed.success) {
        // A payload this version cannot read will not get better with retries.
        throw new BridgeError('bridge_outbox_bad_payload', `Job payload of ${kind} is not readable`, {
            details: { retryable: false, issues: parsed.error.issues.map((i) => i.path.join('.')) }
        });
    }
    return parsed.data as OutboundJobPayload<K>;
}

function handler<K extends OutboundJobKind>(
    kind: K,
    run: (payload: OutboundJobPayload<K>) => Promise<unknown>
): OutboxHandler {
    return async (raw) => run(parsePayload(kind, raw));
}

type UpsertPayload = OutboundJobPayload<'salesforce.upsert'>;

/**
 * `salesforce.upsert` jobs due together go out as sObject Collections upserts (≤ 200 records a call)
 * grouped by object and external-id field; each job gets its own `{id, created}` or its own error.
 * Two jobs for the same external id in one batch go in consecutive calls, in job order, because one
 * collections request must not name the same external id twice.
 */
function salesforceUpsertBatch(salesforce: SalesforceClient): OutboxBatchHandler {
    return {
        maxBatch: 200,
        groupBy(raw) {
            const p = parsePayload('salesforce.upsert', raw);
            return `${p.type}\u0000${p.externalIdField}\u0000${p.assignmentRules === true}`;
        },
        async run(items) {
            const outcomes: BatchItemOutcome[] = new Array<BatchItemOutcome>(items.length);
            let waiting: Array<{ index: number; payload: UpsertPayload }> = [];
            items.forEach((item, index) => {
                try {
                    waiting.push({ index, payload: parsePayload('salesforce.upsert', item.payload) });
                } catch (error) {
                    outcomes[index] = { ok: false, error };
                }
            });
            while (waiting.length > 0) {
                const seen = new Set<string>();
                const round: typeof waiting = [];
                const later: typeof waiting = [];
                for (const entry of waiting) {
                    const key = entry.payload.externalId.toLowerCase();
                    (seen.has(key) ? later : round).push(entry);
                    seen.add(key);
                }
                const first = round[0]!.payload;
                const records: SfFields[] = round.map(({ payload }) => ({
                    ...payload.fields,
                    [payload.externalIdField]: payload.externalId
                }));
                const results: UpsertManyResult[] = await salesforce.upsertMany(
                    first.type,
                    first.externalIdField,
                    records,
                    { assignmentRules: first.assignmentRules === true }
                );
                round.forEach(({ index }, i) => {
                    const result = results[i];
                    outcomes[index] =
                        result === undefined
                            ? {
                                  ok: false,
                                  error: new BridgeError('bridge_outbox_batch_incomplete', 'no result for this record')
                              }
                            : result.ok
                              ? { ok: true, result: { id: result.id, created: result.created } }
                              : { ok: false, error: result.error };
                });
                waiting = later;
            }
            return outcomes;
        }
    };
}

/** Job kinds that run in batches when several are due together. */
export function outboundBatchHandlers(deps: { salesforce: SalesforceClient }): OutboxBatchHandlers {
    return { 'salesforce.upsert': salesforceUpsertBatch(deps.salesforce) };
}

export function outboundJobHandlers(deps: {
    haptik: HaptikClient;
    salesforce: SalesforceClient;
    /** The receiver ids of a pass, read when it runs (the job's own are the mapping file's, a fallback). */
    threadControl?: Pick<ThreadControlDirectory, 'receivers'> | undefined;
}): OutboxHandlers {
    const { haptik, salesforce, threadControl } = deps;
    return {
        'haptik.message': handler('haptik.message', (p) =>
            haptik.sendMessage({ userId: p.userId, hsl: p.hsl, metadata: p.metadata })
        ),
        'haptik.event': handler('haptik.event', (p) =>
            haptik.sendEvent({
                userId: p.userId,
                // Jobs queued before issue 15 named `allocated` under `collection_state`; Haptik lists it under `message`.
                category: p.category === 'collection_state' && p.subcategory === 'allocated' ? 'message' : p.category,
                subcategory: p.subcategory,
                ...(p.metadata === undefined ? {} : { metadata: p.metadata })
            })
        ),
        'haptik.thread_control': handler('haptik.thread_control', async (p) => {
            const ids =
                threadControl === undefined
                    ? { self: p.requester, bot: p.receiver }
                    : await threadControl.receivers(p.userId);
            return haptik.passThreadControl({ userId: p.userId, requester: ids.self, receiver: ids.bot });
        }),
        // Returns {id, created}: kept as the job's result for awaitJob.
        'salesforce.upsert': handler('salesforce.upsert', (p) =>
            salesforce.upsert(p.type, p.externalIdField, p.externalId, p.fields, {
                assignmentRules: p.assignmentRules === true
            })
        ),
        'salesforce.update': handler('salesforce.update', (p) => salesforce.update(p.type, p.id, p.fields))
    };
}
