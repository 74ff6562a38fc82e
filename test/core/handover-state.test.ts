import { isBridgeError } from '../../bridge/src/core/errors';
import {
    initialMachine,
    stateFromStored,
    storedState,
    transition,
    TERMINAL_STATES
} from '../../bridge/src/core/handover/handover-state';
import type {
    HandoverEffect,
    HandoverInput,
    HandoverMachine,
    HandoverStateName
} from '../../bridge/src/core/handover/handover-state';

const T0 = new Date('2026-11-25T10:00:00.000Z');
const options = (now: Date = T0) => ({ now, waitNoticeIntervalMs: 60_000 });
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function run(inputs: HandoverInput[], start: HandoverMachine = initialMachine()) {
    let machine = start;
    const effects: HandoverEffect[] = [];
    for (const input of inputs) {
        const next = transition(machine, input, options());
        machine = next.machine;
        effects.push(...next.effects);
    }
    return { machine, effects };
}

const kinds = (effects: HandoverEffect[]) =>
    effects.map((e) => (e.kind === 'notice' ? `notice:${e.notice.key}` : e.kind));

function codeOf(run: () => unknown): string | undefined {
    try {
        run();
    } catch (error) {
        return isBridgeError(error) ? error.code : 'not a BridgeError';
    }
    return undefined;
}

function machineIn(state: HandoverStateName, extra: Partial<HandoverMachine> = {}): HandoverMachine {
    return { ...initialMachine(), state, chatOpened: state !== 'requested', ...extra };
}

