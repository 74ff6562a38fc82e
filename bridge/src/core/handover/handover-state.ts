import { BridgeError } from '../errors';
import type { ChatAttachment, ChatEvent } from './chat-port';
import type { NoticeRequest } from './notices';

/**
 * The life of one live-agent handover as a pure state machine. Every input either moves the handover
 * and lists the effects to carry out (in order, in the same transaction as the new state), or is
 * illegal in the current state and throws `bridge_handover_illegal_transition`; the service then drops
 * the input (a stale event) without touching the stored state.
 *
 *   requested ──chat opened / queued──▶ waiting ──agent joined──▶ with_agent
 *       │                                  │                          │
 *       ├── open failed / routing failed ──┴──▶ failed                │
 *       ├── no agent in time ──────────────────▶ ended_by_timeout     │
 *       ├── user keyword, bot completed ───────▶ ended_by_user ◀──────┤
 *       └── Salesforce ended the session ──────▶ ended_by_agent ◀─────┘
 */
export type HandoverStateName =
    'requested' | 'waiting' | 'with_agent' | 'ended_by_agent' | 'ended_by_user' | 'ended_by_timeout' | 'failed';

export const TERMINAL_STATES: readonly HandoverStateName[] = [
    'ended_by_agent',
    'ended_by_user',
    'ended_by_timeout',
    'failed'
];

/** What the machine remembers between inputs (persisted with the session). */
export interface HandoverMachine {
    state: HandoverStateName;
    agentName: string | null;
    /** An agent started a transfer: the next "agent left" is part of it, not the end. */
    transferring: boolean;
    /** When the last wait notice went to the user (ISO time), for the rate limit. */
    lastWaitNoticeAt: string | null;
    /** Whether Salesforce accepted the chat (an end then needs a call to Salesforce). */
    chatOpened: boolean;
}

export type HandoverInput =
    /** The adapter's open() resolved. */
    | { type: 'chat_opened' }
    | { type: 'chat_event'; event: ChatEvent }
    /** The user typed the end keyword, or the bot marked the conversation complete. */
    | { type: 'user_end'; source: 'keyword' | 'bot_complete' }
    /** No agent joined within the configured time. */
    | { type: 'timeout' }
    /** Salesforce refused the chat for good (the open job gave up). */
    | { type: 'open_failed'; detail?: string };

export type HandoverEffect =
    | { kind: 'notice'; notice: NoticeRequest }
    /** TRACT event `allocated` (an agent accepted; also after a transfer). */
    | { kind: 'allocated'; agentName: string }
    /** An agent's message; with `attachments` its files follow `text` (a caption, may be empty), in order. */
    | { kind: 'relay_to_user'; messageId: string; text: string; agentName?: string; attachments?: ChatAttachment[] }
    /** End the Salesforce session (the user or the bridge ended the chat). */
    | { kind: 'end_chat' }
    /** TRACT thread control `pass` back to the bot. */
    | { kind: 'pass_to_bot' }
    /** The "we will get back to you" Case (idempotent per handover). */
    | { kind: 'event_case'; reason: 'no_agents' | 'routing_failed' | 'rejected' | 'timeout' }
    /** Stop listening to the chat's stream. */
    | { kind: 'detach' };

export interface TransitionOptions {
    now: Date;
    /** The wait notice goes at most once per this many milliseconds. */
    waitNoticeIntervalMs: number;
}

export interface Transition {
    machine: HandoverMachine;
    effects: HandoverEffect[];
}

export function initialMachine(): HandoverMachine {
    return { state: 'requested', agentName: null, transferring: false, lastWaitNoticeAt: null, chatOpened: false };
}

export function isTerminal(state: HandoverStateName): boolean {
    return TERMINAL_STATES.includes(state);
}

/** The stored form: the database knows `ended`/`failed` as terminal, the kind of end is the reason. */
export function storedState(state: HandoverStateName): { state: string; reason: string | null } {
    switch (state) {
        case 'ended_by_agent':
            return { state: 'ended', reason: 'agent' };
        case 'ended_by_user':
            return { state: 'ended', reason: 'user' };
        case 'ended_by_timeout':
            return { state: 'ended', reason: 'timeout' };
        case 'failed':
        case 'requested':
        case 'waiting':
        case 'with_agent':
            return { state, reason: null };
    }
}

export function stateFromStored(state: string, reason: string | null): HandoverStateName {
    switch (state) {
        case 'requested':
        case 'waiting':
        case 'with_agent':
        case 'failed':
            return state;
        case 'ended':
            return reason === 'user' ? 'ended_by_user' : reason === 'timeout' ? 'ended_by_timeout' : 'ended_by_agent';
        default:
            throw new BridgeError('bridge_handover_unknown_state', `Stored handover state "${state}" is not known`, {
                details: { state }
            });
    }
}

function illegal(machine: HandoverMachine, input: HandoverInput): never {
    const what = input.type === 'chat_event' ? `chat event ${input.event.type}` : input.type;
    throw new BridgeError(
        'bridge_handover_illegal_transition',
        `A handover in state ${machine.state} cannot take ${what}`,
        { details: { state: machine.state, input: what } }
    );
}

const ACTIVE_BEFORE_AGENT: readonly HandoverStateName[] = ['requested', 'waiting'];

/** Effects of every end that hands the user back to the bot. */
function handBack(machine: HandoverMachine, notice: NoticeRequest | undefined, endChat: boolean): HandoverEffect[] {
    const effects: HandoverEffect[] = [];
    if (endChat && machine.chatOpened) effects.push({ kind: 'end_chat' });
    if (notice !== undefined) effects.push({ kind: 'notice', notice });
    effects.push({ kind: 'pass_to_bot' }, { kind: 'detach' });
    return effects;
}

