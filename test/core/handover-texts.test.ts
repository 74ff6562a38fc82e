import { agentBriefing, buildBotContext } from '../../bridge/src/core/handover/bot-context';
import type { HandoverTrigger } from '../../bridge/src/core/handover/bot-context';
import { routingAttributesOf } from '../../bridge/src/core/handover/handover-settings';
import { DEFAULT_NOTICE_SETTINGS, renderNotice } from '../../bridge/src/core/handover/notices';
import type { NoticeSettings } from '../../bridge/src/core/handover/notices';
import { isEndKeyword, renderUserMessage } from '../../bridge/src/core/handover/user-message';
import { parseSettings } from '../../bridge/src/config/mapping-file';
import { isBridgeError } from '../../bridge/src/core/errors';
import { createRedactor, DEFAULT_REDACTION_RULES } from '../../bridge/src/core/redaction';

describe('handover notices', () => {
    const settings = DEFAULT_NOTICE_SETTINGS;

    it('wait notice: queue position copy (next / few / in line) and a wait-time tier', () => {
        expect(renderNotice(settings, 'en', { key: 'wait', position: 1, estimatedWaitSeconds: 45 })).toBe(
            'You are next! An agent will be with you in a minute.'
        );
        expect(renderNotice(settings, 'en', { key: 'wait', position: 4, estimatedWaitSeconds: 420 })).toBe(
            'An agent will be with you as soon as we close 3 conversations. An agent will be with you in about 7 minutes.'
        );
        expect(renderNotice(settings, 'en', { key: 'wait', position: 2 })).toBe(
            'An agent will be with you as soon as we close one conversation.'
        );
        expect(renderNotice(settings, 'en', { key: 'wait', position: 9, estimatedWaitSeconds: 3000 })).toBe(
            'You are in line. An agent will be with you in about an hour.'
        );
        expect(renderNotice(settings, 'en', { key: 'wait' })).toBe(
            'All our agents are busy. An agent will be with you shortly.'
        );
    });

    it('fills the agent name and falls back per language: pt-BR → pt → default', () => {
        const translated: NoticeSettings = {
            ...settings,
            texts: {
                en: settings.texts['en']!,
                pt: { agentJoined: 'Agora você está falando com {agent}.', chatEnded: 'O chat terminou.' },
                'pt-br': { chatEnded: 'O atendimento terminou.' }
            }
        };
        expect(renderNotice(translated, 'pt-BR', { key: 'agentJoined', agent: 'Ana' })).toBe(
            'Agora você está falando com Ana.'
        );
        expect(renderNotice(translated, 'pt_BR', { key: 'chatEnded' })).toBe('O atendimento terminou.');
        expect(renderNotice(translated, 'pt', { key: 'chatEnded' })).toBe('O chat terminou.');
        expect(renderNotice(translated, 'de', { key: 'noAgents' })).toBe(
            'Sorry, no agent is available right now. We have noted your request and will get back to you.'
        );
        expect(renderNotice(translated, 'en', { key: 'transfer', agent: 'Billing' })).toBe(
            'Transferring you to Billing. Please stay on this chat.'
        );
    });

    it('reads the handover section of the mapping file, with defaults for what it leaves out', () => {
        const parsed = parseSettings({
            handover: {
                endKeywords: ['stop chat', 'bye agent'],
                noAgentTimeoutSeconds: 120,
                waitNoticeIntervalSeconds: 30,
                routingAttributes: { Haptik_Intent: 'intent', Customer_Email: 'user.email' },
                notices: { hi: { agentJoined: 'अब आप {agent} से बात कर रहे हैं।' } }
            }
        }).handover;
        expect(parsed.endKeywords).toEqual(['stop chat', 'bye agent']);
        expect(parsed.noAgentTimeoutMs).toBe(120_000);
        expect(parsed.notices.waitNoticeIntervalMs).toBe(30_000);
        expect(renderNotice(parsed.notices, 'hi', { key: 'agentJoined', agent: 'Ravi' })).toBe(
            'अब आप Ravi से बात कर रहे हैं।'
        );
        expect(parseSettings({}).handover.endKeywords).toEqual(['end chat']);
        let caught: unknown;
        try {
            parseSettings({ handover: { routingAttributes: { Field: 'user.password' } } });
        } catch (error) {
            caught = error;
        }
        expect(isBridgeError(caught, 'bridge_config_mapping_invalid')).toBe(true);
    });
});