describe('handover state machine', () => {
    it('goes requested → waiting → with_agent and tells the user and Haptik who joined', () => {
        const { machine, effects } = run([
            { type: 'chat_opened' },
            { type: 'chat_event', event: { type: 'agent_joined', agentName: 'Priya' } }
        ]);
        expect(machine).toMatchObject({ state: 'with_agent', agentName: 'Priya', chatOpened: true });
        expect(effects).toEqual([
            { kind: 'allocated', agentName: 'Priya' },
            { kind: 'notice', notice: { key: 'agentJoined', agent: 'Priya' } }
        ]);
    });

    it('sends the wait notice with position and wait time, at most once per interval', () => {
        const queued = {
            type: 'chat_event',
            event: { type: 'queued', position: 3, estimatedWaitSeconds: 120 }
        } as const;
        const first = transition(machineIn('waiting'), queued, options(at(0)));
        expect(first.effects).toEqual([
            { kind: 'notice', notice: { key: 'wait', position: 3, estimatedWaitSeconds: 120 } }
        ]);
        expect(first.machine.lastWaitNoticeAt).toBe(at(0).toISOString());
        const soon = transition(first.machine, queued, options(at(59)));
        expect(soon.effects).toEqual([]);
        expect(soon.machine.lastWaitNoticeAt).toBe(at(0).toISOString());
        const later = transition(soon.machine, queued, options(at(60)));
        expect(kinds(later.effects)).toEqual(['notice:wait']);
    });

    it('a queue event before open() resolved still means the chat is waiting', () => {
        const next = transition(initialMachine(), { type: 'chat_event', event: { type: 'queued' } }, options());
        expect(next.machine).toMatchObject({ state: 'waiting', chatOpened: true });
    });

    it('relays agent messages with their entry id and the agent name', () => {
        const { effects } = run(
            [{ type: 'chat_event', event: { type: 'agent_message', messageId: 'e-1', text: 'Hello' } }],
            machineIn('with_agent', { agentName: 'Priya' })
        );
        expect(effects).toEqual([{ kind: 'relay_to_user', messageId: 'e-1', text: 'Hello', agentName: 'Priya' }]);
    });

    it('relays an agent attachment message as its caption and its files, in order', () => {
        const { effects } = run(
            [
                {
                    type: 'chat_event',
                    event: {
                        type: 'agent_attachment',
                        messageId: 'e-2',
                        text: 'Your label',
                        attachments: [
                            { id: 'a-1', name: 'label.pdf', contentType: 'application/pdf', url: 'https://x/a-1' }
                        ]
                    }
                }
            ],
            machineIn('with_agent', { agentName: 'Priya' })
        );
        expect(effects).toEqual([
            {
                kind: 'relay_to_user',
                messageId: 'e-2',
                text: 'Your label',
                attachments: [{ id: 'a-1', name: 'label.pdf', contentType: 'application/pdf', url: 'https://x/a-1' }],
                agentName: 'Priya'
            }
        ]);
    });

    it('typing changes nothing the user sees', () => {
        const start = machineIn('with_agent', { agentName: 'Priya' });
        const next = transition(
            start,
            { type: 'chat_event', event: { type: 'agent_typing', typing: true } },
            options()
        );
        expect(next).toEqual({ machine: start, effects: [] });
    });

    it('a transfer is not the end: the leaving agent is silent, the next one is announced', () => {
        const { machine, effects } = run(
            [
                { type: 'chat_event', event: { type: 'transferring', toName: 'Billing' } },
                { type: 'chat_event', event: { type: 'agent_left', agentName: 'Priya' } },
                { type: 'chat_event', event: { type: 'agent_joined', agentName: 'Ravi' } }
            ],
            machineIn('with_agent', { agentName: 'Priya' })
        );
        expect(machine).toMatchObject({ state: 'with_agent', agentName: 'Ravi', transferring: false });
        expect(kinds(effects)).toEqual(['notice:transfer', 'allocated', 'notice:agentJoined']);
    });

    it('an agent leaving outside a transfer is announced but does not end the chat', () => {
        const { machine, effects } = run(
            [{ type: 'chat_event', event: { type: 'agent_left' } }],
            machineIn('with_agent', { agentName: 'Priya' })
        );
        expect(machine.state).toBe('with_agent');
        expect(effects).toEqual([{ kind: 'notice', notice: { key: 'agentLeft', agent: 'Priya' } }]);
    });

    it('agent ends: notice, then pass back to the bot, then stop listening', () => {
        const { machine, effects } = run(
            [{ type: 'chat_event', event: { type: 'ended', by: 'agent' } }],
            machineIn('with_agent', { agentName: 'Priya' })
        );
        expect(machine.state).toBe('ended_by_agent');
        expect(kinds(effects)).toEqual(['notice:chatEnded', 'pass_to_bot', 'detach']);
    });

    it('user keyword: ends the Salesforce session, tells the user, passes back', () => {
        const { machine, effects } = run(
            [{ type: 'user_end', source: 'keyword' }],
            machineIn('with_agent', { agentName: 'Priya' })
        );
        expect(machine.state).toBe('ended_by_user');
        expect(kinds(effects)).toEqual(['end_chat', 'notice:chatEnded', 'pass_to_bot', 'detach']);
    });

    it('bot completion ends the Salesforce session without a pass (the bot has the thread)', () => {
        const { machine, effects } = run([{ type: 'user_end', source: 'bot_complete' }], machineIn('waiting'));
        expect(machine.state).toBe('ended_by_user');
        expect(kinds(effects)).toEqual(['end_chat', 'detach']);
    });

    it('ending before Salesforce accepted the chat does not call Salesforce', () => {
        const { effects } = run([{ type: 'user_end', source: 'keyword' }]);
        expect(kinds(effects)).toEqual(['notice:chatEnded', 'pass_to_bot', 'detach']);
    });

    it('no agent in time: notice, event Case, end, pass back', () => {
        const { machine, effects } = run([{ type: 'timeout' }], machineIn('waiting'));
        expect(machine.state).toBe('ended_by_timeout');
        expect(effects).toEqual([
            { kind: 'end_chat' },
            { kind: 'notice', notice: { key: 'noAgents' } },
            { kind: 'event_case', reason: 'timeout' },
            { kind: 'pass_to_bot' },
            { kind: 'detach' }
        ]);
    });

    it('routing failure: failed, with the no-agents notice and an event Case', () => {
        const { machine, effects } = run(
            [{ type: 'chat_event', event: { type: 'failed', reason: 'routing_failed' } }],
            machineIn('waiting')
        );
        expect(machine.state).toBe('failed');
        expect(kinds(effects)).toEqual(['end_chat', 'notice:noAgents', 'event_case', 'pass_to_bot', 'detach']);
        expect(effects).toContainEqual({ kind: 'event_case', reason: 'routing_failed' });
    });

    it('a session Salesforce ends before any agent joined counts as no agents', () => {
        const { machine, effects } = run(
            [{ type: 'chat_event', event: { type: 'ended', by: 'system' } }],
            machineIn('waiting')
        );
        expect(machine.state).toBe('failed');
        expect(kinds(effects)).toContain('event_case');
    });

    it('a chat Salesforce refused fails without an end call', () => {
        const { machine, effects } = run([{ type: 'open_failed' }]);
        expect(machine.state).toBe('failed');
        expect(kinds(effects)).toEqual(['notice:noAgents', 'event_case', 'pass_to_bot', 'detach']);
    });

    it.each(TERMINAL_STATES)('rejects every input once %s, with a coded error', (state) => {
        const inputs: HandoverInput[] = [
            { type: 'chat_opened' },
            { type: 'chat_event', event: { type: 'agent_message', messageId: 'x', text: 'late' } },
            { type: 'user_end', source: 'keyword' },
            { type: 'timeout' }
        ];
        for (const input of inputs) {
            let caught: unknown;
            try {
                transition(machineIn(state), input, options());
            } catch (error) {
                caught = error;
            }
            expect(isBridgeError(caught, 'bridge_handover_illegal_transition')).toBe(true);
        }
    });

    it('rejects a timeout once an agent joined, and open_failed after the chat opened', () => {
        expect(codeOf(() => transition(machineIn('with_agent'), { type: 'timeout' }, options()))).toBe(
            'bridge_handover_illegal_transition'
        );
        expect(codeOf(() => transition(machineIn('waiting'), { type: 'open_failed' }, options()))).toBe(
            'bridge_handover_illegal_transition'
        );
    });

    it('stores the kinds of end as the database terminal states and reads them back', () => {
        const all: HandoverStateName[] = ['requested', 'waiting', 'with_agent', ...TERMINAL_STATES];
        for (const state of all) {
            const stored = storedState(state);
            expect(['requested', 'waiting', 'with_agent', 'ended', 'failed']).toContain(stored.state);
            expect(stateFromStored(stored.state, stored.reason)).toBe(state);
        }
        expect(codeOf(() => stateFromStored('bogus', null))).toBe('bridge_handover_unknown_state');
    });
});
