import { BridgeError } from '../../core/errors';
import { setConversationCase } from '../../store/conversations';
import type { Queryable } from '../../store/db';
import { getHandoverSession } from '../../store/handover-sessions';
import type { HandoverSession } from '../../store/handover-sessions';
import { getOutboxJob } from '../../store/outbox';
import { permanentFailure } from '../../store/outbox-worker';
import { enqueueHandoverJob, parseHandoverJob } from '../handover-jobs';
import type { HandoverContext } from './context';
import type { CoreState } from './session-state';

/**
 * The chat record (MessagingSession or LiveChatTranscript) points at the conversation Case through its
 * `CaseId`. The Case is upserted by its own job and the chat record's id comes with a chat event, so the
 * link waits for both: queued when the record id becomes known, retried until the Case job is done.
 */
export async function enqueueCaseLink(
    ctx: HandoverContext,
    tx: Queryable,
    session: HandoverSession,
    core: CoreState,
    chatRecordId: string
): Promise<void> {
    if (core.caseJobId === undefined) return;
    await enqueueHandoverJob(tx, 'handover.link_case', {
        orderingKey: `case:conv:${session.conversationKey}`,
        idempotencyKey: `link-case:${session.id}:${chatRecordId}`,
        payload: { handoverId: session.id, chatRecordId, caseJobId: core.caseJobId, recordType: ctx.recordType }
    });
}

/** Outbox job `handover.link_case`. */
export async function linkCase(ctx: HandoverContext, raw: unknown): Promise<unknown> {
    const p = parseHandoverJob('handover.link_case', raw);
    const job = await getOutboxJob(ctx.db, p.caseJobId);
    if (job === undefined || job.state === 'dead') {
        throw permanentFailure(
            new BridgeError('bridge_handover_case_missing', 'The conversation Case could not be written')
        );
    }
    const result = job.result as { id?: unknown } | null;
    if (job.state !== 'done' || typeof result?.id !== 'string') {
        throw new BridgeError('bridge_handover_case_pending', 'The conversation Case is not written yet');
    }
    const session = await getHandoverSession(ctx.db, p.handoverId);
    if (session !== undefined) await setConversationCase(ctx.db, session.conversationKey, { caseId: result.id });
    await ctx.salesforce.update(p.recordType, p.chatRecordId, { CaseId: result.id });
    return { caseId: result.id };
}