describe('bot context (contract §4, version 1)', () => {
    const trigger: HandoverTrigger = {
        source: 'integration',
        user: {
            user_id: 'u-1',
            user_name: 'haptik_u1',
            full_name: 'Asha Rao',
            auth_id: 'crm-1',
            language_code: 'en',
            device_platform: 14
        },
        conversationNo: '7',
        node: 'talk_to_agent',
        conversation_details: {
            intent: 'refund_request',
            handover_reason: 'user asked for an agent',
            cart: { total: 42 }
        },
        user_details: { email: 'asha@example.com', mobile_no: '+91 98450 12345', tier: 'gold' },
        entities: { order_id: [{ entity_value: 'A-1001', original_text: 'A-1001' }] }
    };
    const messages = Array.from({ length: 30 }, (_, i) => ({
        sender: i % 2 === 0 ? ('user' as const) : ('bot' as const),
        text: `message ${i}`,
        at: new Date(Date.UTC(2026, 10, 25, 10, 0, i)).toISOString()
    }));

    it('holds user, channel, intent, reason, entities, flat details, CRM match and the last N messages', () => {
        const context = buildBotContext({
            trigger,
            channel: 'WhatsApp',
            crm: { objectType: 'Contact', id: '003000000000001AAA', name: 'Asha Rao' },
            messages,
            maxMessages: 5,
            defaultLanguage: 'en',
            defaultReason: 'default reason'
        });
        expect(context).toEqual({
            version: 1,
            user: {
                name: 'Asha Rao',
                email: 'asha@example.com',
                phone: '+91 98450 12345',
                authId: 'crm-1',
                language: 'en'
            },
            channel: 'WhatsApp',
            intent: 'refund_request',
            handoverReason: 'user asked for an agent',
            entities: [{ name: 'order_id', value: 'A-1001' }],
            details: {
                email: 'asha@example.com',
                mobile_no: '+91 98450 12345',
                tier: 'gold',
                intent: 'refund_request',
                handover_reason: 'user asked for an agent',
                'cart.total': 42
            },
            crm: { objectType: 'Contact', id: '003000000000001AAA', name: 'Asha Rao' },
            recentMessages: messages.slice(-5)
        });
    });

    it('drops the oldest messages until the JSON fits the field', () => {
        const long = messages.map((m) => ({ ...m, text: 'x'.repeat(1000) }));
        const context = buildBotContext({
            trigger,
            channel: 'Web',
            messages: long,
            maxMessages: 30,
            defaultLanguage: 'en',
            defaultReason: 'r',
            maxChars: 5000
        });
        expect(JSON.stringify(context).length).toBeLessThanOrEqual(5000);
        expect(context.recentMessages.length).toBeGreaterThan(0);
        expect(context.recentMessages.at(-1)).toEqual(long.at(-1));
    });

    it('redacts card numbers, OTPs and the like from messages, entities, details, intent and reason (mapping-file rules)', () => {
        const redact = createRedactor([
            ...DEFAULT_REDACTION_RULES,
            { name: 'policy', pattern: 'POL-\\d{6}', replacement: '[redacted policy]' }
        ]);
        const card = '4111 1111 1111 1111';
        const context = buildBotContext({
            trigger: {
                ...trigger,
                node: `pay with ${card}`,
                conversation_details: { handover_reason: `card ${card} declined`, otp_note: 'OTP is 482913' },
                user_details: { email: 'asha@example.com', mobile_no: '+91 98450 12345', policy: 'POL-123456' },
                entities: { card_number: [{ entity_value: card }] }
            },
            channel: 'Web',
            messages: [{ sender: 'user', text: `my card is ${card}`, at: '2026-11-25T10:00:00.000Z' }],
            maxMessages: 5,
            defaultLanguage: 'en',
            defaultReason: 'r',
            redact
        });
        const json = JSON.stringify(context);
        expect(json).not.toContain(card);
        expect(json).not.toContain('482913');
        expect(json).not.toContain('POL-123456');
        expect(context.recentMessages[0]?.text).toBe('my card is [redacted card]');
        expect(context.entities).toEqual([{ name: 'card_number', value: '[redacted card]' }]);
        expect(context.handoverReason).toBe('card [redacted card] declined');
        expect(context.intent).toBe('pay with [redacted card]');
        expect(context.details).toMatchObject({ otp_note: 'OTP is [redacted otp]', policy: '[redacted policy]' });
        // Contact data the agent needs stays.
        expect(context.user).toMatchObject({ email: 'asha@example.com', phone: '+91 98450 12345' });
        const briefing = agentBriefing(context, { header: 'h', userName: 'User', botName: 'Bot', agentName: 'Agent' });
        expect(briefing).not.toContain(card);
    });

    it('fits the field however large the details, entities, node and messages are (never STRING_TOO_LONG)', () => {
        const details = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`key_${i}`, 'v'.repeat(100)]));
        const context = buildBotContext({
            trigger: {
                ...trigger,
                node: 'n'.repeat(500_000),
                user: { ...trigger.user, full_name: 'F'.repeat(10_000) },
                conversation_details: { handover_reason: 'r'.repeat(10_000), blob: 'b'.repeat(300_000) },
                user_details: details,
                entities: Object.fromEntries(
                    Array.from({ length: 2000 }, (_, i) => [`e${i}`, [{ entity_value: 'e'.repeat(500) }]])
                )
            },
            channel: 'Web',
            messages: [
                { sender: 'user', text: 'x'.repeat(200_000), at: '2026-11-25T10:00:00.000Z' },
                { sender: 'bot', text: 'last words', at: '2026-11-25T10:00:01.000Z' }
            ],
            maxMessages: 10,
            defaultLanguage: 'en',
            defaultReason: 'r'
        });
        const json = JSON.stringify(context);
        expect(json.length).toBeLessThanOrEqual(131_072);
        expect(json.length).toBeGreaterThan(60_000);
        expect(context.recentMessages.at(-1)?.text).toBe('last words');
        expect(context.user.name?.length).toBeLessThanOrEqual(255);
        expect(context.intent?.length).toBeLessThanOrEqual(255);
        expect(Object.keys(context.details).length).toBeGreaterThan(0);
        expect(context.entities.length).toBeGreaterThan(0);
    });

    it('fits a small field by trimming details to half of it, then dropping the oldest messages', () => {
        const context = buildBotContext({
            trigger: {
                ...trigger,
                user_details: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, 'v'.repeat(50)]))
            },
            channel: 'Web',
            messages,
            maxMessages: 30,
            defaultLanguage: 'en',
            defaultReason: 'r',
            maxChars: 2000
        });
        expect(JSON.stringify(context).length).toBeLessThanOrEqual(2000);
        expect(Object.keys(context.details).length).toBeGreaterThan(0);
        expect(Object.keys(context.details).length).toBeLessThan(200);
        expect(context.recentMessages.at(-1)).toEqual(messages.at(-1));
    });

    it('a TRACT trigger knows only the user id: the reason says the bot could not finish', () => {
        const context = buildBotContext({
            trigger: { source: 'tract_event', user: { user_id: 'u-2' }, conversationNo: '1' },
            channel: 'Other',
            messages: [],
            maxMessages: 10,
            defaultLanguage: 'hi',
            defaultReason: 'default'
        });
        expect(context).toEqual({
            version: 1,
            user: { language: 'hi' },
            channel: 'Other',
            handoverReason: 'the bot could not complete the conversation',
            entities: [],
            details: {},
            recentMessages: []
        });
    });

    it('maps context values to the deployment pre-chat fields, leaving out empty ones', () => {
        const context = buildBotContext({
            trigger,
            channel: 'WhatsApp',
            messages: [],
            maxMessages: 0,
            defaultLanguage: 'en',
            defaultReason: 'r'
        });
        expect(
            routingAttributesOf(
                {
                    Haptik_Intent: 'intent',
                    Customer_Email: 'user.email',
                    Order: 'entities.order_id',
                    Tier: 'details.tier',
                    Key: 'conversationKey',
                    Crm: 'crm.id'
                },
                context,
                '343:u-1:7'
            )
        ).toEqual({
            Haptik_Intent: 'refund_request',
            Customer_Email: 'asha@example.com',
            Order: 'A-1001',
            Tier: 'gold',
            Key: '343:u-1:7'
        });
    });

    it('briefs the agent with the bot conversation as readable lines', () => {
        const context = buildBotContext({
            trigger,
            channel: 'WhatsApp',
            crm: { objectType: 'Contact', id: '003X' },
            messages: messages.slice(0, 2),
            maxMessages: 10,
            defaultLanguage: 'en',
            defaultReason: 'r'
        });
        expect(
            agentBriefing(context, {
                header: 'Before this chat:',
                userName: 'User',
                botName: 'Bot',
                agentName: 'Agent'
            })
        ).toBe(
            [
                'Before this chat:',
                'Customer: Asha Rao, Contact 003X',
                'Reason: user asked for an agent (refund_request)',
                'User: message 0',
                'Bot: message 1'
            ].join('\n')
        );
    });
});

