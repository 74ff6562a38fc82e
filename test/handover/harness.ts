/** Shared set-up for the handover end-to-end tests: the sandbox with fast timers and small helpers. */
import { integrationRequest, tractMessage } from '../emulators/haptik';
import type { HaptikEmulator } from '../emulators/haptik';
import { startSandbox } from '../emulators/sandbox';
import type { ChatApi, Sandbox, SandboxOptions } from '../emulators/sandbox';
import type { AgentConsole } from '../emulators/agent-console';
import { getHandoverSession } from '../../bridge/src/store/handover-sessions';
import type { HandoverSession } from '../../bridge/src/store/handover-sessions';
import { eventually } from '../support/eventually';

export const BUSINESS_ID = 343;

// A short lease: after a SIGKILL, a job the dead process had claimed is taken over within seconds.
export const FAST_OUTBOX = { pollIntervalMs: 50, backoff: { baseMs: 10, maxMs: 100 }, maxAttempts: 20, leaseMs: 2000 };
export const FAST_CHAT = {
    reconnect: { baseMs: 20, factor: 1.5, maxMs: 200 },
    heartbeatTimeoutMs: 5000,
    retry: { attempts: 6, baseMs: 10, maxMs: 100 }
};

/** Legacy Chat adapter timers for tests: fast retries, and a short wait for the agent before a send is retried. */
export const FAST_LEGACY_CHAT = {
    retry: { attempts: 6, baseMs: 10, maxMs: 100 },
    pollRetry: { baseMs: 20, maxMs: 200 },
    establishWaitMs: 2000
};
/** BYOC adapter timers for tests: quick event polls, a short subscription lease, fast retries. */
export const FAST_BYOC = {
    pollMs: 50,
    subscription: { leaseMs: 2000, tickMs: 100, batch: 20, reconnect: { baseMs: 50, maxMs: 500 } },
    retry: { attempts: 6, baseMs: 10, maxMs: 100 }
};
/** Pub/Sub emulator: idle subscriptions get a keep-alive every half second. */
export const FAST_PUBSUB = { keepAliveMs: 500 };
/** Live Agent emulator: polls are held briefly, so tests see many poll cycles. */
export const FAST_LIVE_AGENT = { pollHoldMs: 400 };

/** The chat APIs the shared handover scenarios run against. */
export const CHAT_APIS: ChatApi[] = ['enhanced', 'legacy', 'byoc'];

export type HandoverSandbox = Sandbox<AgentConsole>;

export function handoverMapping(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        handover: {
            waitNoticeIntervalSeconds: 0,
            noAgentTimeoutSeconds: 600,
            routingAttributes: { Haptik_Intent: 'intent', Haptik_Conversation: 'conversationKey' },
            ...overrides
        }
    };
}

export function startHandoverSandbox(options: SandboxOptions = {}): Promise<HandoverSandbox> {
    return startSandbox({
        outbox: FAST_OUTBOX,
        chatTuning: FAST_CHAT,
        legacyChatTuning: FAST_LEGACY_CHAT,
        liveAgent: FAST_LIVE_AGENT,
        byocTuning: FAST_BYOC,
        byoc: FAST_PUBSUB,
        mapping: handoverMapping(),
        ...options
    });
}

export interface StartedHandover {
    handoverId: string;
    /** The id the agent console knows the chat by (Enhanced Chat: the handover id; Live Agent: the session id). */
    conversationId: string;
    answerText: string;
    /** The route's whole answer, as the bot's node received it. */
    answer: Record<string, unknown>;
}

