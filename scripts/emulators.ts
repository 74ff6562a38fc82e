import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testCertificatePath } from '../test/emulators/haptik';
import { byocEnv, liveAgentEnv, sandboxEnv, sandboxKeyPair, startEmulators } from '../test/emulators/sandbox';

/**
 * `npm run emulators`: the Salesforce, Enhanced Chat, Live Agent, BYOC (Interaction Service API + Pub/Sub API) and
 * Haptik emulators on fixed local ports, for
 * developing Haptik bots and running the bridge without an org. Prints the environment that points a bridge at them.
 */
function portArg(name: string, fallback: number): number {
    const index = process.argv.indexOf(name);
    const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
    return Number.isInteger(value) && value >= 0 ? value : fallback;
}

async function main(): Promise<void> {
    const emulators = await startEmulators({
        salesforce: { port: portArg('--salesforce-port', 4010) },
        enhancedChat: { port: portArg('--chat-port', 4030) },
        haptikPort: portArg('--haptik-port', 4020),
        liveAgent: { port: portArg('--live-agent-port', 4040) },
        byoc: { interactionsPort: portArg('--byoc-port', 4050), pubsubPort: portArg('--pubsub-port', 4060) }
    });
    const { salesforce, chat, haptik, liveAgent, byoc } = emulators;
    console.log(`Salesforce emulator: ${salesforce.url}   (control: ${salesforce.url}/__emulator/state)`);
    console.log(`Enhanced Chat:       ${chat.url}   (agent console: ${chat.url}/__emulator/conversations)`);
    console.log(`Live Agent (legacy): ${liveAgent.url}   (agent console: ${liveAgent.url}/__emulator/conversations)`);
    console.log(
        `BYOC interactions:   ${byoc.interactions.url}   (agent console: ${byoc.interactions.url}/__emulator/conversations)`
    );
    console.log(`BYOC Pub/Sub (gRPC): ${byoc.pubsub.url}   (TLS, self-signed: not verified on loopback)`);
    console.log(`Haptik emulator:     ${haptik.url}   (control: ${haptik.url}/__emulator/calls)`);
    console.log('\nStart a bridge against them with:\n');
    const env = sandboxEnv(salesforce.url, haptik.url);
    env['PORT'] = '3000';
    env['SF_SCRT_URL'] = chat.url;
    // A PEM does not fit on a command line: the key's file instead.
    delete env['HAPTIK_TRACT_PRIVATE_KEY'];
    env['HAPTIK_TRACT_PRIVATE_KEY_FILE'] = testCertificatePath('ect-ec.key');
    console.log(
        Object.entries(env)
            .map(([key, value]) => `${key}=${value}`)
            .join(' \\\n  ') + ' \\\n  npm start'
    );
    const legacy = Object.entries(liveAgentEnv(liveAgent))
        .map(([key, value]) => `${key}=${value}`)
        .join(' ');
    console.log(`\nFor the legacy Chat REST API instead, add: ${legacy}`);
    // BYOC takes the JWT bearer flow: the emulated External Client App's key goes to a file (a PEM does not fit).
    const keyFile = path.join(mkdtempSync(path.join(tmpdir(), 'haptik-byoc-')), 'sf-jwt.key');
    writeFileSync(keyFile, sandboxKeyPair().privateKey, { mode: 0o600 });
    const { SF_PRIVATE_KEY: _inline, ...byocVariables } = byocEnv(byoc);
    const byocLine = Object.entries({ ...byocVariables, SF_PRIVATE_KEY_FILE: keyFile })
        .map(([key, value]) => `${key}=${value}`)
        .join(' ');
    console.log(`\nFor Bring Your Own Channel instead, add: ${byocLine}`);
    console.log('\nPress Ctrl+C to stop.');
    await new Promise<void>((resolve) => process.once('SIGINT', resolve));
    await emulators.close();
}

main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
});
