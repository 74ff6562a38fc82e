/** The SSE event → ChatEvent mapping on hand-built events in Salesforce's documented shapes. */
import { mapEnhancedChatEvent } from '../../bridge/src/salesforce/enhanced-chat';
import type { ConversationView } from '../../bridge/src/salesforce/enhanced-chat';

const CONVERSATION = '6f1c2b8e-1d2a-4c3b-9e8f-0a1b2c3d4e5f';
const fresh: ConversationView = { finished: false };

function sse(payload: Record<string, unknown>, sender: { role: string }, extra: Record<string, unknown> = {}): string {
    return JSON.stringify({
        channelPlatformKey: 'Haptik',
        channelType: 'embedded_messaging',
        conversationId: CONVERSATION,
        conversationEntry: {
            senderDisplayName: 'Asha',
            identifier: 'entry-1',
            entryType: payload.entryType,
            entryPayload: JSON.stringify(payload),
            sender: { ...sender, subject: 's', appType: 'agent' },
            transcriptedTimestamp: 1,
            clientTimestamp: 1,
            relatedRecords: [],
            ...extra
        }
    });
}

describe('mapEnhancedChatEvent', () => {
    it('ignores the end user own echoed messages and typing, unknown types and malformed data', () => {
        const echo = sse(
            { entryType: 'Message', abstractMessage: { staticContent: { formatType: 'Text', text: 'hi' } } },
            { role: 'EndUser' }
        );
        expect(mapEnhancedChatEvent('CONVERSATION_MESSAGE', echo, fresh, CONVERSATION).events).toEqual([]);
        const typing = sse({ entryType: 'TypingStartedIndicator' }, { role: 'EndUser' });
        expect(
            mapEnhancedChatEvent('CONVERSATION_TYPING_STARTED_INDICATOR', typing, fresh, CONVERSATION).events
        ).toEqual([]);
        expect(mapEnhancedChatEvent('CONVERSATION_READ_ACKNOWLEDGEMENT', typing, fresh, CONVERSATION).ignored).toBe(
            'unknown_type'
        );
        expect(mapEnhancedChatEvent('CONVERSATION_MESSAGE', '{not json', fresh, CONVERSATION).ignored).toBe(
            'malformed'
        );
        const other = sse({ entryType: 'SessionStatusChanged', sessionStatus: 'Ended' }, { role: 'System' }).replace(
            CONVERSATION,
            '00000000-0000-4000-8000-000000000000'
        );
        expect(mapEnhancedChatEvent('CONVERSATION_SESSION_STATUS_CHANGED', other, fresh, CONVERSATION).events).toEqual(
            []
        );
    });

    it('reads the entry payload, which Salesforce sends as a JSON string', () => {
        const message = sse(
            {
                entryType: 'Message',
                abstractMessage: {
                    messageType: 'StaticContentMessage',
                    staticContent: { formatType: 'Text', text: 'Hello' }
                }
            },
            { role: 'Agent' }
        );
        expect(mapEnhancedChatEvent('CONVERSATION_MESSAGE', message, fresh, CONVERSATION).events).toEqual([
            { type: 'agent_message', messageId: 'entry-1', text: 'Hello', agentName: 'Asha' }
        ]);
    });

    it('renders a choices message as readable text', () => {
        const choices = sse(
            {
                entryType: 'Message',
                abstractMessage: {
                    messageType: 'ChoicesMessage',
                    choices: {
                        text: 'Pick one',
                        optionItems: [{ titleItem: { title: 'Refund' } }, { titleItem: { title: 'Exchange' } }]
                    }
                }
            },
            { role: 'Agent' }
        );
        const [event] = mapEnhancedChatEvent('CONVERSATION_MESSAGE', choices, fresh, CONVERSATION).events;
        expect(event).toMatchObject({ type: 'agent_message', text: 'Pick one\n1. Refund\n2. Exchange' });
    });

    it('treats a remove during the session as an agent leaving, and everything after the end as nothing', () => {
        const remove = sse(
            {
                entryType: 'ParticipantChanged',
                entries: [{ operation: 'remove', participant: { role: 'Agent' }, displayName: 'Asha' }]
            },
            { role: 'Agent' }
        );
        const during = mapEnhancedChatEvent(
            'CONVERSATION_PARTICIPANT_CHANGED',
            remove,
            { finished: false, agentName: 'Asha' },
            CONVERSATION
        );
        expect(during.events).toEqual([{ type: 'agent_left', agentName: 'Asha' }]);
        expect(during.view.agentName).toBeUndefined();
        expect(
            mapEnhancedChatEvent('CONVERSATION_PARTICIPANT_CHANGED', remove, { finished: true }, CONVERSATION).events
        ).toEqual([]);
    });

    it('maps who ended the session', () => {
        const ended = (role: string) =>
            mapEnhancedChatEvent(
                'CONVERSATION_SESSION_STATUS_CHANGED',
                sse(
                    { entryType: 'SessionStatusChanged', sessionStatus: 'Ended', sessionEndedByRole: role },
                    { role: 'System' }
                ),
                fresh,
                CONVERSATION
            ).events;
        expect(ended('Agent')).toEqual([{ type: 'ended', by: 'agent' }]);
        expect(ended('EndUser')).toEqual([{ type: 'ended', by: 'user' }]);
        expect(ended('System')).toEqual([{ type: 'ended', by: 'system' }]);
        const active = sse({ entryType: 'SessionStatusChanged', sessionStatus: 'Active' }, { role: 'System' });
        expect(mapEnhancedChatEvent('CONVERSATION_SESSION_STATUS_CHANGED', active, fresh, CONVERSATION).events).toEqual(
            []
        );
    });

    it('maps routing results: wait estimate, transfer, failure; and keeps the MessagingSession id', () => {
        const routing = (payload: Record<string, unknown>, view: ConversationView = fresh) =>
            mapEnhancedChatEvent(
                'CONVERSATION_ROUTING_RESULT',
                sse({ entryType: 'RoutingResult', recordId: '0Mw000000000001AAA', ...payload }, { role: 'Router' }),
                view,
                CONVERSATION
            );
        const initial = routing({
            routingType: 'Initial',
            failureType: 'None',
            estimatedWaitTime: { estimatedWaitTimeInSeconds: 90, isEWTRequested: true }
        });
        expect(initial.events).toEqual([{ type: 'queued', estimatedWaitSeconds: 90 }]);
        expect(initial.messagingSessionId).toBe('0Mw000000000001AAA');
        expect(routing({ routingType: 'Transfer', failureType: 'None' }).events).toEqual([{ type: 'transferring' }]);
        const failed = routing({ routingType: 'Initial', failureType: 'SubmissionError' });
        expect(failed.events).toEqual([{ type: 'failed', reason: 'routing_failed', detail: 'SubmissionError' }]);
        expect(failed.view.finished).toBe(true);
        expect(
            routing({ routingType: 'Initial', failureType: 'None' }, { finished: false, agentName: 'Asha' }).events
        ).toEqual([]);
    });
});