/** The bot's integration call; waits until the chat exists in the chat emulator. */
export async function requestAgent(
    sandbox: HandoverSandbox,
    user: { userId: string; userName?: string; conversationNo?: number },
    extra: Parameters<typeof integrationRequest>[0] = {}
): Promise<StartedHandover> {
    const reply = await sandbox.send.handover(
        integrationRequest({
            userId: user.userId,
            userName: user.userName ?? `name_${user.userId}`,
            conversationNo: user.conversationNo ?? 1,
            node: 'talk_to_agent',
            conversationDetails: { intent: 'refund_request' },
            ...extra
        })
    );
    if (reply.status !== 200) throw new Error(`handover answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    const body = reply.body as { response: string[]; conversation_details: { handover_id: string } };
    const handoverId = body.conversation_details.handover_id;
    const answer = JSON.parse(body.response[0] ?? '{}') as { text?: string };
    const key = `${BUSINESS_ID}:${user.userId}:${user.conversationNo ?? 1}`;
    // BYOC keeps one conversation per Messaging end user, the Haptik user (`haptik:<business>:<user>`).
    const endUserId = `haptik:${BUSINESS_ID}:${user.userId}`;
    const conversationId = await eventually(
        () =>
            sandbox.chat
                .conversations()
                .find(
                    (c) =>
                        c.conversationId === handoverId.toLowerCase() ||
                        c.conversationKey === key ||
                        ('endUserId' in c && c.endUserId === endUserId && c.status !== 'Ended')
                )?.conversationId
    );
    return { handoverId, conversationId, answerText: answer.text ?? '', answer: reply.body as Record<string, unknown> };
}

/** Texts Haptik received for the user (agent messages and notices), in order. */
export function textsTo(sandbox: HandoverSandbox, userId: string): string[] {
    return sandbox.haptik.messagesTo(userId).map((m) => m.text);
}

/** Waits until Haptik received a message with this text for the user. */
export function waitForText(
    sandbox: HandoverSandbox,
    userId: string,
    text: string,
    timeoutMs = 10_000
): Promise<string[]> {
    return eventually(() => {
        const texts = textsTo(sandbox, userId);
        return texts.includes(text) ? texts : undefined;
    }, timeoutMs);
}

/** What the agent received from the user (the briefing aside), in order. */
export function userTextsAtAgent(sandbox: HandoverSandbox, conversationId: string): string[] {
    return sandbox.chat
        .messagesFrom(conversationId)
        .map((m) => m.text)
        .filter((text) => !text.startsWith('Conversation with the bot before this chat:'));
}

export function sendUserText(
    sandbox: HandoverSandbox,
    userId: string,
    messageId: number,
    text: string,
    conversationNumber = 1
): ReturnType<Sandbox['send']['tractMessage']> {
    return sandbox.send.tractMessage(tractMessage({ userId, messageId, text, conversationNumber }));
}

export function session(sandbox: HandoverSandbox, handoverId: string): Promise<HandoverSession | undefined> {
    return getHandoverSession(sandbox.bridge.db, handoverId);
}

export function waitForState(
    sandbox: HandoverSandbox,
    handoverId: string,
    state: string,
    reason?: string | null
): Promise<HandoverSession> {
    return eventually(async () => {
        const current = await session(sandbox, handoverId);
        if (current?.state !== state) return undefined;
        if (reason !== undefined && current.stateReason !== reason) return undefined;
        return current;
    });
}

export function threadControlCalls(sandbox: HandoverSandbox, userId: string) {
    return sandbox.haptik.calls.filter(
        (c) =>
            c.path === '/tract/thread_control/request' &&
            (c.body as { user_id?: unknown } | undefined)?.user_id === userId
    );
}

/**
 * Every message Haptik accepted for the user, with how often it was sent and whether its first send was in
 * flight when the sender died (its answer lost). Haptik does not deduplicate (contract §3), so the bridge's
 * promise is exactly this: a message shows twice only when its first send's outcome could not be known.
 */
export function sendsPerMessage(
    haptik: HaptikEmulator,
    userId: string
): Array<{ id: string; text: string; sends: number; answerLost: boolean }> {
    const byId = new Map<string, { id: string; text: string; sends: number; answerLost: boolean }>();
    const calls = haptik.calls.filter(
        (c) =>
            c.path === '/tract/message/send/' &&
            c.status < 300 &&
            (c.body as { user_id?: unknown } | undefined)?.user_id === userId
    );
    const texts = haptik.messagesTo(userId);
    calls.forEach((call, i) => {
        const id = String((call.body as { metadata: { message_id: string } }).metadata.message_id);
        const seen = byId.get(id);
        if (seen === undefined) {
            byId.set(id, { id, text: texts[i]?.text ?? '', sends: 1, answerLost: call.answerLost === true });
        } else {
            seen.sends += 1;
        }
    });
    return [...byId.values()];
}

/** The bridge's duplicate window, asserted: one send per message, two only after a send in flight was lost. */
export function expectDuplicatesOnlyFromLostSends(haptik: HaptikEmulator, userId: string): void {
    for (const message of sendsPerMessage(haptik, userId)) {
        expect({ text: message.text, sends: message.sends }).toEqual({
            text: message.text,
            sends: message.answerLost ? 2 : 1
        });
    }
}
