/**
 * The agent's attachment as Salesforce documents the BYOC platform event (salesforce-misc/interaction-service-apis
 * README, "The outbound message with attachment", Spring '24 shape: the entry nested under `payload` next to
 * `conversationIdentifier`): read from the event's fields into the core's `agent_attachment`.
 */
import { mapByocEvent, parseByocEvent } from '../../bridge/src/salesforce/byoc/event-mapping';

const FILE_URL =
    'https://acme-dev-ed--c.develop.documentforce.com/sfc/dist/version/download/?oid=00D000000000001&ids=068000000000001&d=%2Fa%2FXY0000000001%2FsecretPart&asPdf=false';

/** The documented example's shape, with this test's own ids and names. */
function attachmentEvent(attachments: unknown[], text: string | null): Record<string, unknown> {
    const id = '3f1c2b9a-0d4e-4c6b-9a8f-1e2d3c4b5a69';
    return {
        CreatedDate: 1_700_000_000_000,
        CreatedById: '005000000000001',
        Acme_Payload__c: JSON.stringify({
            conversationIdentifier: '7d2e4f60-1a3b-4c5d-8e9f-0a1b2c3d4e5f',
            channelAddressIdentifier: '6f1d2c3b-4a59-4e8f-9d7c-2b1a0e9f8d7c',
            recipient: { appType: 'custom', subject: 'haptik:343:u-1', role: 'EndUser' },
            payload: {
                senderDisplayName: 'Priya',
                identifier: id,
                entryType: 'Message',
                entryPayload: {
                    entryType: 'Message',
                    id,
                    abstractMessage: {
                        messageType: 'StaticContentMessage',
                        id,
                        staticContent: { formatType: 'Attachments', text, attachments }
                    },
                    messageReason: null
                },
                sender: { appType: 'agent', subject: '005000000000002', role: 'Agent' },
                transcriptedTimestamp: 1_700_000_000_100,
                clientTimestamp: 1_700_000_000_000,
                clientDuration: 0
            }
        }),
        Acme_EventType__c: 'Interaction'
    };
}

describe('BYOC event mapping: agent attachments', () => {
    it("turns the documented attachment event into the agent's file, with its caption", () => {
        const event = parseByocEvent(
            attachmentEvent(
                [
                    {
                        name: 'Return-Label.PDF',
                        attachmentUploadResult: null,
                        id: '9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d',
                        mimeType: 'Application/PDF',
                        url: FILE_URL,
                        referenceId: '1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7a8b'
                    }
                ],
                'did you get my file'
            )
        );
        expect(event).toMatchObject({
            endUserId: 'haptik:343:u-1',
            payload: { conversationIdentifier: '7d2e4f60-1a3b-4c5d-8e9f-0a1b2c3d4e5f' }
        });
        const mapped = mapByocEvent(event!.payload, { finished: false, agentName: 'Priya' });
        expect(mapped.events).toEqual([
            {
                type: 'agent_attachment',
                messageId: '3f1c2b9a-0d4e-4c6b-9a8f-1e2d3c4b5a69',
                text: 'did you get my file',
                agentName: 'Priya',
                attachments: [
                    {
                        id: '9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d',
                        name: 'Return-Label.PDF',
                        contentType: 'application/pdf',
                        url: FILE_URL,
                        referenceId: '1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7a8b'
                    }
                ]
            }
        ]);
    });

    it('leaves out an attachment that cannot be fetched (no URL), and a bare file has no caption', () => {
        const event = parseByocEvent(
            attachmentEvent(
                [
                    { name: 'a.png', id: 'a1', mimeType: 'image/png', url: FILE_URL },
                    { name: 'b.png', id: 'b2', mimeType: 'image/png' }
                ],
                null
            )
        );
        const mapped = mapByocEvent(event!.payload, { finished: false });
        expect(mapped.events).toEqual([
            {
                type: 'agent_attachment',
                messageId: '3f1c2b9a-0d4e-4c6b-9a8f-1e2d3c4b5a69',
                agentName: 'Priya',
                attachments: [{ id: 'a1', name: 'a.png', contentType: 'image/png', url: FILE_URL }]
            }
        ]);
    });
});
