/**
 * Fault: the PostgreSQL server restarts in the middle of a live chat (a server this test starts itself, so
 * the shared one is not touched). Haptik retries a request the bridge could not store (as it does: 5 s,
 * 25 s, … compressed here). Expected: the bridge reconnects on its own, and every message of both sides
 * arrives once, in order.
 */
import { eventually } from '../support/eventually';
import {
    FAST_CHAT,
    requestAgent,
    sendUserText,
    startHandoverSandbox,
    textsTo,
    userTextsAtAgent
} from '../handover/harness';
import type { HandoverSandbox } from '../handover/harness';
import { reportFigures } from './figures';
import { startOwnPostgres } from './postgres-server';
import type { OwnPostgres } from './postgres-server';

const USER = 'pg-restart';
const ROUNDS = 12;

describe('fault: PostgreSQL restarted mid-relay', () => {
    let postgres: OwnPostgres;
    let sandbox: HandoverSandbox;

    beforeAll(async () => {
        postgres = await startOwnPostgres();
        sandbox = await startHandoverSandbox({
            chatApi: 'enhanced',
            database: { url: postgres.url, schema: 'faults' },
            outbox: { pollIntervalMs: 50, backoff: { baseMs: 50, maxMs: 400 }, maxAttempts: 50, leaseMs: 2000 },
            chatTuning: FAST_CHAT
        });
    }, 60_000);
    afterAll(async () => {
        await sandbox?.stop().catch(() => undefined);
        await postgres?.stop();
    });

    it('reconnects and loses or repeats nothing', async () => {
        const started = await requestAgent(sandbox, { userId: USER });
        sandbox.chat.accept(started.conversationId, 'Priya');
        await eventually(() => (textsTo(sandbox, USER).some((t) => t.includes('Priya')) ? true : undefined));

        let retriedRequests = 0;
        // As Haptik does: a request that was not answered 200 is sent again.
        const deliver = async (messageId: number, text: string): Promise<void> => {
            for (;;) {
                const reply = await sendUserText(sandbox, USER, messageId, text).catch(() => ({ status: 0 }));
                if (reply.status === 200) return;
                retriedRequests += 1;
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
        };
        const userTexts: string[] = [];
        const agentTexts: string[] = [];
        let restart: Promise<void> | undefined;
        for (let i = 1; i <= ROUNDS; i++) {
            if (i === 4) restart = postgres.restart();
            const userText = `user line ${i}`;
            userTexts.push(userText);
            await deliver(1000 + i, userText);
            const agentText = `agent line ${i}`;
            agentTexts.push(agentText);
            sandbox.chat.agentMessage(started.conversationId, agentText);
            await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await restart;

        await eventually(
            () => (userTextsAtAgent(sandbox, started.conversationId).length >= ROUNDS ? true : undefined),
            30_000
        );
        await eventually(
            () => (agentTexts.every((t) => textsTo(sandbox, USER).includes(t)) ? true : undefined),
            30_000
        );
        // Nothing more is on its way (the handover's no-agent timer aside, due in minutes).
        await eventually(async () => {
            const open = await sandbox.bridge.db.query(
                `SELECT 1 FROM outbox_jobs WHERE state IN ('pending', 'running') AND kind <> 'handover.timeout'`
            );
            return open.rows.length === 0 ? true : undefined;
        }, 30_000);

        const atAgent = userTextsAtAgent(sandbox, started.conversationId);
        const atUser = textsTo(sandbox, USER).filter((t) => t.startsWith('agent line'));
        expect(atAgent).toEqual(userTexts);
        expect(atUser).toEqual(agentTexts);
        const dead = await sandbox.bridge.db.query(`SELECT 1 FROM outbox_jobs WHERE state = 'dead'`);
        expect(dead.rows).toEqual([]);
        reportFigures('postgres-restart', {
            userMessages: ROUNDS,
            agentMessages: ROUNDS,
            requestsHaptikHadToRepeat: retriedRequests,
            lost: userTexts.length - new Set(atAgent).size + agentTexts.length - new Set(atUser).size,
            duplicated: atAgent.length - new Set(atAgent).size + (atUser.length - new Set(atUser).size)
        });
    }, 90_000);
});
