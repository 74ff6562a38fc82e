import { webhookConversationComplete } from '../emulators/haptik/haptik-sender';
import { startSandbox } from '../emulators/sandbox';
import type { Sandbox } from '../emulators/sandbox';
import type { SfRecord } from '../emulators/salesforce';
import { textHsl } from '../../bridge/src/haptik/hsl';
import { setConversationCase, upsertConversation } from '../../bridge/src/store/conversations';
import { createHandoverSession, updateHandoverSession } from '../../bridge/src/store/handover-sessions';
import { getInboundEvent } from '../../bridge/src/store/inbox';
import { appendMessage } from '../../bridge/src/store/message-log';
import { TRANSCRIPT_FIELD_LIMIT } from '../../bridge/src/core/transcript';
import { eventually } from '../support/eventually';

/** Transcript Cases end to end: webhook_conversation_complete → outbox → get_chat_history → Salesforce emulator. */
let sandbox: Sandbox;

beforeAll(async () => {
    sandbox = await startSandbox({
        mapping: { transcript: { botName: 'Acme Bot' } },
        outbox: { pollIntervalMs: 50, backoff: { baseMs: 20, maxMs: 100 }, maxAttempts: 20 }
    });
});

afterAll(async () => {
    await sandbox.stop();
});

const at = (hhmmss: string): Date => new Date(`2026-11-25T${hhmmss}Z`);

function caseOf(conversationKey: string): SfRecord | undefined {
    const cases = sandbox.salesforce.records('Case').filter((c) => c['Haptik_Conversation_Key__c'] === conversationKey);
    if (cases.length > 1) throw new Error(`${cases.length} Cases for ${conversationKey}`);
    return cases[0];
}

async function completeConversation(input: {
    userId: string;
    userName: string;
    conversationNo: number;
    devicePlatform?: number;
    userDetails?: Record<string, unknown>;
}): Promise<unknown> {
    const result = await sandbox.send.webhook(
        webhookConversationComplete({
            userId: input.userId,
            userName: input.userName,
            conversationNo: input.conversationNo,
            devicePlatform: input.devicePlatform ?? 14,
            userDetails: input.userDetails ?? { name: 'Asha Rao' },
            completionType: 'agent'
        })
    );
    expect(result.status).toBe(200);
    return result.body;
}

