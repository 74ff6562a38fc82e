/**
 * Fault: Haptik is unreachable for a long while (5 minutes in the issue, compressed here to 3 s against an
 * outbox backoff capped at 400 ms) during live chats. Expected: the agents' messages wait in the outbox, then
 * reach the user once each, in order.
 */
import { eventually } from '../support/eventually';
import { FAST_CHAT, requestAgent, startHandoverSandbox, textsTo } from '../handover/harness';
import type { HandoverSandbox } from '../handover/harness';
import { startFaultProxy } from './fault-proxy';
import type { FaultProxy } from './fault-proxy';
import { reportFigures } from './figures';

const USERS = ['down-a', 'down-b'];
const MESSAGES_PER_CHAT = 6;
const OUTAGE_MS = 3000;

describe('fault: Haptik down during live chats', () => {
    let proxy: FaultProxy;
    let sandbox: HandoverSandbox;

    beforeAll(async () => {
        proxy = await startFaultProxy();
        sandbox = await startHandoverSandbox({
            chatApi: 'enhanced',
            env: { HAPTIK_BASE_URL: proxy.url, HAPTIK_TRACT_URL: proxy.url },
            outbox: { pollIntervalMs: 50, backoff: { baseMs: 50, maxMs: 400 }, maxAttempts: 50, leaseMs: 2000 },
            chatTuning: FAST_CHAT
        });
        proxy.target = sandbox.haptik.url;
    });
    afterAll(async () => {
        await sandbox.stop();
        await proxy.close();
    });

    it('keeps the agents’ messages in the outbox and delivers each once, in order, when Haptik is back', async () => {
        const chats = new Map<string, string>();
        for (const userId of USERS) {
            const started = await requestAgent(sandbox, { userId });
            sandbox.chat.accept(started.conversationId, 'Priya');
            chats.set(userId, started.conversationId);
        }
        // Notices of the start (connecting, agent joined) reached Haptik before the outage.
        await eventually(async () => {
            const open = await sandbox.bridge.db.query(
                `SELECT 1 FROM outbox_jobs WHERE kind LIKE 'haptik.%' AND state IN ('pending', 'running')`
            );
            return open.rows.length === 0 ? true : undefined;
        });
        const before = new Map(USERS.map((userId) => [userId, textsTo(sandbox, userId).length]));

        proxy.down = true;
        const expected = new Map<string, string[]>();
        for (let i = 1; i <= MESSAGES_PER_CHAT; i++) {
            for (const userId of USERS) {
                const text = `${userId}: agent says ${i}`;
                expected.set(userId, [...(expected.get(userId) ?? []), text]);
                sandbox.chat.agentMessage(chats.get(userId)!, text);
            }
        }
        // The messages wait in the outbox while Haptik is unreachable.
        const waiting = await eventually(async () => {
            const open = await sandbox.bridge.db.query(
                `SELECT 1 FROM outbox_jobs WHERE kind = 'haptik.message' AND state IN ('pending', 'running')`
            );
            return open.rows.length >= USERS.length ? open.rows.length : undefined;
        });
        await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
        const refused = proxy.refused;
        expect(USERS.map((userId) => textsTo(sandbox, userId).length)).toEqual(USERS.map((u) => before.get(u)));
        const restored = Date.now();
        proxy.down = false;

        for (const userId of USERS) {
            await eventually(
                () => (textsTo(sandbox, userId).length >= before.get(userId)! + MESSAGES_PER_CHAT ? true : undefined),
                20_000
            );
        }
        const drainedMs = Date.now() - restored;
        let duplicated = 0;
        for (const userId of USERS) {
            const after = textsTo(sandbox, userId).slice(before.get(userId));
            expect(after).toEqual(expected.get(userId));
            // What Haptik was sent (not only what it shows): every message id once.
            const ids = proxy.delivered
                .filter((d) => d.path.startsWith('/tract/message/send') && d.status < 300)
                .map((d) => JSON.parse(d.body) as { user_id?: string; metadata?: { message_id?: string } })
                .filter((b) => b.user_id === userId)
                .map((b) => String(b.metadata?.message_id));
            duplicated += ids.length - new Set(ids).size;
        }
        expect(duplicated).toBe(0);
        expect(refused).toBeGreaterThan(0);
        const dead = await sandbox.bridge.db.query(`SELECT 1 FROM outbox_jobs WHERE state = 'dead'`);
        expect(dead.rows).toEqual([]);
        reportFigures('haptik-down', {
            chats: USERS.length,
            agentMessages: USERS.length * MESSAGES_PER_CHAT,
            outageMs: OUTAGE_MS,
            maxWaitingJobsSeen: waiting,
            callsRefusedDuringOutage: refused,
            lost: 0,
            duplicated,
            deliveredAfterMs: drainedMs
        });
    });
});