describe('mapEnhancedChatEvent: agent attachments (issue 18)', () => {
    const attachmentMessage = (text: string | null, attachments: unknown[]): string =>
        sse(
            {
                entryType: 'Message',
                abstractMessage: {
                    messageType: 'StaticContentMessage',
                    id: 'm-1',
                    staticContent: { formatType: 'Attachments', text, attachments }
                }
            },
            { role: 'Agent' }
        );
    const label = {
        name: 'return-label.pdf',
        id: '069000000000001',
        mimeType: 'application/PDF',
        url: 'https://acme.my.salesforce-scrt.com/iamessage/v1/files/069000000000001',
        referenceId: 'ref-1',
        attachmentUploadResult: null
    };

    it('maps an Attachments message with a null text to one agent_attachment event with every file', () => {
        const photo = { ...label, name: 'box.jpg', id: '069000000000002', mimeType: 'image/jpeg', referenceId: null };
        const mapped = mapEnhancedChatEvent(
            'CONVERSATION_MESSAGE',
            attachmentMessage(null, [label, photo]),
            fresh,
            CONVERSATION
        );

        expect(mapped.events).toEqual([
            {
                type: 'agent_attachment',
                messageId: 'entry-1',
                agentName: 'Asha',
                attachments: [
                    {
                        id: '069000000000001',
                        name: 'return-label.pdf',
                        contentType: 'application/pdf',
                        url: label.url,
                        referenceId: 'ref-1'
                    },
                    { id: '069000000000002', name: 'box.jpg', contentType: 'image/jpeg', url: photo.url }
                ]
            }
        ]);
    });

    it('keeps the caption, and leaves out entries it could not fetch', () => {
        const mapped = mapEnhancedChatEvent(
            'CONVERSATION_MESSAGE',
            attachmentMessage('Here is your label', [label, { name: 'no-url', id: 'x' }]),
            fresh,
            CONVERSATION
        );

        expect(mapped.events).toEqual([
            expect.objectContaining({
                type: 'agent_attachment',
                text: 'Here is your label',
                attachments: [expect.objectContaining({ id: label.id })]
            })
        ]);
    });

    it('treats an Attachments message without usable files as text, or ignores it when it has none', () => {
        const captionOnly = mapEnhancedChatEvent(
            'CONVERSATION_MESSAGE',
            attachmentMessage('See below', []),
            fresh,
            CONVERSATION
        );
        expect(captionOnly.events).toEqual([
            { type: 'agent_message', messageId: 'entry-1', text: 'See below', agentName: 'Asha' }
        ]);
        expect(
            mapEnhancedChatEvent('CONVERSATION_MESSAGE', attachmentMessage(null, []), fresh, CONVERSATION).ignored
        ).toBe('unsupported_message');
    });
});
