/**
 * The BYOC emulators as a client sees them: the Interaction Service API's headers, multipart body, codes and
 * answers, and the Pub/Sub API read with the real salesforce-pubsub-api-client over TLS (Avro, replay ids,
 * numRequested flow control).
 */
import { randomUUID } from 'node:crypto';
import PubSubApiClient from 'salesforce-pubsub-api-client';
import { startSalesforceEmulator } from '../emulators/salesforce';
import type { SalesforceEmulator } from '../emulators/salesforce';
import { SANDBOX_BYOC, startByocEmulators } from '../emulators/byoc';
import type { ByocEmulators } from '../emulators/byoc';
import { eventually } from '../support/eventually';

const ORG = '00DHp00000EmuLAT0R';
let salesforce: SalesforceEmulator;
let byoc: ByocEmulators;

async function token(): Promise<{ accessToken: string; instanceUrl: string }> {
    const res = await fetch(`${salesforce.url}/services/oauth2/token`, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'cid', client_secret: 'secret' })
    });
    const body = (await res.json()) as { access_token: string; instance_url: string };
    return { accessToken: body.access_token, instanceUrl: body.instance_url };
}

function headers(accessToken: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
        Authorization: `Bearer ${accessToken}`,
        OrgId: ORG.slice(0, 15),
        AuthorizationContext: SANDBOX_BYOC.channelDefinition,
        RequestId: randomUUID(),
        ...extra
    };
}

function interaction(from: string, text: string, id = randomUUID()): FormData {
    const form = new FormData();
    form.append(
        'json',
        new Blob(
            [
                JSON.stringify({
                    to: SANDBOX_BYOC.channelAddress,
                    from,
                    routingAttributes: { Haptik_Conversation: `343:${from}:1` },
                    interactions: [
                        {
                            timestamp: Date.now(),
                            interactionType: 'EntryInteraction',
                            payload: {
                                id,
                                entryType: 'Message',
                                abstractMessage: {
                                    messageType: 'StaticContentMessage',
                                    id,
                                    staticContent: { formatType: 'Text', text }
                                }
                            }
                        }
                    ]
                })
            ],
            { type: 'application/json' }
        )
    );
    return form;
}

beforeAll(async () => {
    salesforce = await startSalesforceEmulator({
        clientId: 'cid',
        clientSecret: 'secret',
        orgId: ORG,
        tokenScope: 'api interaction_api'
    });
    byoc = await startByocEmulators({ orgId: ORG, salesforce, keepAliveMs: 200 });
});

afterAll(async () => {
    await byoc.close();
    await salesforce.close();
});

describe('Interaction Service API emulator', () => {
    it('takes a multipart interaction and answers 202 with the conversation identifier', async () => {
        const { accessToken } = await token();
        const res = await fetch(`${byoc.interactions.url}/api/v1/interactions`, {
            method: 'POST',
            headers: headers(accessToken),
            body: interaction('user-a', 'hello')
        });
        expect(res.status).toBe(202);
        const body = (await res.json()) as { conversationIdentifier: string; success: boolean; workItemIds: string[] };
        expect(body.success).toBe(true);
        expect(body.workItemIds).toHaveLength(1);
        expect(byoc.interactions.messagesFrom(body.conversationIdentifier).map((m) => m.text)).toEqual(['hello']);
        expect(salesforce.records('MessagingSession')).toHaveLength(1);
    });

    it('answers the documented error codes', async () => {
        const { accessToken } = await token();
        const post = async (h: Record<string, string>, body: FormData | string = interaction('user-b', 'x')) => {
            const res = await fetch(`${byoc.interactions.url}/api/v1/interactions`, {
                method: 'POST',
                headers: h,
                body
            });
            return { status: res.status, body: (await res.json()) as { code: number; message: string } };
        };
        expect(await post({ ...headers(accessToken), RequestId: 'not-a-uuid' })).toMatchObject({
            status: 400,
            body: { code: 10016 }
        });
        expect(await post(headers('00D!forged'))).toMatchObject({ status: 401, body: { code: 10004 } });
        expect(await post({ ...headers(accessToken), AuthorizationContext: 'Other' })).toMatchObject({
            status: 403,
            body: { code: 10005 }
        });
        const id = randomUUID();
        expect((await post(headers(accessToken), interaction('user-b', 'once', id))).status).toBe(202);
        expect(await post(headers(accessToken), interaction('user-b', 'again', id))).toMatchObject({
            status: 400,
            body: { code: 10073 }
        });
        const history = await fetch(`${byoc.interactions.url}/api/v1/conversationHistory`, {
            method: 'POST',
            headers: { ...headers(accessToken), 'Content-Type': 'application/json' },
            body: JSON.stringify({ channelAddressIdentifier: SANDBOX_BYOC.channelAddress })
        });
        expect(history.status).toBe(403);
        expect(((await history.json()) as { code: number }).code).toBe(10057);
    });

    it('refuses a token without the interaction_api scope (10003)', async () => {
        const other = await startSalesforceEmulator({ clientId: 'cid', clientSecret: 'secret', orgId: ORG });
        const plain = await startByocEmulators({ orgId: ORG, salesforce: other });
        try {
            const res = await fetch(`${other.url}/services/oauth2/token`, {
                method: 'POST',
                body: new URLSearchParams({
                    grant_type: 'client_credentials',
                    client_id: 'cid',
                    client_secret: 'secret'
                })
            });
            const { access_token } = (await res.json()) as { access_token: string };
            const answer = await fetch(`${plain.interactions.url}/api/v1/interactions`, {
                method: 'POST',
                headers: headers(access_token),
                body: interaction('user-c', 'hi')
            });
            expect(answer.status).toBe(403);
            expect(((await answer.json()) as { code: number }).code).toBe(10003);
        } finally {
            await plain.close();
            await other.close();
        }
    });
});

