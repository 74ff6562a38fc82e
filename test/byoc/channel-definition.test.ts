/** The ConversationChannelDefinition the setup script creates (Tooling API record), and its dry run. */
import { channelDefinitionRecord } from '../../bridge/src/salesforce/byoc';
import { createChannelDefinition } from '../../scripts/byoc-channel-definition';
import { sandboxEnv } from '../emulators/sandbox';

describe('BYOC ConversationChannelDefinition', () => {
    it('names the platform event and its payload and type fields, routing and consent with Salesforce', () => {
        expect(
            channelDefinitionRecord({
                developerName: 'Haptik_Bridge_Channel',
                masterLabel: 'Haptik bridge',
                platformEvent: 'Haptik_Interaction__e'
            })
        ).toEqual({
            DeveloperName: 'Haptik_Bridge_Channel',
            MasterLabel: 'Haptik bridge',
            CustomPlatformEvent: 'Haptik_Interaction__e',
            CustomEventPayloadField: 'Haptik_Interaction__e.Payload__c',
            CustomEventTypeField: 'Haptik_Interaction__e.EventType__c',
            RoutingOwner: 'Salesforce',
            ConsentOwner: 'Salesforce',
            ConnectedAppType: 'Customer'
        });
    });

    it('refuses a name that would break the Tooling query or the record', () => {
        expect(() =>
            channelDefinitionRecord({
                developerName: "x' OR Id != '",
                masterLabel: 'x',
                platformEvent: 'Haptik_Interaction__e'
            })
        ).toThrow(/not a developer name/);
        expect(() =>
            channelDefinitionRecord({ developerName: 'Ok_Name', masterLabel: 'x', platformEvent: 'Account' })
        ).toThrow(/not a platform event/);
    });

    it('prints the record for SF_BYOC_EVENT on --dry-run and calls nobody', async () => {
        const lines: string[] = [];
        const env = {
            ...sandboxEnv('https://login.example.invalid', 'https://haptik.example.invalid'),
            SF_BYOC_EVENT: '/event/Acme_Chat__e'
        };
        const code = await createChannelDefinition(
            ['--name', 'Acme_Channel', '--dry-run'],
            env,
            { log: (t) => lines.push(t), error: (t) => lines.push(`ERR ${t}`) },
            () => Promise.reject(new Error('no network in a dry run'))
        );
        expect(code).toBe(0);
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain('"DeveloperName":"Acme_Channel"');
        // SF_CHAT_API is enhanced in this environment: the shipped event is the default.
        expect(lines[0]).toContain('"CustomPlatformEvent":"Haptik_Interaction__e"');
    });
});
