/**
 * `npm run byoc:channel-definition -- [--name Haptik_Bridge_Channel] [--label "Haptik bridge"] [--dry-run]`: creates
 * the ConversationChannelDefinition of the bridge's Bring Your Own Channel through the Tooling API, for the platform
 * event of SF_BYOC_EVENT (force-app/byoc's Haptik_Interaction__e), unless one of that name exists. Reads the bridge's
 * environment (SF_LOGIN_URL, SF_CLIENT_ID, SF_USERNAME, SF_PRIVATE_KEY: the JWT bearer flow BYOC uses); the user
 * needs Customize Application. `--dry-run` prints the record and changes nothing. Then set
 * SF_BYOC_CHANNEL_DEFINITION to the name and create the Messaging channel of type Custom for it (admin guide).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../bridge/src/config/env';
import { isBridgeError } from '../bridge/src/core/errors';
import { channelDefinitionRecord, createByocAuth, ensureChannelDefinition } from '../bridge/src/salesforce/byoc';
import type { ScriptOutput } from './doctor';

const consoleOutput: ScriptOutput = { log: (t) => console.log(t), error: (t) => console.error(t) };

export async function createChannelDefinition(
    args: readonly string[],
    env: Readonly<Record<string, string | undefined>>,
    out: ScriptOutput = consoleOutput,
    doFetch: typeof fetch = fetch
): Promise<number> {
    try {
        const { values } = parseArgs({
            args: [...args],
            options: {
                name: { type: 'string', default: env['SF_BYOC_CHANNEL_DEFINITION'] ?? 'Haptik_Bridge_Channel' },
                label: { type: 'string', default: 'Haptik bridge (Bring Your Own Channel)' },
                'dry-run': { type: 'boolean', default: false }
            }
        });
        const config = loadConfig(env);
        const chat = config.salesforce.chat;
        const auth = config.salesforce.auth;
        const topic = chat.api === 'byoc' ? chat.eventTopic : '/event/Haptik_Interaction__e';
        const record = channelDefinitionRecord({
            developerName: values.name,
            masterLabel: values.label,
            platformEvent: topic.replace(/^\/event\//, '')
        });
        out.log(`ConversationChannelDefinition: ${JSON.stringify(record)}`);
        if (values['dry-run']) return 0;
        if (auth.kind !== 'jwt') {
            out.error('SF_AUTH=jwt is needed (the BYOC integration user and its key)');
            return 2;
        }
        const token = await createByocAuth({ ...auth, loginUrl: config.salesforce.loginUrl, fetch: doFetch }).token();
        const result = await ensureChannelDefinition(
            {
                instanceUrl: token.instanceUrl,
                accessToken: token.accessToken,
                apiVersion: config.salesforce.apiVersion,
                fetch: doFetch
            },
            record
        );
        out.log(
            result.created
                ? `created ${result.id}; set SF_BYOC_CHANNEL_DEFINITION=${values.name}`
                : `exists already (${result.id}); nothing changed; SF_BYOC_CHANNEL_DEFINITION=${values.name}`
        );
        return 0;
    } catch (error) {
        out.error(isBridgeError(error) || error instanceof Error ? error.message : String(error));
        return 1;
    }
}

if (require.main === module) {
    void createChannelDefinition(process.argv.slice(2), process.env).then((code) => process.exit(code));
}
