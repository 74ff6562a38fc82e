import { startHaptikEmulator } from '../test/emulators/haptik';
import { startEnhancedChatEmulator } from '../test/emulators/enhanced-chat';
import { sandboxEnv, SANDBOX_CREDENTIALS, SANDBOX_ES_DEVELOPER_NAME } from '../test/emulators/sandbox';
import { startSalesforceEmulator } from '../test/emulators/salesforce';

/**
 * `npm run emulators`: the Salesforce, Enhanced Chat and Haptik emulators on fixed local ports, for developing Haptik bots
 * and running the bridge without an org. Prints the environment that points a bridge at them.
 */
function portArg(name: string, fallback: number): number {
    const index = process.argv.indexOf(name);
    const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
    return Number.isInteger(value) && value >= 0 ? value : fallback;
}

async function main(): Promise<void> {
    const c = SANDBOX_CREDENTIALS;
    const salesforce = await startSalesforceEmulator({
        port: portArg('--salesforce-port', 4010),
        clientId: c.sfClientId,
        clientSecret: c.sfClientSecret,
        orgId: c.sfOrgId
    });
    const chat = await startEnhancedChatEmulator({
        port: portArg('--chat-port', 4030),
        orgId: c.sfOrgId,
        esDeveloperName: SANDBOX_ES_DEVELOPER_NAME,
        salesforce
    });
    const haptik = await startHaptikEmulator({
        port: portArg('--haptik-port', 4020),
        clientId: c.haptikClientId,
        apiToken: c.haptikApiToken,
        businessId: c.haptikBusinessId
    });
    console.log(`Salesforce emulator: ${salesforce.url}   (control: ${salesforce.url}/__emulator/state)`);
    console.log(`Enhanced Chat:       ${chat.url}   (agent console: ${chat.url}/__emulator/conversations)`);
    console.log(`Haptik emulator:     ${haptik.url}   (control: ${haptik.url}/__emulator/calls)`);
    console.log('\nStart a bridge against them with:\n');
    const env = sandboxEnv(salesforce.url, haptik.url);
    env['PORT'] = '3000';
    env['SF_SCRT_URL'] = chat.url;
    console.log(
        Object.entries(env)
            .map(([key, value]) => `${key}=${value}`)
            .join(' \\\n  ') + ' \\\n  npm start'
    );
    console.log('\nPress Ctrl+C to stop.');
    await new Promise<void>((resolve) => process.once('SIGINT', resolve));
    await Promise.all([salesforce.close(), chat.close(), haptik.close()]);
}

main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
});