function noAgents(
    machine: HandoverMachine,
    reason: 'no_agents' | 'routing_failed' | 'rejected' | 'timeout',
    endChat: boolean
): HandoverEffect[] {
    const effects: HandoverEffect[] = [];
    if (endChat && machine.chatOpened) effects.push({ kind: 'end_chat' });
    effects.push(
        { kind: 'notice', notice: { key: 'noAgents' } },
        { kind: 'event_case', reason },
        { kind: 'pass_to_bot' },
        { kind: 'detach' }
    );
    return effects;
}

function waitNoticeDue(machine: HandoverMachine, options: TransitionOptions): boolean {
    if (machine.lastWaitNoticeAt === null) return true;
    const last = Date.parse(machine.lastWaitNoticeAt);
    return Number.isNaN(last) || options.now.getTime() - last >= options.waitNoticeIntervalMs;
}

function onChatEvent(machine: HandoverMachine, event: ChatEvent, options: TransitionOptions): Transition {
    const input: HandoverInput = { type: 'chat_event', event };
    const opened = { ...machine, chatOpened: true };
    switch (event.type) {
        case 'queued': {
            const state = machine.state === 'requested' ? 'waiting' : machine.state;
            if (!waitNoticeDue(machine, options)) return { machine: { ...opened, state }, effects: [] };
            const notice: NoticeRequest = {
                key: 'wait',
                ...(event.position === undefined ? {} : { position: event.position }),
                ...(event.estimatedWaitSeconds === undefined
                    ? {}
                    : { estimatedWaitSeconds: event.estimatedWaitSeconds })
            };
            return {
                machine: { ...opened, state, lastWaitNoticeAt: options.now.toISOString() },
                effects: [{ kind: 'notice', notice }]
            };
        }
        case 'agent_joined':
            return {
                machine: { ...opened, state: 'with_agent', agentName: event.agentName, transferring: false },
                effects: [
                    { kind: 'allocated', agentName: event.agentName },
                    { kind: 'notice', notice: { key: 'agentJoined', agent: event.agentName } }
                ]
            };
        case 'agent_message': {
            const agentName = event.agentName ?? machine.agentName ?? undefined;
            return {
                machine: opened,
                effects: [
                    {
                        kind: 'relay_to_user',
                        messageId: event.messageId,
                        text: event.text,
                        ...(agentName === undefined ? {} : { agentName })
                    }
                ]
            };
        }
        case 'agent_attachment': {
            const agentName = event.agentName ?? machine.agentName ?? undefined;
            return {
                machine: opened,
                effects: [
                    {
                        kind: 'relay_to_user',
                        messageId: event.messageId,
                        text: event.text ?? '',
                        attachments: event.attachments,
                        ...(agentName === undefined ? {} : { agentName })
                    }
                ]
            };
        }
        case 'agent_typing':
            return { machine: opened, effects: [] };
        case 'transferring':
            return {
                machine: { ...opened, transferring: true },
                effects: [
                    {
                        kind: 'notice',
                        notice: { key: 'transfer', ...(event.toName === undefined ? {} : { agent: event.toName }) }
                    }
                ]
            };
        case 'agent_left':
            // During a transfer the first agent leaving is expected; the next one's join is the news.
            if (machine.transferring || machine.state !== 'with_agent') return { machine: opened, effects: [] };
            return {
                machine: { ...opened, agentName: null },
                effects: [
                    {
                        kind: 'notice',
                        notice: {
                            key: 'agentLeft',
                            ...(machine.agentName === null ? {} : { agent: machine.agentName })
                        }
                    }
                ]
            };
        case 'ended':
            if (ACTIVE_BEFORE_AGENT.includes(machine.state) && event.by !== 'user') {
                // Salesforce closed the chat before any agent took it: the user still needs an answer.
                return { machine: { ...opened, state: 'failed' }, effects: noAgents(opened, 'no_agents', false) };
            }
            if (event.by === 'user') {
                return { machine: { ...opened, state: 'ended_by_user' }, effects: handBack(opened, undefined, false) };
            }
            return {
                machine: { ...opened, state: 'ended_by_agent' },
                effects: handBack(opened, { key: 'chatEnded' }, false)
            };
        case 'failed':
            return {
                machine: { ...opened, state: 'failed' },
                effects: noAgents(opened, event.reason, true)
            };
        default: {
            const _exhaustive: never = event;
            return illegal(machine, input);
        }
    }
}

/** The next state and effects of one input; throws `bridge_handover_illegal_transition` when not allowed. */
export function transition(machine: HandoverMachine, input: HandoverInput, options: TransitionOptions): Transition {
    if (isTerminal(machine.state)) illegal(machine, input);
    switch (input.type) {
        case 'chat_opened':
            return {
                machine: {
                    ...machine,
                    chatOpened: true,
                    state: machine.state === 'requested' ? 'waiting' : machine.state
                },
                effects: []
            };
        case 'chat_event':
            return onChatEvent(machine, input.event, options);
        case 'user_end':
            return {
                machine: { ...machine, state: 'ended_by_user' },
                effects:
                    input.source === 'keyword'
                        ? handBack(machine, { key: 'chatEnded' }, true)
                        : // The bot completed the conversation: it holds the thread already.
                          [...(machine.chatOpened ? [{ kind: 'end_chat' } as const] : []), { kind: 'detach' }]
            };
        case 'timeout':
            if (!ACTIVE_BEFORE_AGENT.includes(machine.state)) illegal(machine, input);
            return { machine: { ...machine, state: 'ended_by_timeout' }, effects: noAgents(machine, 'timeout', true) };
        case 'open_failed':
            if (machine.state !== 'requested') illegal(machine, input);
            return { machine: { ...machine, state: 'failed' }, effects: noAgents(machine, 'rejected', false) };
    }
}
