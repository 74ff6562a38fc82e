/**
 * Two TRACT messages of one user handled at the same time reach the agent in the order they came in (issue
 * 16, suspected: confirmed). The active handover was looked up before the per-handover queue, so a message
 * whose lookup took longer (here: a stale conversation number, looked up twice) was overtaken by the next.
 * The service runs against a real (embedded) database; the chat adapter is never reached (the jobs are read).
 */
import { parseSettings } from '../../bridge/src/config/mapping-file';
import type { ChatAdapter } from '../../bridge/src/core/handover/chat-port';
import { integrationRequestSchema, tractMessageSchema } from '../../bridge/src/haptik/payloads';
import { silentLogger } from '../../bridge/src/observability/logger';
import { createHandoverService } from '../../bridge/src/services/handover-service';
import type { Db } from '../../bridge/src/store/db';
import { integrationRequest, tractMessage } from '../emulators/haptik';
import { openMemoryPglite } from '../support/databases';

const unused = (): Promise<never> => Promise.reject(new Error('not used in this test'));

describe('concurrent messages of one user', () => {
    let db: Db;

    beforeAll(async () => {
        db = await openMemoryPglite();
    });
    afterAll(async () => {
        await db.close();
    });

    it('queues them in the order they came in, even when the first takes longer to match its handover', async () => {
        const chat: ChatAdapter = {
            kind: 'enhanced',
            sendsBeforeAgentJoins: true,
            open: unused,
            resume: unused,
            sendMessage: unused,
            sendTyping: unused,
            end: unused,
            detach: () => undefined,
            onEvent: () => undefined,
            close: () => Promise.resolve()
        };
        const service = createHandoverService({
            db,
            outbox: { notify: () => undefined },
            chat,
            streams: { claimForOpen: () => Promise.resolve(), holds: () => true, forget: () => undefined },
            settings: parseSettings({}).handover,
            businessId: '343',
            haptik: { getChatHistory: unused, sendMessage: unused },
            threadControl: { receivers: () => Promise.resolve({ self: 'bridge', bot: 'bot', from: 'settings' }) },
            salesforce: { update: unused },
            logger: silentLogger(),
            clock: { now: () => new Date() }
        });
        const userId = 'u-order';
        await service.startFromIntegration(
            integrationRequestSchema.parse(integrationRequest({ userId, userName: 'asha', conversationNo: 2 }))
        );

        const expected: string[] = [];
        for (let round = 0; round < 5; round++) {
            const first = `first ${round}`;
            const second = `second ${round}`;
            expected.push(first, second);
            // Both come in at once, the first first: it carries an older conversation number (the handover is
            // then found by user: a second lookup), the second the current one.
            const payloads = [
                tractMessage({ userId, messageId: 100 + round * 2, text: first, conversationNumber: 1 }),
                tractMessage({ userId, messageId: 101 + round * 2, text: second, conversationNumber: 2 })
            ].map((raw) => tractMessageSchema.parse(raw));
            const outcomes = await Promise.all(
                payloads.map((payload) => service.onTractMessage(payload, `tract:${payload.message_id}`))
            );
            expect(outcomes).toEqual(['accepted', 'accepted']);
        }
        const sent = await db.query<{ text: string }>(
            `SELECT payload ->> 'text' AS text FROM outbox_jobs WHERE kind = 'chat.send_message' ORDER BY id`
        );
        expect(sent.rows.map((r) => r.text)).toEqual(expected);
    });
});
