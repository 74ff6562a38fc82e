import {
    describeError,
    humanize,
    isBlank,
    parseBotContext,
    resolveObjectType,
    sameRecordId,
    toDisplayText
} from '../botContextModel';

describe('botContextModel', () => {
    describe('parseBotContext', () => {
        it('treats a missing, blank or null value as no context', () => {
            expect(parseBotContext(undefined)).toEqual({ kind: 'empty' });
            expect(parseBotContext(null)).toEqual({ kind: 'empty' });
            expect(parseBotContext('   ')).toEqual({ kind: 'empty' });
            expect(parseBotContext('null')).toEqual({ kind: 'empty' });
        });

        it('reports malformed JSON and non-objects without throwing', () => {
            const broken = parseBotContext('{"version": 1,');
            expect(broken.kind).toBe('invalid');
            expect(broken.reason).toMatch(/^It is not valid JSON \(.+\)\.$/);
            expect(broken.excerpt).toBe('{"version": 1,');
            expect(parseBotContext('[1, 2]')).toEqual({
                kind: 'invalid',
                reason: 'It is JSON, but not an object.',
                excerpt: '[1, 2]'
            });
            expect(parseBotContext(42).kind).toBe('invalid');
        });

        it('reads every part of a version 1 context and ignores unknown keys', () => {
            const result = parseBotContext(
                JSON.stringify({
                    version: 1,
                    user: { name: 'Asha', email: 'a@example.com', language: 'hi' },
                    channel: 'Android',
                    intent: 'orderStatus',
                    handoverReason: 'bot could not answer',
                    entities: [{ name: 'order_id', value: 'A-1' }, { name: 'qty', value: 2 }, { value: 'nameless' }],
                    details: { vip: true, empty: '', nested: { a: 1 } },
                    crm: { objectType: 'Account', id: '001xx000003DGb2AAG', name: 'Acme' },
                    recentMessages: [{ sender: 'BOT', text: 'Hello' }, { sender: 'someone', text: 'Hi' }, { text: '' }],
                    sentiment: 'ignored'
                })
            );
            expect(result.kind).toBe('ready');
            expect(result.notes).toEqual([]);
            const c = result.context;
            expect(c.name.text).toBe('Asha');
            expect(c.who.map((w) => [w.label, w.value.text])).toEqual([
                ['Email', 'a@example.com'],
                ['Channel', 'Android'],
                ['Language', 'hi']
            ]);
            expect(c.intent.text).toBe('Order status');
            expect(c.intentCode).toBe('orderStatus');
            expect(c.handoverReason.text).toBe('bot could not answer');
            expect(c.entities.map((e) => [e.label, e.value.text])).toEqual([
                ['Order id', 'A-1'],
                ['Qty', '2']
            ]);
            expect(c.details.map((d) => [d.label, d.value.text])).toEqual([
                ['Vip', 'true'],
                ['Nested', '{"a":1}']
            ]);
            expect(c.crm).toEqual({ objectType: 'Account', id: '001xx000003DGb2AAG', name: toDisplayText('Acme') });
            expect(c.messages.map((m) => [m.sender, m.senderLabel, m.text.text])).toEqual([
                ['bot', 'Bot', 'Hello'],
                ['other', 'Other', 'Hi']
            ]);
        });

        it('puts messages in time order, newest last, and keeps the given order without times', () => {
            const timed = parseBotContext(
                JSON.stringify({
                    version: 1,
                    recentMessages: [
                        { sender: 'user', text: 'second', at: '2026-11-25T10:01:00Z' },
                        { sender: 'bot', text: 'first', at: '2026-11-25T10:00:00Z' }
                    ]
                })
            );
            expect(timed.context.messages.map((m) => m.text.text)).toEqual(['first', 'second']);
            const untimed = parseBotContext(
                JSON.stringify({ version: 1, recentMessages: [{ text: 'b', at: '2026-11-25T10:01:00Z' }, { text: 'a' }] })
            );
            expect(untimed.context.messages.map((m) => m.text.text)).toEqual(['b', 'a']);
        });

        it('ignores a CRM match without a Salesforce id and falls back to the CRM name for the customer', () => {
            const noId = parseBotContext(JSON.stringify({ version: 1, crm: { objectType: 'Contact', id: 'n/a' } }));
            expect(noId.context.crm).toBeUndefined();
            const crmName = parseBotContext(
                JSON.stringify({ version: 1, crm: { id: '003xx000004TmiQAAS', name: 'From CRM' } })
            );
            expect(crmName.context.crm.objectType).toBe('Contact');
            expect(crmName.context.name.text).toBe('From CRM');
        });

        it('notes an unknown or missing version and parts of the wrong shape', () => {
            const newer = parseBotContext(JSON.stringify({ version: 3, intent: 'x', entities: 'oops', crm: 7 }));
            expect(newer.kind).toBe('ready');
            expect(newer.notes).toEqual([
                'This context uses format version 3; this component reads version 1, so only the parts it recognises are shown.',
                'Some parts could not be read and are left out: crm, entities.'
            ]);
            expect(newer.context.intent.text).toBe('X');
            const unversioned = parseBotContext(JSON.stringify({ intent: 'x' }));
            expect(unversioned.notes[0]).toMatch(/no format version/);
        });

        it('knows when a context holds nothing to show', () => {
            expect(isBlank(parseBotContext('{"version":1}').context)).toBe(true);
            expect(isBlank(parseBotContext('{"version":1,"intent":"x"}').context)).toBe(false);
        });
    });

    it('cuts long text with an ellipsis and keeps the full text', () => {
        expect(toDisplayText('short', 10)).toEqual({ text: 'short', full: 'short', truncated: false });
        const cut = toDisplayText('abcdefghijkl', 5);
        expect(cut).toEqual({ text: 'abcd…', full: 'abcdefghijkl', truncated: true });
    });

    it('turns bot keys into labels', () => {
        expect(humanize('order_id')).toBe('Order id');
        expect(humanize('handoverReason')).toBe('Handover reason');
        expect(humanize('__')).toBe('__');
    });

    it('resolves the object from the page or the key prefix', () => {
        expect(resolveObjectType('Case', '0Mwxx0000004C92CAE')).toBe('Case');
        expect(resolveObjectType(undefined, '0Mwxx0000004C92CAE')).toBe('MessagingSession');
        expect(resolveObjectType(undefined, '570xx000000AbCdAAK')).toBe('LiveChatTranscript');
        expect(resolveObjectType(undefined, '001xx000003DGb2AAG')).toBeUndefined();
        expect(resolveObjectType(undefined, undefined)).toBeUndefined();
    });

    it('compares 15- and 18-character ids', () => {
        expect(sameRecordId('500xx000001Sv5G', '500xx000001Sv5GAAS')).toBe(true);
        expect(sameRecordId('500xx000001Sv5GAAS', '500xx000001Sv5HAAS')).toBe(false);
        expect(sameRecordId(undefined, '500xx000001Sv5GAAS')).toBe(false);
    });

    it('describes UI API, network and script errors', () => {
        expect(describeError({ body: { message: 'No access' }, status: 403 })).toBe('No access');
        expect(describeError({ body: [{ message: 'A' }, { message: 'B' }] })).toBe('A B');
        expect(describeError(new Error('boom'))).toBe('boom');
        expect(describeError({ statusText: 'Service Unavailable' })).toBe('Service Unavailable');
        expect(describeError(undefined)).toBe('Unknown error.');
    });
});