describe('Pub/Sub API emulator with the real client', () => {
    it('streams the agent side as Avro platform events, from a replay id, within numRequested', async () => {
        const { accessToken, instanceUrl } = await token();
        const res = await fetch(`${byoc.interactions.url}/api/v1/interactions`, {
            method: 'POST',
            headers: headers(accessToken),
            body: interaction('user-d', 'need help')
        });
        const { conversationIdentifier } = (await res.json()) as { conversationIdentifier: string };
        const before = byoc.pubsub.events(SANDBOX_BYOC.topicName).at(-1)?.replayId ?? 0;
        byoc.interactions.accept(conversationIdentifier, 'Ada');
        for (let i = 0; i < 5; i++) byoc.interactions.agentMessage(conversationIdentifier, `reply ${i}`);

        const client = new PubSubApiClient(
            {
                authType: 'user-supplied',
                accessToken,
                // The client takes only https instance URLs; the emulated org is http on loopback.
                instanceUrl: instanceUrl.replace(/^http:/, 'https:'),
                organizationId: ORG,
                pubSubEndpoint: byoc.pubsub.url.replace('https://', ''),
                rejectUnauthorizedSsl: false
            },
            { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined }
        );
        await client.connect();
        const received: Array<{ replayId: number; payload: Record<string, unknown> }> = [];
        const maxBatch = byoc.pubsub.stats.maxBatch;
        client.subscribeFromReplayId(
            SANDBOX_BYOC.topicName,
            (_info, type, data) => {
                if (type === 'event') received.push(data as { replayId: number; payload: Record<string, unknown> });
            },
            3,
            before
        );
        await eventually(() => received.length >= 3 || undefined);
        // Only 3 were asked for: the rest waits until the client asks again.
        expect(received).toHaveLength(3);
        client.requestAdditionalEvents(SANDBOX_BYOC.topicName, 10);
        await eventually(() => received.length >= 7 || undefined);
        // No client.close(): in 5.5.2 it drops the stream's listeners without cancelling the call, and the
        // emulator's shutdown would then raise an unhandled 'error' (why the bridge has its own pubsub-stream.ts).
        expect(byoc.pubsub.stats.maxBatch).toBeGreaterThanOrEqual(maxBatch);
        expect(received[0]!.replayId).toBe(before + 1);
        const messages = received
            .map((e) => JSON.parse(String(e.payload[SANDBOX_BYOC.payloadField])) as Record<string, unknown>)
            .filter((p) => p['entryType'] === 'Message')
            .map(
                (p) =>
                    (p['entryPayload'] as { abstractMessage: { staticContent: { text: string } } }).abstractMessage
                        .staticContent.text
            );
        expect(messages).toEqual(['reply 0', 'reply 1', 'reply 2', 'reply 3', 'reply 4']);
        expect(received.every((e) => e.payload[SANDBOX_BYOC.eventTypeField] === 'Interaction')).toBe(true);
    });
});
