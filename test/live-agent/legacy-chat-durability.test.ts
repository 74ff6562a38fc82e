/**
 * Legacy Chat (Live Agent) durability (issue 16): the user's end reaches the agent after the stream was
 * detached, a long outage does not pile up listeners, and a chat request run again after a crash does not
 * put a second chat in the agent's queue.
 */
import { getEventListeners } from 'node:events';
import { captureLogger } from '../support/test-clock-and-log';
import { eventually } from '../support/eventually';
import { openRequest, startHarness, storedState } from './harness';
import type { Harness } from './harness';

describe('legacy chat durability', () => {
    let h: Harness;

    beforeEach(async () => {
        h = await startHarness();
    });
    afterEach(() => h.close());

    it("ends the chat for the agent when the user ends after the stream was detached (ChatEnd's sequence is new)", async () => {
        const opened = await h.adapter.open(openRequest('e1'));
        const id = String(opened.data['sessionId']);
        h.emulator.accept(id, 'Priya');
        await h.recorder.waitFor((e) => e.type === 'agent_joined');
        // The user's last message goes out with the next sequence; the core stores no state for a send.
        await h.adapter.sendMessage('e1', opened, { messageId: 'u1', text: 'bye then' });
        const stored = storedState(h.recorder.envelopes, opened);
        expect(Number(stored.data['sequence'])).toBeLessThan(
            h.emulator.requests.filter((r) => r.path.endsWith('/Chasitor/ChatMessage')).at(-1)!.sequence!
        );

        // The user ended: the handover detaches the stream, then the chat.end job runs from the stored state.
        h.adapter.detach('e1');
        await h.adapter.end('e1', stored);

        const ends = h.emulator.requests.filter((r) => r.path.endsWith('/Chasitor/ChatEnd'));
        expect(ends.length).toBeGreaterThan(0);
        expect(ends.every((r) => r.duplicate !== true)).toBe(true);
        expect(h.emulator.conversations()[0]).toMatchObject({ status: 'Ended', endedBy: 'Visitor' });
        expect(h.emulator.messagesFrom(id).map((m) => m.text)).toEqual(['bye then']);
    });

    it('ends the chat when the end is retried after an affinity change (503 → reconnect, then ChatEnd)', async () => {
        const opened = await h.adapter.open(openRequest('e2'));
        const id = String(opened.data['sessionId']);
        h.emulator.accept(id, 'Priya');
        await h.recorder.waitFor((e) => e.type === 'agent_joined');
        const stored = storedState(h.recorder.envelopes, opened);
        h.adapter.detach('e2');
        h.emulator.changeAffinity(id);
        await h.adapter.end('e2', stored);
        expect(h.emulator.conversations()[0]).toMatchObject({ status: 'Ended', endedBy: 'Visitor' });
    });

    it('keeps no listener per retry during a long outage (getEventListeners on the signals it waits on)', async () => {
        // Every AbortSignal something listens on, to count what is left on each afterwards.
        const signals = new Set<AbortSignal>();
        const addEventListener = EventTarget.prototype.addEventListener;
        const spy = jest.spyOn(EventTarget.prototype, 'addEventListener').mockImplementation(function (
            this: EventTarget,
            ...args: Parameters<EventTarget['addEventListener']>
        ) {
            if (this instanceof AbortSignal && args[0] === 'abort') signals.add(this);
            addEventListener.apply(this, args);
        });
        const log = captureLogger();
        const { adapter } = h.newAdapter({ pollRetry: { baseMs: 1, maxMs: 2 }, logger: log.logger });
        try {
            const opened = await adapter.open(openRequest('e3'));
            h.emulator.accept(String(opened.data['sessionId']), 'Priya');
            // Salesforce is down for a long while: every poll fails and the loop backs off between them.
            h.emulator.failNext(40, { on: 'messages', status: 500 });
            await eventually(
                () =>
                    log.lines().filter((l) => l['msg'] === 'live agent poll failed').length >= 40 ? true : undefined,
                15_000
            );
            const most = Math.max(...[...signals].map((signal) => getEventListeners(signal, 'abort').length));
            expect(most).toBeLessThanOrEqual(2);
        } finally {
            spy.mockRestore();
            await adapter.close();
        }
    });
});
