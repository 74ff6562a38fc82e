import { listDeadJobs } from '../../bridge/src/store/outbox';
import { eventually } from '../support/eventually';
import { handoverMapping, requestAgent, startHandoverSandbox } from './harness';
import type { HandoverSandbox } from './harness';

/**
 * The bot context leaves the bridge twice: as `Haptik_Bot_Context__c` on the conversation Case and as the
 * agent's briefing. Both go through the mapping file's redaction rules, and the context fits the field
 * however much the bot sent (a Case refused with STRING_TOO_LONG would be dead-lettered).
 */
const CARD = '4111 1111 1111 1111';

let sandbox: HandoverSandbox;

beforeAll(async () => {
    sandbox = await startHandoverSandbox({
        chatApi: 'enhanced',
        mapping: {
            ...handoverMapping(),
            redaction: { rules: [{ name: 'policy', pattern: 'POL-\\d{6}', replacement: '[redacted policy]' }] }
        }
    });
});

afterAll(async () => {
    await sandbox.stop();
});

it('redacts the Case field and the briefing, and fits a context far larger than the field', async () => {
    const userId = 'u-pii';
    sandbox.haptik.setChatHistory(`name_${userId}`, 1, [
        { sender: 'user', text: `my card is ${CARD}, policy POL-123456` },
        { sender: 'bot', text: 'Let me connect you to an agent.' }
    ]);
    const bulk = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`detail_${i}`, 'v'.repeat(200)]));
    const started = await requestAgent(
        sandbox,
        { userId },
        {
            conversationDetails: { intent: 'refund_request', handover_reason: `card ${CARD} was declined` },
            userDetails: { ...bulk, email: 'asha@example.com', note: `OTP is 482913` },
            entities: { card_number: CARD }
        }
    );

    const caseRecord = await eventually(() =>
        sandbox.salesforce.records('Case').find((c) => c['Haptik_Conversation_Key__c'] === `343:${userId}:1`)
    );
    const field = String(caseRecord['Haptik_Bot_Context__c']);
    expect(field.length).toBeLessThanOrEqual(131_072);
    for (const secret of [CARD, '4111111111111111', 'POL-123456', '482913']) {
        expect(field.includes(secret)).toBe(false);
    }
    const context = JSON.parse(field) as {
        user: { email?: string };
        handoverReason: string;
        recentMessages: Array<{ text: string }>;
    };
    expect(context.user.email).toBe('asha@example.com');
    expect(context.handoverReason).toBe('card [redacted card] was declined');
    expect(context.recentMessages.map((m) => m.text)).toEqual([
        'my card is [redacted card], policy [redacted policy]',
        'Let me connect you to an agent.'
    ]);

    const briefing = await eventually(() => sandbox.chat.messagesFrom(started.conversationId)[0]?.text);
    expect(briefing).toContain('User: my card is [redacted card], policy [redacted policy]');
    expect(briefing).not.toContain(CARD);
    expect(await listDeadJobs(sandbox.bridge.db)).toEqual([]);
});
