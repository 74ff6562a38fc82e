import { z } from 'zod';
import { BridgeError } from '../core/errors';
import type { HaptikClient } from '../haptik/haptik-client';
import type { SalesforceClient } from '../salesforce/salesforce-client';
import type { Queryable } from '../store/db';
import { enqueue } from '../store/outbox';
import type { OutboxHandler, OutboxHandlers } from '../store/outbox-worker';

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
    fields: z.record(z.string(), z.unknown())
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

function handler<K extends OutboundJobKind>(
    kind: K,
    run: (payload: OutboundJobPayload<K>) => Promise<unknown>
): OutboxHandler {
    return async (raw) => {
        const parsed = OUTBOUND_JOB_SCHEMAS[kind].safeParse(raw);
        if (!parsed.success) {
            // A payload this version cannot read will not get better with retries.
            throw new BridgeError('bridge_outbox_bad_payload', `Job payload of ${kind} is not readable`, {
                details: { retryable: false, issues: parsed.error.issues.map((i) => i.path.join('.')) }
            });
        }
        await run(parsed.data as OutboundJobPayload<K>);
    };
}

export function outboundJobHandlers(deps: { haptik: HaptikClient; salesforce: SalesforceClient }): OutboxHandlers {
    const { haptik, salesforce } = deps;
    return {
        'haptik.message': handler('haptik.message', (p) =>
            haptik.sendMessage({ userId: p.userId, hsl: p.hsl, metadata: p.metadata })
        ),
        'haptik.event': handler('haptik.event', (p) =>
            haptik.sendEvent({
                userId: p.userId,
                category: p.category,
                subcategory: p.subcategory,
                ...(p.metadata === undefined ? {} : { metadata: p.metadata })
            })
        ),
        'haptik.thread_control': handler('haptik.thread_control', (p) => haptik.passThreadControl(p)),
        'salesforce.upsert': handler('salesforce.upsert', (p) =>
            salesforce.upsert(p.type, p.externalIdField, p.externalId, p.fields)
        ),
        'salesforce.update': handler('salesforce.update', (p) => salesforce.update(p.type, p.id, p.fields))
    };
}