describe('transcript Case on webhook_conversation_complete', () => {
    it('upserts the Case on Haptik_Conversation_Key__c with a readable transcript', async () => {
        const quickReplies = textHsl('How can I help?', ['Track order', 'Talk to an agent']);
        sandbox.haptik.setChatHistory('hu-fields', 1, [
            { text: 'Hi', sender: 'user', at: at('10:00:00') },
            { text: quickReplies, sender: 'bot', at: at('10:00:01') },
            { text: 'Track order', sender: 'user', at: at('10:00:05') },
            { text: 'Your order ships today.', sender: 'bot', at: at('10:00:06') }
        ]);
        expect(await completeConversation({ userId: 'u-fields', userName: 'hu-fields', conversationNo: 1 })).toEqual({
            status: 'accepted'
        });
        const record = await eventually(() => caseOf('343:u-fields:1'));
        expect(record).toMatchObject({
            Subject: 'Chat with Asha Rao on WhatsApp',
            Origin: 'Web',
            Haptik_User_Id__c: 'u-fields',
            Haptik_Channel__c: 'WhatsApp'
        });
        expect(record['Haptik_Event_Key__c'] ?? null).toBeNull();
        expect(record['Haptik_Transcript__c']).toBe(
            [
                '[2026-11-25 10:00:00 UTC] Asha Rao: Hi',
                '[2026-11-25 10:00:01 UTC] Acme Bot: How can I help?',
                '    Options: Track order | Talk to an agent',
                '[2026-11-25 10:00:05 UTC] Asha Rao: Track order',
                '[2026-11-25 10:00:06 UTC] Acme Bot: Your order ships today.'
            ].join('\n')
        );
        expect(String(record['Description'])).toContain('4 messages (user 2, bot 2, agent 0)');
        const call = sandbox.haptik.calls.find((c) => c.path === '/integration/external/v2.0/get_chat_history/');
        expect(call?.query).toMatchObject({ business_id: '343', user_name: 'hu-fields', conversation_no: '1' });
        const event = await eventually(async () => {
            const stored = await getInboundEvent(
                sandbox.bridge.db,
                'haptik.webhook',
                'webhook:conversation_complete:1:u-fields'
            );
            return stored?.processedAt ? stored : undefined;
        });
        expect(event.error).toBeNull();
    });

    it('makes one Case of a replayed webhook', async () => {
        sandbox.haptik.setChatHistory('hu-replay', 2, [{ text: 'Hello', sender: 'user', at: at('11:00:00') }]);
        const input = { userId: 'u-replay', userName: 'hu-replay', conversationNo: 2 };
        expect(await completeConversation(input)).toEqual({ status: 'accepted' });
        expect(await completeConversation(input)).toEqual({ status: 'duplicate' });
        await eventually(() => caseOf('343:u-replay:2'));
        expect(await completeConversation(input)).toEqual({ status: 'duplicate' });
        const jobs = await sandbox.bridge.db.query<{ count: string }>(
            `SELECT count(*)::text AS count FROM outbox_jobs WHERE idempotency_key LIKE '%343:u-replay:2'`
        );
        // One transcript.build and one upsert: nothing was queued twice.
        expect(jobs.rows[0]?.count).toBe('2');
        expect(sandbox.salesforce.records('Case').filter((c) => c['Haptik_User_Id__c'] === 'u-replay')).toHaveLength(1);
    });

    it('merges the agent part of a handover and updates the Case the handover made', async () => {
        const key = '343:u-handover:3';
        const db = sandbox.bridge.db;
        await upsertConversation(db, { businessId: 343, userId: 'u-handover', conversationNo: 3, channel: 'WhatsApp' });
        const { session } = await createHandoverSession(db, {
            conversationKey: key,
            adapter: 'enhanced',
            state: 'connected'
        });
        await updateHandoverSession(db, session.id, 'connected', { agentName: 'Ravi K' });
        const existing = sandbox.salesforce.insert('Case', {
            Subject: 'Handover: order late',
            Description: 'Bot context: order A-1001 is late',
            Status: 'New',
            Haptik_Conversation_Key__c: key
        });
        await setConversationCase(db, key, { caseId: String(existing['Id']) });
        const log = async (sender: 'user' | 'agent', text: string, time: Date, externalId: string): Promise<void> => {
            const { id } = await appendMessage(db, {
                conversationKey: key,
                handoverId: session.id,
                direction: sender === 'user' ? 'in' : 'out',
                sender,
                text,
                hsl: JSON.parse(textHsl(text)) as unknown,
                externalId
            });
            await db.query('UPDATE message_log SET created_at = $2::timestamptz WHERE id = $1', [
                id,
                time.toISOString()
            ]);
        };
        await log('agent', 'Hi, I am Ravi. Let me check.', at('12:01:00'), 'sf-1');
        await log('user', 'My order A-1001 is late', at('12:01:31'), 'tract-13');
        await log('agent', 'It ships today.', at('12:02:00'), 'sf-2');
        sandbox.haptik.setChatHistory('hu-handover', 3, [
            { text: 'I want an agent', sender: 'user', at: at('12:00:00') },
            { text: 'Connecting you to an agent', sender: 'bot', at: at('12:00:01') },
            { text: 'My order A-1001 is late', sender: 'user', at: at('12:01:30') },
            { text: 'Thanks for chatting with us', sender: 'bot', at: at('12:05:00') }
        ]);

        await completeConversation({ userId: 'u-handover', userName: 'hu-handover', conversationNo: 3 });
        const record = await eventually(() => {
            const found = caseOf(key);
            return found?.['Haptik_Transcript__c'] ? found : undefined;
        });
        expect(record['Id']).toBe(existing['Id']);
        expect(record['Haptik_Transcript__c']).toBe(
            [
                '[2026-11-25 12:00:00 UTC] Asha Rao: I want an agent',
                '[2026-11-25 12:00:01 UTC] Acme Bot: Connecting you to an agent',
                '[2026-11-25 12:01:00 UTC] Ravi K: Hi, I am Ravi. Let me check.',
                '[2026-11-25 12:01:30 UTC] Asha Rao: My order A-1001 is late',
                '[2026-11-25 12:02:00 UTC] Ravi K: It ships today.',
                '[2026-11-25 12:05:00 UTC] Acme Bot: Thanks for chatting with us'
            ].join('\n')
        );
        // The handover's own subject and description stay; the transcript is added.
        expect(record).toMatchObject({
            Subject: 'Handover: order late',
            Description: 'Bot context: order A-1001 is late',
            Status: 'New',
            Haptik_User_Id__c: 'u-handover',
            Haptik_Channel__c: 'WhatsApp'
        });
        expect(sandbox.salesforce.records('Case').filter((c) => c['Haptik_Conversation_Key__c'] === key)).toHaveLength(
            1
        );
    });

    it('redacts card numbers and OTPs before anything reaches Salesforce', async () => {
        sandbox.haptik.setChatHistory('hu-pii', 4, [
            { text: 'My card 4111 1111 1111 1111 was charged twice', sender: 'user', at: at('13:00:00') },
            { text: 'Please share the OTP you received', sender: 'bot', at: at('13:00:01') },
            { text: 'OTP is 482913', sender: 'user', at: at('13:00:02') },
            { text: 'Order 1234567812345678 noted', sender: 'bot', at: at('13:00:03') }
        ]);
        await completeConversation({ userId: 'u-pii', userName: 'hu-pii', conversationNo: 4 });
        const record = await eventually(() => caseOf('343:u-pii:4'));
        const transcript = String(record['Haptik_Transcript__c']);
        expect(transcript).toContain('My card [redacted card] was charged twice');
        expect(transcript).toContain('OTP is [redacted otp]');
        expect(transcript).toContain('Order 1234567812345678 noted');
        const everything = JSON.stringify([
            sandbox.salesforce.records('Case'),
            sandbox.salesforce.records('ContentVersion')
        ]);
        expect(everything).not.toContain('4111 1111 1111 1111');
        expect(everything).not.toContain('4111111111111111');
        expect(everything).not.toContain('482913');
    });

    it('puts a 200,000-character transcript whole into a file linked to the Case, the field holding its beginning', async () => {
        const entries = Array.from({ length: 400 }, (_, i) => ({
            text: `Message ${i}: ${'lorem ipsum dolor sit amet '.repeat(18)}`,
            sender: i % 2 === 0 ? 'user' : 'bot',
            at: new Date(Date.UTC(2026, 10, 25, 14, 0, i))
        }));
        sandbox.haptik.setChatHistory('hu-long', 5, entries);
        await completeConversation({ userId: 'u-long', userName: 'hu-long', conversationNo: 5 });
        const record = await eventually(() => caseOf('343:u-long:5'));
        const field = String(record['Haptik_Transcript__c']);
        expect(field.length).toBeLessThanOrEqual(TRANSCRIPT_FIELD_LIMIT);
        expect(field.startsWith('[2026-11-25 14:00:00 UTC] Asha Rao: Message 0: lorem ipsum')).toBe(true);
        expect(field.endsWith('… (transcript continues in the attached file transcript-343:u-long:5.txt)')).toBe(true);

        const version = await eventually(
            () =>
                sandbox.salesforce.records('ContentVersion').find((v) => v['FirstPublishLocationId'] === record['Id']),
            15_000
        );
        expect(version['PathOnClient']).toBe('transcript-343:u-long:5.txt');
        const text = Buffer.from(String(version['VersionData']), 'base64').toString('utf8');
        expect(text.length).toBeGreaterThan(200_000);
        expect(text.startsWith(field.slice(0, field.lastIndexOf('\n…')))).toBe(true);
        expect(text).toContain('Message 399: lorem ipsum');
        const links = sandbox.salesforce
            .records('ContentDocumentLink')
            .filter((l) => l['LinkedEntityId'] === record['Id']);
        expect(links).toHaveLength(1);
        expect(links[0]?.['ContentDocumentId']).toBe(version['ContentDocumentId']);
    });

    it('still makes a Case for a conversation Haptik has no history of', async () => {
        await completeConversation({ userId: 'u-empty', userName: 'hu-empty', conversationNo: 6 });
        const record = await eventually(() => caseOf('343:u-empty:6'));
        expect(record['Haptik_Transcript__c'] ?? '').toBe('');
        expect(String(record['Description'])).toContain('0 messages');
    });
});
