import { BridgeError, isBridgeError } from '../../core/errors';
import { stateFromStored } from '../../core/handover/handover-state';
import type { HandoverMachine } from '../../core/handover/handover-state';
import { isEndKeyword, renderUserMessage } from '../../core/handover/user-message';
import type { TractMessagePayload } from '../../haptik/payloads';
import { parseUserUpload } from '../../haptik/user-files';
import type { UserUpload } from '../../haptik/user-files';
import type { Queryable } from '../../store/db';
import { getHandoverSession } from '../../store/handover-sessions';
import type { HandoverSession } from '../../store/handover-sessions';
import { markInboundProcessed, recordInboundEvent } from '../../store/inbox';
import { listMessages } from '../../store/message-log';
import { recordRelayedMessage } from '../../store/relayed-messages';
import { chatOrderingKey, enqueueHandoverJob, handoverJob, parseHandoverJob } from '../handover-jobs';
import type { HandoverJob } from '../handover-jobs';
import { applyInput } from './apply-input';
import { briefingMessageId, briefingOf } from './briefing';
import type { HandoverContext, TractOutcome } from './context';
import { enqueueUserFiles, recordUserFiles, sessionOf, userUploadLogText } from './relay-files';
import { activeHandoverOf, chatStateOf, isLive } from './session-state';
import type { CoreState } from './session-state';

const TRACT_MESSAGE_SOURCE = 'haptik.tract.message';
/** TRACT senders whose messages are the user's own (haptik.md §A3). */
const USER_SENDERS = new Set(['ceu', 'user', '']);

/** One message for the agent's chat: `key` makes its job idempotent, `messageId` names it on the chat. */
interface AgentMessage {
    key: string;
    messageId: string;
    text: string;
}

/**
 * User → agent, TRACT `message/receive`: the user's message is recorded (once per event), logged and
 * queued for the chat (job `chat.send_message`, in order per chat), or ends the handover on an end
 * keyword. One user's messages are matched to their handover and queued in arrival order: a lookup that
 * takes longer (a stale conversation number) must not let the user's next message overtake this one.
 */
export function onTractMessage(
    ctx: HandoverContext,
    payload: TractMessagePayload,
    eventId: string
): Promise<TractOutcome> {
    return ctx.serial(`user:${payload.user_id}`, () => relayUserMessage(ctx, payload, eventId));
}

async function relayUserMessage(
    ctx: HandoverContext,
    payload: TractMessagePayload,
    eventId: string
): Promise<TractOutcome> {
    const inbound = { source: TRACT_MESSAGE_SOURCE, eventId };
    const sender = (payload.sender ?? '').trim().toLowerCase();
    const session = USER_SENDERS.has(sender)
        ? await activeHandoverOf(ctx, payload.user_id, payload.conversation_number)
        : undefined;
    if (session === undefined) {
        const { duplicate } = await ctx.db.transaction(async (tx) => {
            const recorded = await recordInboundEvent(tx, { ...inbound, payload });
            if (!recorded.duplicate) await markInboundProcessed(tx, { ...inbound, error: 'no active handover' });
            return recorded;
        });
        return duplicate ? 'duplicate' : 'ignored';
    }
    const upload = uploadOf(ctx, payload.message_body);
    const rendering = renderUserMessage(payload.message_body);
    // A message with files: its caption goes as text, then each file (relay-files.ts), in that order.
    const text = upload === undefined ? rendering.text : upload.caption;
    const ending = upload === undefined && isEndKeyword(rendering.text, ctx.settings.endKeywords);
    let duplicate = false;
    await applyInput(ctx, session.id, ending ? { type: 'user_end', source: 'keyword' } : undefined, {
        before: async (tx, current) => {
            // Held until the agent joins where the chat API refuses messages before that (sent then).
            const relayNow =
                !ending &&
                (text !== '' || upload !== undefined) &&
                (ctx.chat.sendsBeforeAgentJoins ||
                    stateFromStored(current.state, current.stateReason) === 'with_agent');
            // One statement: the inbox row (stored as processed: handled in this same transaction), the log
            // entry and the chat job, claimed at once where this instance reads the chat's stream.
            const recorded = await recordRelayedMessage(tx, {
                inbound: { ...inbound, payload },
                message: {
                    conversationKey: current.conversationKey,
                    handoverId: current.id,
                    direction: 'in',
                    sender: 'user',
                    text: upload === undefined ? rendering.text : userUploadLogText(upload.caption, upload.files),
                    hsl: payload.message_body,
                    externalId: payload.message_id
                },
                job:
                    relayNow && text !== ''
                        ? handoverJob(
                              'chat.send_message',
                              agentMessageJob(current.id, userMessageToAgent(payload.message_id, text))
                          )
                        : undefined,
                claim: tx.chatClaim
            });
            duplicate = recorded.duplicate;
            if (duplicate) {
                throw new BridgeError('bridge_handover_duplicate_message', 'message seen before');
            }
            if (upload !== undefined) {
                // Recorded with the message, relayed now or held: the transcript lists the files either way.
                await recordUserFiles(tx, current, payload.message_id, upload.files);
                if (relayNow) await enqueueUserFiles(tx, current.id, payload.message_id, upload.files, tx.chatClaim);
            }
        },
        beforeClaimsOnly: true
    }).catch((error: unknown) => {
        if (isBridgeError(error, 'bridge_handover_duplicate_message')) return { applied: false };
        throw error;
    });
    return duplicate ? 'duplicate' : 'accepted';
}

