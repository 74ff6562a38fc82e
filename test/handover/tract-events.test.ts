import { integrationRequest, tractEvent, webhookConversationComplete } from '../emulators/haptik';
import { getInboundEvent } from '../../bridge/src/store/inbox';
import { registerHooks } from '../../scripts/register-hooks';
import { sandboxEnv } from '../emulators/sandbox';
import { eventually } from '../support/eventually';
import { BUSINESS_ID, startHandoverSandbox } from './harness';
import type { HandoverSandbox } from './harness';

/**
 * TRACT event hooks as Haptik sends them (unsigned, with the hook key): an event is stored as processed
 * only in the transaction that acts on it, so a failure leaves Haptik's retry something to do (issue 16,
 * defect 5); an event without a conversation number never turns later ones into duplicates; and
 * `collection_state`/`complete` files the transcript Case on every channel, idempotent with the webhook.
 */
jest.setTimeout(60_000);

describe('TRACT event hooks', () => {
    let sandbox: HandoverSandbox;

    beforeAll(async () => {
        sandbox = await startHandoverSandbox();
    });

    afterAll(() => sandbox.stop());

    /** Makes the next statements of `operation` on handover_sessions fail, as a lost database connection would. */
    async function failOn(operation: 'INSERT' | 'UPDATE'): Promise<() => Promise<void>> {
        const db = sandbox.bridge.db;
        await db.query(`CREATE OR REPLACE FUNCTION haptik_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'injected failure'; END $$`);
        await db.query(
            `CREATE TRIGGER haptik_test_fail BEFORE ${operation} ON handover_sessions FOR EACH ROW EXECUTE FUNCTION haptik_test_fail()`
        );
        return async () => {
            await db.query('DROP TRIGGER haptik_test_fail ON handover_sessions');
        };
    }

    async function sessionsOf(userId: string): Promise<Array<{ id: string; state: string }>> {
        const rows = await sandbox.bridge.db.query<{ id: string; state: string }>(
            `SELECT id, state FROM handover_sessions WHERE conversation_key LIKE $1 ORDER BY created_at`,
            [`${BUSINESS_ID}:${userId}:%`]
        );
        return rows.rows;
    }

    it('starts the handover on the retry of an `incomplete` event whose first delivery failed', async () => {
        const userId = 'u-d5-start';
        const event = tractEvent({ userId, conversationNumber: 7 });
        const restore = await failOn('INSERT');
        const first = await sandbox.send.tractEvent(event);
        await restore();

        const retry = await sandbox.send.tractEvent(event);

        expect(first.status).toBe(500);
        expect(retry.status).toBe(200);
        expect(retry.body).toEqual({ status: 'accepted' });
        expect(await sessionsOf(userId)).toHaveLength(1);
        const again = await sandbox.send.tractEvent(event);
        expect(again.body).toEqual({ status: 'duplicate' });
    });

    it('ends the handover on the retry of a `complete` event whose first delivery failed', async () => {
        const userId = 'u-d5-end';
        await sandbox.send.tractEvent(tractEvent({ userId, conversationNumber: 3 }));
        const [session] = await sessionsOf(userId);
        const complete = tractEvent({ userId, conversationNumber: 3, subcategory: 'complete' });
        const restore = await failOn('UPDATE');
        const first = await sandbox.send.tractEvent(complete);
        await restore();

        const retry = await sandbox.send.tractEvent(complete);

        expect(first.status).toBe(500);
        expect(retry.body).toEqual({ status: 'accepted' });
        await eventually(async () => ((await sessionsOf(userId))[0]?.state === 'ended' ? true : undefined));
        expect(
            await getInboundEvent(
                sandbox.bridge.db,
                'haptik.tract.event',
                `tract:event:${userId}:3:collection_state:complete`
            )
        ).toMatchObject({ processedAt: expect.any(Date) as unknown });
        expect(session).toBeDefined();
    });

    it('without a conversation number, a later event of the same user is no duplicate', async () => {
        const userId = 'u-d5-no-number';
        const withoutNumber = (subcategory: string): Record<string, unknown> => {
            const { conversation_number: _dropped, ...rest } = tractEvent({ userId, subcategory });
            return rest;
        };

        const first = await sandbox.send.tractEvent(withoutNumber('incomplete'));
        const end = await sandbox.send.tractEvent(withoutNumber('complete'));
        await eventually(async () => ((await sessionsOf(userId))[0]?.state === 'ended' ? true : undefined));
        const second = await sandbox.send.tractEvent(withoutNumber('incomplete'));

        expect([first.body, end.body, second.body]).toEqual([
            { status: 'accepted' },
            { status: 'accepted' },
            { status: 'accepted' }
        ]);
        const sessions = await sessionsOf(userId);
        expect(sessions).toHaveLength(2);
        expect(sessions[1]!.state).not.toBe('ended');
    });

    it('takes the hooks TRACT delivers, unsigned, to the URLs register-hooks registered with the key', async () => {
        const out = { log: () => undefined, error: () => undefined };
        const env = {
            ...sandboxEnv(sandbox.salesforce.url, sandbox.haptik.url),
            SF_SCRT_URL: sandbox.enhancedChat.url
        };
        expect(await registerHooks(['--bridge-url', sandbox.bridge.url], env, out)).toBe(0);
        const userId = 'u-delivered';

        const started = await sandbox.haptik.deliverHook(
            'collection_state',
            'incomplete',
            tractEvent({ userId, conversationNumber: 2 })
        );
        const forged = await fetch(`${sandbox.bridge.url}/haptik/tract/event?key=not-the-hook-token-at-all`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify(tractEvent({ userId: 'u-forged', conversationNumber: 2 }))
        });

        expect(started).toEqual({ status: 200, body: { status: 'accepted' } });
        expect(await sessionsOf(userId)).toHaveLength(1);
        expect(forged.status).toBe(401);
        expect(await sessionsOf('u-forged')).toHaveLength(0);
    });

    describe('transcripts on every channel', () => {
        const caseOf = (key: string) =>
            sandbox.salesforce.records('Case').filter((c) => c['Haptik_Conversation_Key__c'] === key);

        it('files the transcript Case from `complete` alone, with the user name an integration call gave', async () => {
            const userId = 'u-wa-1';
            const userName = 'haptik_wa_user_1';
            await sandbox.send.customer(integrationRequest({ userId, userName, devicePlatform: 14 }));
            sandbox.haptik.setChatHistory(userName, 4, [
                { sender: 'user', text: 'Where is my order?' },
                { sender: 'bot', text: 'It ships tomorrow.' }
            ]);

            const answer = await sandbox.send.tractEvent(
                tractEvent({ userId, conversationNumber: 4, subcategory: 'complete' })
            );

            expect(answer.body).toEqual({ status: 'accepted' });
            const key = `${BUSINESS_ID}:${userId}:4`;
            const record = await eventually(() => caseOf(key).find((c) => c['Haptik_Transcript__c']));
            expect(String(record['Haptik_Transcript__c'])).toContain('Where is my order?');
            expect(String(record['Haptik_Transcript__c'])).toContain('It ships tomorrow.');
            const history = sandbox.haptik.calls.filter(
                (c) => c.path === '/integration/external/v2.0/get_chat_history/'
            );
            expect(history.at(-1)?.query).toMatchObject({ user_name: userName, conversation_no: '4' });

            // The webhook about the same conversation (Bot API channel) finds the transcript filed: one Case, one build.
            const webhook = await sandbox.send.webhook(
                webhookConversationComplete({ userId, userName, conversationNo: 4 })
            );
            expect(webhook.status).toBe(200);
            const builds = await sandbox.bridge.db.query<{ n: string }>(
                `SELECT count(*) AS n FROM outbox_jobs WHERE kind = 'transcript.build' AND idempotency_key = $1`,
                [`transcript:${key}`]
            );
            expect(Number(builds.rows[0]!.n)).toBe(1);
            await eventually(async () => {
                const unprocessed = await sandbox.bridge.db.query(
                    `SELECT 1 FROM inbound_events WHERE source = 'haptik.webhook' AND processed_at IS NULL`
                );
                return unprocessed.rows.length === 0 ? true : undefined;
            });
            expect(caseOf(key)).toHaveLength(1);
        });

        it("asks TRACT's user API for the name of a user the bridge never saw", async () => {
            const userId = 'u-fb-2';
            sandbox.haptik.setUser(userId, { userName: 'haptik_fb_user_2', devicePlatform: 3 });
            sandbox.haptik.setChatHistory('haptik_fb_user_2', 1, [{ sender: 'user', text: 'Hello from Messenger' }]);

            await sandbox.send.tractEvent(tractEvent({ userId, conversationNumber: 1, subcategory: 'complete' }));

            const record = await eventually(() =>
                caseOf(`${BUSINESS_ID}:${userId}:1`).find((c) => c['Haptik_Transcript__c'])
            );
            expect(String(record['Haptik_Transcript__c'])).toContain('Hello from Messenger');
            expect(sandbox.haptik.calls.some((c) => c.path === '/tract/user/' && c.status === 200)).toBe(true);
            const stored = await sandbox.bridge.db.query<{ user_name: string }>(
                'SELECT user_name FROM haptik_users WHERE user_id = $1',
                [userId]
            );
            expect(stored.rows).toEqual([{ user_name: 'haptik_fb_user_2' }]);
        });
    });
});