describe('user messages for the agent', () => {
    it('typed text, quick-reply taps and button taps become readable text, never JSON', () => {
        expect(renderUserMessage('{"text":"Where is my order?","type":"TEXT","data":{}}')).toEqual({
            text: 'Where is my order?',
            choice: false
        });
        expect(
            renderUserMessage(
                JSON.stringify({
                    text: '',
                    type: 'TEXT',
                    data: { actionable_text: 'Track order', payload: { message: 'track', gogo_message: '' } }
                })
            )
        ).toEqual({ text: '[chose] Track order', choice: true });
        expect(renderUserMessage({ text: 'Yes, cancel it', type: 'BUTTON', data: {} })).toEqual({
            text: '[chose] Yes, cancel it',
            choice: true
        });
        expect(renderUserMessage('plain words')).toEqual({ text: 'plain words', choice: false });
        expect(renderUserMessage('{not json')).toEqual({ text: '{not json', choice: false });
    });

    it('reads a message body nested 100,000 levels deep as plain text rather than overflowing the stack', () => {
        const deep = '['.repeat(100_000) + '"hi"' + ']'.repeat(100_000);
        expect(renderUserMessage(deep)).toEqual({ text: deep, choice: false });
        expect(renderUserMessage('[["a"], [["b"]]]')).toEqual({ text: 'a\nb', choice: false });
    });

    it('recognises the end keyword without case, blanks or final punctuation', () => {
        expect(isEndKeyword('  End   Chat! ', ['end chat'])).toBe(true);
        expect(isEndKeyword('[chose] End chat', ['end chat'])).toBe(true);
        expect(isEndKeyword('please end chat now', ['end chat'])).toBe(false);
        expect(isEndKeyword('', ['end chat'])).toBe(false);
    });
});
