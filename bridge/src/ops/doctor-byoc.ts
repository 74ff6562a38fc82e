/**
 * The `npm run doctor` checks of Bring Your Own Channel (SF_CHAT_API=byoc): the Interaction Service API that takes
 * the users' messages, and the Pub/Sub API that brings the agents' answers back as platform events.
 */
import type { BridgeConfig } from '../config/env';
import { isBridgeError } from '../core/errors';
import type { Logger } from '../observability/logger';
import { createByocAuth, createInteractionClient, getTopic } from '../salesforce/byoc';
import { failed, ok, skipped, statusOf } from './doctor-result';
import type { CheckResult } from './doctor-result';

/**
 * BYOC: a JWT bearer token for the integration user, its `interaction_api` scope, and the Interaction Service
 * API's verdict on the headers. The probe is an acknowledgement for a conversation that does not exist: a
 * 400 (10018, unknown conversation) proves the token, the org id and the AuthorizationContext are accepted,
 * and it changes nothing in the org.
 */
export async function checkByocChannel(
    config: BridgeConfig,
    logger: Logger,
    doFetch: typeof fetch,
    timeoutMs: number
): Promise<CheckResult> {
    const chat = config.salesforce.chat;
    const auth = config.salesforce.auth;
    const title = 'BYOC channel (Interaction Service API)';
    if (chat.api !== 'byoc' || auth.kind !== 'jwt')
        throw new Error('checkByocChannel needs SF_CHAT_API=byoc and SF_AUTH=jwt');
    const byocAuth = createByocAuth({
        ...auth,
        loginUrl: config.salesforce.loginUrl,
        fetch: doFetch,
        requestTimeoutMs: timeoutMs
    });
    let scopes: string[];
    try {
        scopes = (await byocAuth.token()).scopes;
    } catch {
        return failed(
            title,
            'Salesforce refused the JWT bearer token of the BYOC integration user',
            'check SF_CLIENT_ID, SF_USERNAME and SF_PRIVATE_KEY, and that the External Client App issues JWT-based access tokens for named users'
        );
    }
    if (scopes.length > 0 && !scopes.includes('interaction_api')) {
        return failed(
            title,
            `the token's scopes (${scopes.join(' ')}) lack interaction_api`,
            'add the interaction_api OAuth scope to the External Client App (docs/admin-guide.md, Bring Your Own Channel)'
        );
    }
    const client = createInteractionClient({
        scrtUrl: chat.scrtUrl,
        orgId: config.salesforce.orgId,
        channelAddress: chat.channelAddress,
        channelDefinition: chat.channelDefinition,
        auth: byocAuth,
        logger,
        fetch: doFetch,
        retry: { attempts: 1, baseMs: 0, maxMs: 0 },
        requestTimeoutMs: timeoutMs
    });
    try {
        await client.acknowledge('00000000-0000-4000-8000-000000000000', 'haptik:doctor', [
            { entryId: '00000000-0000-4000-8000-000000000000', type: 'Delivered', at: Date.now() }
        ]);
        return ok(title, `${chat.scrtUrl} accepts the bridge for ${chat.channelDefinition}`);
    } catch (error) {
        const status = statusOf(error);
        const code = isBridgeError(error) ? error.details['code'] : undefined;
        if (status === 400)
            return ok(
                title,
                `${chat.scrtUrl} accepts the bridge's token and AuthorizationContext ${chat.channelDefinition}`
            );
        if (status === undefined) {
            return failed(
                title,
                `no answer from SF_SCRT_URL ${chat.scrtUrl}`,
                'check SF_SCRT_URL: https://<my-domain>.my.salesforce-scrt.com'
            );
        }
        return failed(
            title,
            `${chat.scrtUrl} refused the bridge (HTTP ${status}${typeof code === 'number' ? `, code ${code}` : ''})`,
            code === 10003
                ? 'add the interaction_api scope to the External Client App'
                : code === 10005 || code === 10001 || code === 10026
                  ? 'check SF_BYOC_CHANNEL_DEFINITION: the ConversationChannelDefinition developer name (npm run byoc:channel-definition creates it)'
                  : 'check SF_ORG_ID, the integration user (permission set sfdc_scrt2 for the SCRT2 integration user) and SF_SCRT_URL'
        );
    }
}

/** gRPC status codes the Pub/Sub API answers with (grpc-js `status`; kept here so this module needs no gRPC import). */
const GRPC = {
    DEADLINE_EXCEEDED: 4,
    NOT_FOUND: 5,
    PERMISSION_DENIED: 7,
    UNAVAILABLE: 14,
    UNAUTHENTICATED: 16
} as const;

/**
 * BYOC: the agents' answers arrive as the platform event SF_BYOC_EVENT over the Pub/Sub API. `GetTopic` with the
 * integration user's token proves SF_PUBSUB_URL answers, the token is accepted, the event exists (force-app/byoc
 * deployed) and the user may subscribe to it, without opening a subscription.
 */
export async function checkByocEvents(
    config: BridgeConfig,
    doFetch: typeof fetch,
    timeoutMs: number
): Promise<CheckResult> {
    const chat = config.salesforce.chat;
    const auth = config.salesforce.auth;
    const title = 'BYOC agent events (Pub/Sub API)';
    if (chat.api !== 'byoc' || auth.kind !== 'jwt') throw new Error('checkByocEvents needs SF_CHAT_API=byoc');
    let token: { accessToken: string; instanceUrl: string };
    try {
        token = await createByocAuth({
            ...auth,
            loginUrl: config.salesforce.loginUrl,
            fetch: doFetch,
            requestTimeoutMs: timeoutMs
        }).token();
    } catch {
        return skipped(title, "needs the BYOC integration user's token (above)");
    }
    try {
        const topic = await getTopic({
            endpoint: chat.pubsub.endpoint,
            transport: chat.pubsub.transport,
            accessToken: token.accessToken,
            instanceUrl: token.instanceUrl,
            orgId: config.salesforce.orgId,
            topic: chat.eventTopic,
            deadlineMs: timeoutMs
        });
        if (!topic.canSubscribe) {
            return failed(
                title,
                `${chat.eventTopic} exists but the integration user may not subscribe to it`,
                'give the integration user read access to the platform event (permission set in force-app/byoc, docs/admin-guide.md)'
            );
        }
        return ok(title, `${chat.pubsub.endpoint} lets the bridge subscribe to ${chat.eventTopic}`);
    } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (code === GRPC.NOT_FOUND) {
            return failed(
                title,
                `the org has no platform event ${chat.eventTopic}`,
                'deploy force-app/byoc (scripts/deploy-org.sh --byoc) and check SF_BYOC_EVENT: /event/<API name>, e.g. /event/Haptik_Interaction__e'
            );
        }
        if (code === GRPC.UNAUTHENTICATED || code === GRPC.PERMISSION_DENIED) {
            return failed(
                title,
                `the Pub/Sub API refused the integration user's token (gRPC ${code === GRPC.UNAUTHENTICATED ? 'UNAUTHENTICATED' : 'PERMISSION_DENIED'})`,
                "check SF_ORG_ID (the tenant id sent with the token) and the integration user's API access"
            );
        }
        return failed(
            title,
            `no answer from SF_PUBSUB_URL (${chat.pubsub.endpoint})${code === GRPC.DEADLINE_EXCEEDED ? ' within the time limit' : ''}`,
            'check SF_PUBSUB_URL (https://api.pubsub.salesforce.com:7443) and that outbound gRPC on that port is allowed'
        );
    }
}