/**
 * The agent just joined a chat whose API refuses messages before that: the briefing, then what the
 * user wrote while waiting, in order, with the same idempotency keys as a direct relay would use.
 * An `after` hook of the chat event's input (same transaction).
 */
export async function sendHeldMessages(
    ctx: HandoverContext,
    tx: Queryable,
    session: HandoverSession,
    core: CoreState,
    from: HandoverMachine,
    to: HandoverMachine
): Promise<void> {
    if (to.state !== 'with_agent' || from.state === 'with_agent') return;
    if (core.briefingSent !== true) {
        const briefing = await briefingOf(ctx, tx, session);
        if (briefing !== undefined) {
            await enqueueToAgent(tx, session.id, {
                key: 'briefing',
                messageId: briefingMessageId(session.id),
                text: briefing
            });
        }
        core.briefingSent = true;
    }
    const held = await listMessages(tx, session.conversationKey, { handoverId: session.id });
    for (const message of held) {
        if (message.direction !== 'in' || message.sender !== 'user' || message.externalId === null) continue;
        const upload = typeof message.hsl === 'string' ? uploadOf(ctx, message.hsl) : undefined;
        if (upload !== undefined) {
            if (upload.caption !== '') {
                await enqueueToAgent(tx, session.id, userMessageToAgent(message.externalId, upload.caption));
            }
            await enqueueUserFiles(tx, session.id, message.externalId, upload.files, undefined);
            continue;
        }
        if (!isForAgent(ctx, message.text)) continue;
        await enqueueToAgent(tx, session.id, userMessageToAgent(message.externalId, message.text));
    }
}

/**
 * Outbox job `chat.send_message`: sends one message on the chat while the handover lives. A job run right
 * after the commit that queued it gets the session as committed (`prefetched`) and does not read it again.
 */
export async function sendToAgent(ctx: HandoverContext, raw: unknown, prefetched?: unknown): Promise<unknown> {
    const p = parseHandoverJob('chat.send_message', raw);
    const session = sessionOf(prefetched, p.handoverId) ?? (await getHandoverSession(ctx.db, p.handoverId));
    if (!isLive(session)) return { skipped: 'not active' };
    await ctx.chat.sendMessage(p.handoverId, chatStateOf(session), { messageId: p.messageId, text: p.text });
    return { sent: true };
}

/** Outbox job `chat.typing`. */
export async function sendTypingToAgent(ctx: HandoverContext, raw: unknown): Promise<unknown> {
    const p = parseHandoverJob('chat.typing', raw);
    const session = await getHandoverSession(ctx.db, p.handoverId);
    if (!isLive(session)) return { skipped: 'not active' };
    await ctx.chat.sendTyping(p.handoverId, chatStateOf(session), p.typing);
    return { sent: true };
}

/** The files a user's message carries (only where files are wired in). */
function uploadOf(ctx: HandoverContext, messageBody: string): UserUpload | undefined {
    return ctx.files === undefined ? undefined : parseUserUpload(messageBody, ctx.files.hosts);
}

/** Whether a user's text goes to the agent: not empty and not an end keyword (that ends the chat). */
function isForAgent(ctx: HandoverContext, text: string): boolean {
    return text !== '' && !isEndKeyword(text, ctx.settings.endKeywords);
}

/** A user's message under the keys a relay uses whether it goes at once or is held for the agent. */
function userMessageToAgent(haptikMessageId: string, text: string): AgentMessage {
    return { key: haptikMessageId, messageId: `haptik-${haptikMessageId}`, text };
}

function agentMessageJob(handoverId: string, message: AgentMessage): HandoverJob<'chat.send_message'> {
    return {
        orderingKey: chatOrderingKey(handoverId),
        idempotencyKey: `chat.msg:${handoverId}:${message.key}`,
        payload: { handoverId, messageId: message.messageId, text: message.text }
    };
}

async function enqueueToAgent(tx: Queryable, handoverId: string, message: AgentMessage): Promise<void> {
    await enqueueHandoverJob(tx, 'chat.send_message', agentMessageJob(handoverId, message));
}
