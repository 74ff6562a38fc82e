/**
 * The ConversationChannelDefinition of the bridge's BYOC channel, created through the Tooling API
 * (https://developer.salesforce.com/docs/service/messaging-partner/guide/create-conversationchanneldefinition-record.html:
 * `POST /services/data/vXX.X/tooling/sobjects/ConversationChannelDefinition/`). It names the platform event the org
 * publishes the agent's side on and that event's payload and type fields; its developer name is the
 * `AuthorizationContext` of every Interaction Service call (SF_BYOC_CHANNEL_DEFINITION). Routing and consent stay
 * with Salesforce (Omni-Channel routes the Messaging session; BYOC for Messaging requires consentOwner Salesforce),
 * and the External Client App is the customer's own (connectedAppType Customer).
 */
import { BridgeError } from '../../core/errors';

export interface ChannelDefinitionInput {
    developerName: string;
    masterLabel: string;
    /** Platform event API name, e.g. `Haptik_Interaction__e` (SF_BYOC_EVENT without `/event/`). */
    platformEvent: string;
    payloadField?: string;
    eventTypeField?: string;
}

export function channelDefinitionRecord(input: ChannelDefinitionInput): Record<string, string> {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(input.developerName) || input.developerName.includes('__')) {
        throw new BridgeError(
            'bridge_config_invalid',
            `"${input.developerName}" is not a developer name (letters, digits, single underscores)`
        );
    }
    if (!/^[A-Za-z][A-Za-z0-9_]*__e$/.test(input.platformEvent)) {
        throw new BridgeError(
            'bridge_config_invalid',
            `"${input.platformEvent}" is not a platform event API name (…__e)`
        );
    }
    return {
        DeveloperName: input.developerName,
        MasterLabel: input.masterLabel,
        CustomPlatformEvent: input.platformEvent,
        CustomEventPayloadField: `${input.platformEvent}.${input.payloadField ?? 'Payload__c'}`,
        CustomEventTypeField: `${input.platformEvent}.${input.eventTypeField ?? 'EventType__c'}`,
        RoutingOwner: 'Salesforce',
        ConsentOwner: 'Salesforce',
        ConnectedAppType: 'Customer'
    };
}

export interface ToolingSession {
    instanceUrl: string;
    accessToken: string;
    apiVersion: string;
    fetch?: typeof fetch;
}

/** Creates the record unless one of that developer name exists; says which. */
export async function ensureChannelDefinition(
    session: ToolingSession,
    record: Record<string, string>
): Promise<{ created: boolean; id: string }> {
    const doFetch = session.fetch ?? fetch;
    const base = `${session.instanceUrl.replace(/\/+$/, '')}/services/data/v${session.apiVersion}/tooling`;
    const headers = { Authorization: `Bearer ${session.accessToken}`, 'Content-Type': 'application/json' };
    const name = record['DeveloperName'] ?? '';
    // The developer name was checked to be letters, digits and underscores: safe inside the quotes.
    const query = `SELECT Id FROM ConversationChannelDefinition WHERE DeveloperName = '${name}'`;
    const found = await doFetch(`${base}/query?q=${encodeURIComponent(query)}`, { headers });
    const foundBody = (await found.json().catch(() => ({}))) as { records?: Array<{ Id?: string }> };
    if (!found.ok) {
        throw new BridgeError(
            'bridge_salesforce_request_failed',
            `the Tooling API query answered ${found.status}: ${JSON.stringify(foundBody).slice(0, 300)}`
        );
    }
    const existing = foundBody.records?.[0]?.Id;
    if (existing !== undefined) return { created: false, id: existing };
    const created = await doFetch(`${base}/sobjects/ConversationChannelDefinition/`, {
        method: 'POST',
        headers,
        body: JSON.stringify(record)
    });
    const createdBody = (await created.json().catch(() => ({}))) as { id?: string };
    if (!created.ok || typeof createdBody.id !== 'string') {
        throw new BridgeError(
            'bridge_salesforce_request_failed',
            `creating the ConversationChannelDefinition answered ${created.status}: ${JSON.stringify(createdBody).slice(0, 300)}`
        );
    }
    return { created: true, id: createdBody.id };
}
