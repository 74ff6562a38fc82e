/**
 * The Bring Your Own Channel emulators: the Interaction Service API (HTTP) and the Pub/Sub API (gRPC, TLS)
 * its outbound platform event goes out on, started together with the sandbox's channel settings.
 */
import { startInteractionServiceEmulator } from './interaction-service-emulator';
import type { InteractionServiceEmulator, InteractionServiceEmulatorOptions } from './interaction-service-emulator';
import { startPubSubEmulator } from './pubsub-emulator';
import type { PubSubEmulator } from './pubsub-emulator';
import type { MessagingSessionStore } from '../enhanced-chat';

export { startInteractionServiceEmulator } from './interaction-service-emulator';
export type {
    ByocAttachmentDownload,
    ByocConversationView,
    ByocFailure,
    ByocFileSettings,
    ByocSentAttachment,
    ByocUploadedFile,
    InteractionServiceEmulator,
    InteractionServiceEmulatorOptions
} from './interaction-service-emulator';
export { platformEventSchema, pubsubProtoPath, startPubSubEmulator } from './pubsub-emulator';
export type { PubSubEmulator, PubSubEmulatorOptions, PublishedEvent } from './pubsub-emulator';

/** The channel the sandbox sets up (SF_BYOC_* of the bridge). */
export const SANDBOX_BYOC = {
    channelAddress: '6f1d2c3b-4a59-4e8f-9d7c-2b1a0e9f8d7c',
    channelDefinition: 'Haptik_Bridge_Channel',
    topicName: '/event/Haptik_Interaction__e',
    payloadField: 'Payload__c',
    eventTypeField: 'EventType__c'
} as const;

export interface ByocEmulators {
    interactions: InteractionServiceEmulator;
    pubsub: PubSubEmulator;
    close(): Promise<void>;
}

export async function startByocEmulators(options: {
    orgId: string;
    salesforce: MessagingSessionStore & { accessTokenScopes(token: string): string[] | undefined };
    product?: InteractionServiceEmulatorOptions['product'];
    files?: InteractionServiceEmulatorOptions['files'];
    keepAliveMs?: number;
    interactionsPort?: number;
    pubsubPort?: number;
}): Promise<ByocEmulators> {
    const b = SANDBOX_BYOC;
    const pubsub = await startPubSubEmulator({
        orgId: options.orgId,
        isValidToken: (token) => options.salesforce.accessTokenScopes(token) !== undefined,
        topics: [{ topicName: b.topicName, fields: [b.eventTypeField, b.payloadField] }],
        ...(options.keepAliveMs === undefined ? {} : { keepAliveMs: options.keepAliveMs }),
        ...(options.pubsubPort === undefined ? {} : { port: options.pubsubPort })
    });
    try {
        const interactions = await startInteractionServiceEmulator({
            orgId: options.orgId,
            channelAddress: b.channelAddress,
            channelDefinition: b.channelDefinition,
            event: { topicName: b.topicName, payloadField: b.payloadField, eventTypeField: b.eventTypeField },
            pubsub,
            tokenScopes: (token) => options.salesforce.accessTokenScopes(token),
            salesforce: options.salesforce,
            host: '127.0.0.1',
            ...(options.product === undefined ? {} : { product: options.product }),
            ...(options.files === undefined ? {} : { files: options.files }),
            ...(options.interactionsPort === undefined ? {} : { port: options.interactionsPort })
        });
        return {
            interactions,
            pubsub,
            close: async () => {
                await Promise.all([interactions.close(), pubsub.close()]);
            }
        };
    } catch (error) {
        await pubsub.close();
        throw error;
    }
}
