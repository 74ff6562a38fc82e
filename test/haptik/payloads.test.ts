import {
    eventIdOf,
    integrationRequestSchema,
    tractEventSchema,
    tractMessageSchema,
    webhookPayloadSchema
} from '../../bridge/src/haptik/payloads';
import {
    integrationRequest,
    tractEvent,
    tractMessage,
    webhookConversationComplete,
    webhookMessage
} from '../emulators/haptik/haptik-sender';

describe('Haptik payload schemas', () => {
    it('parses a conversation-complete webhook, normalising numeric ids to strings and keeping unknown keys', () => {
        const payload = { ...webhookConversationComplete({ conversationNo: 12, userId: 'u-5' }), extra_key: 'kept' };

        const parsed = webhookPayloadSchema.parse(payload);

        expect(parsed.data?.conversation_no).toBe('12');
        expect(parsed.business_id).toBe('343');
        expect(parsed.user.user_name).toBe('haptik_user_1001');
        expect((parsed as Record<string, unknown>).extra_key).toBe('kept');
        expect(eventIdOf('webhook', parsed)).toBe('webhook:conversation_complete:12:u-5');
    });

    it('accepts other webhook events with few fields and ids them by message id, else by event and time', () => {
        const chatPinned = webhookPayloadSchema.parse({
            user: { user_name: 'x' },
            business_id: 343,
            event_name: 'chat_pinned',
            timestamp: '2026-01-01T00:00:00Z'
        });
        const message = webhookPayloadSchema.parse(webhookMessage({ messageId: 5 }));

        expect(eventIdOf('webhook', chatPinned)).toBe('webhook:chat_pinned:x:2026-01-01T00:00:00Z');
        expect(eventIdOf('webhook', message)).toBe('webhook:message:5');
    });

    it('parses a TRACT message and keeps message_body a string (serialising an object body)', () => {
        const parsed = tractMessageSchema.parse(tractMessage({ userId: 'u-1', text: 'hello', messageId: 41 }));
        const objectBody = tractMessageSchema.parse({
            user_id: 'u-1',
            message_id: 42,
            message_body: { text: 'hi', type: 'TEXT' }
        });

        expect(parsed.message_id).toBe('41');
        expect(JSON.parse(parsed.message_body)).toMatchObject({ text: 'hello', type: 'TEXT' });
        expect(objectBody.message_body).toBe('{"text":"hi","type":"TEXT"}');
        expect(eventIdOf('tractMessage', parsed)).toBe('tract:message:u-1:41');
    });

    it('parses a TRACT event and ids it per conversation, category and subcategory', () => {
        const parsed = tractEventSchema.parse(tractEvent({ userId: 'u-1', conversationNumber: 3 }));

        expect(eventIdOf('tractEvent', parsed)).toBe('tract:event:u-1:3:collection_state:incomplete');
        expect(tractEventSchema.safeParse({ user_id: 'u-1', category: 'collection_state' }).success).toBe(false);
    });

    it('parses an integration request, defaulting absent or null detail maps and entity lists', () => {
        const base = integrationRequest({ entities: { order_id: ['A-1', 'A-2'] } });
        const parsed = integrationRequestSchema.parse({
            ...base,
            user_details: null,
            env_variables: undefined,
            entities: { ...(base.entities as object), empty: null }
        });

        expect(parsed.user.user_id).toBe('u-1001');
        expect(parsed.user_details).toEqual({});
        expect(parsed.env_variables).toEqual({});
        expect(parsed.entities.order_id?.map((e) => e.entity_value)).toEqual(['A-1', 'A-2']);
        expect(parsed.entities.empty).toEqual([]);
        expect(eventIdOf('handover', parsed)).toBe('integration:handover:u-1001:1:lookup_customer');
    });

    it('rejects an integration request without a user id', () => {
        const result = integrationRequestSchema.safeParse({ ...integrationRequest(), user: { user_name: 'x' } });

        expect(result.success).toBe(false);
        expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['user.user_id']);
    });
});
