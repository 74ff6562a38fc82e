import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startBridge } from '../../bridge/src/bridge';
import type { BridgeOptions, RunningBridge } from '../../bridge/src/bridge';
import { loadConfig } from '../../bridge/src/config/env';
import type { BridgeConfig } from '../../bridge/src/config/env';
import { parseSettings } from '../../bridge/src/config/mapping-file';
import type { Logger } from '../../bridge/src/observability/logger';
import { silentLogger } from '../../bridge/src/observability/logger';
import { createMetrics } from '../../bridge/src/observability/metrics';
import type { Metrics } from '../../bridge/src/observability/metrics';
import { startHaptikEmulator, testCertificate, TRACT_TEST_FQDN } from './haptik';
import type { HaptikEmulator, HaptikSender, TractIssuerOptions } from './haptik';
import { createHaptikSender } from './haptik';
import { shippedIntegrationUser, startSalesforceEmulator } from './salesforce';
import { startEnhancedChatEmulator } from './enhanced-chat';
import type { EnhancedChatEmulator, EnhancedChatEmulatorOptions } from './enhanced-chat';
import type { EnhancedChatTuning, LegacyChatTuning } from '../../bridge/src/bridge';
import type { SalesforceEmulator, SalesforceEmulatorOptions } from './salesforce';
import { startLiveAgentEmulator } from './live-agent';
import type { LiveAgentEmulator, LiveAgentEmulatorOptions } from './live-agent';
import type { AgentConsole } from './agent-console';
import { SANDBOX_BYOC, startByocEmulators } from './byoc';
import type { ByocEmulators, ByocFileSettings, InteractionServiceEmulator } from './byoc';
import { generateTestKeyPair } from './salesforce/keys';
import type { TestKeyPair } from './salesforce/keys';
import type { ByocChatTuning } from '../../bridge/src/bridge';

/**
 * A whole world on loopback: the Salesforce and Haptik emulators and a real bridge configured, through
 * the same environment variables an operator sets, to talk to them. Tests, the demo and
 * `npm run emulators` all start this one.
 */
export const SANDBOX_CREDENTIALS = {
    haptikClientId: 'haptik-client-demo',
    haptikApiToken: 'haptik-token-demo',
    haptikBusinessId: 343,
    webhookSecret: 'demo-webhook-secret',
    /** HAPTIK_HOOK_TOKEN: the `?key=` of the TRACT hook URLs. */
    hookToken: 'demo-hook-token-6f1d0c9a2b7e4d35',
    /** The TRACT token is issued for this client, to this FQDN, signed with the fixture ECDSA key. */
    tractClientId: 'tract-client-demo',
    tractFqdn: TRACT_TEST_FQDN,
    tractCertUuid: '8d2f1c3e-5a4b-4f6e-9c7d-0e1f2a3b4c5d',
    sfClientId: 'demo-consumer-key',
    sfClientSecret: 'demo-consumer-secret',
    sfOrgId: '00DHp00000EmuLAT0R'
} as const;

export const SANDBOX_ES_DEVELOPER_NAME = 'Haptik_Bridge';
export const SANDBOX_LIVE_AGENT = { deploymentId: '572Hp000000HaPt', buttonId: '573Hp000000HaPt' } as const;

/** Which Salesforce chat API the bridge uses (SF_CHAT_API). */
export type ChatApi = 'enhanced' | 'legacy' | 'byoc';

/** The External Client App's JWT key pair of the sandbox (SF_AUTH=jwt, which BYOC needs): one per process. */
let sandboxKeys: TestKeyPair | undefined;
export function sandboxKeyPair(): TestKeyPair {
    sandboxKeys ??= generateTestKeyPair();
    return sandboxKeys;
}

/** The integration user the JWT bearer assertions name (the Salesforce emulator's default). */
export const SANDBOX_SF_USERNAME = 'integration@haptik.example';

type LiveAgentTuning = Partial<Omit<LiveAgentEmulatorOptions, 'orgId' | 'deploymentId' | 'buttonId' | 'salesforce'>>;

export interface SandboxOptions {
    /** Embedded database folder (default: in the OS temp folder) or a PostgreSQL URL + schema. */
    database?: { dataDir: string } | { url: string; schema?: string };
    /** Extra or overriding environment variables for the bridge. */
    env?: Record<string, string>;
    /** The mapping file's content, as parsed YAML/JSON. */
    mapping?: unknown;
    salesforce?: SalesforceEmulatorOptions;
    logger?: Logger;
    port?: number;
    outbox?: BridgeOptions['outbox'];
    /** Enhanced Chat emulator settings (limits, token life, ping interval). */
    enhancedChat?: Partial<Omit<EnhancedChatEmulatorOptions, 'orgId' | 'esDeveloperName' | 'salesforce'>>;
    /** The bridge's Enhanced Chat adapter tuning (reconnect, heartbeat, rate windows). */
    chatTuning?: EnhancedChatTuning;
    /** SF_CHAT_API of the bridge; `sandbox.chat` is that API's emulator (default enhanced). */
    chatApi?: ChatApi;
    /** Live Agent emulator settings (poll hold, clientPollTimeout). */
    liveAgent?: LiveAgentTuning;
    /** The bridge's legacy Chat adapter tuning (retries, poll backoff, waits). */
    legacyChatTuning?: LegacyChatTuning;
    /** BYOC emulator settings (CCaaS product, Pub/Sub keep-alive). */
    byoc?: ByocEmulatorTuning;
    /** The bridge's BYOC adapter tuning (event polling, subscription lease, retries). */
    byocTuning?: ByocChatTuning;
    /** How often retention runs (default BRIDGE_RETENTION_INTERVAL_MINUTES). */
    retentionIntervalMs?: number;
    /** The bridge's Salesforce REST deadlines and retries. */
    salesforceTiming?: BridgeOptions['salesforceTiming'];
    /** Wraps the bridge's database (a test counts statements with store/counting-db.ts). */
    instrumentDb?: BridgeOptions['instrumentDb'];
    /** The bridge's clock (a test moves it on to expire signed file links). */
    clock?: BridgeOptions['clock'];
}

export interface Sandbox<Chat extends AgentConsole = EnhancedChatEmulator> {
    salesforce: SalesforceEmulator;
    /** The agent side of the chat API the bridge uses (SF_SCRT_URL or SF_LIVEAGENT_URL points at it). */
    chat: Chat;
    /** Both chat emulators run; the bridge talks to the one of `chatApi`. */
    enhancedChat: EnhancedChatEmulator;
    liveAgent: LiveAgentEmulator;
    /** The BYOC emulators: Interaction Service API and Pub/Sub API. */
    byoc: ByocEmulators;
    haptik: HaptikEmulator;
    bridge: RunningBridge;
    config: BridgeConfig;
    metrics: Metrics;
    /** Signed requests to the bridge's Haptik routes. */
    send: HaptikSender;
    stop(): Promise<void>;
}

export function sandboxEnv(salesforceUrl: string, haptikUrl: string): Record<string, string> {
    const c = SANDBOX_CREDENTIALS;
    return {
        PORT: '0',
        HAPTIK_BASE_URL: haptikUrl,
        HAPTIK_CLIENT_ID: c.haptikClientId,
        HAPTIK_API_TOKEN: c.haptikApiToken,
        HAPTIK_BUSINESS_ID: String(c.haptikBusinessId),
        HAPTIK_WEBHOOK_SECRET: c.webhookSecret,
        HAPTIK_HOOK_TOKEN: c.hookToken,
        HAPTIK_TRACT_URL: haptikUrl,
        HAPTIK_TRACT_CLIENT_ID: c.tractClientId,
        HAPTIK_TRACT_FQDN: c.tractFqdn,
        HAPTIK_TRACT_PRIVATE_KEY: testCertificate('ect-ec.key'),
        HAPTIK_TRACT_CERT_UUID: c.tractCertUuid,
        SF_LOGIN_URL: salesforceUrl,
        SF_AUTH: 'client_credentials',
        SF_CLIENT_ID: c.sfClientId,
        SF_CLIENT_SECRET: c.sfClientSecret,
        SF_ORG_ID: c.sfOrgId,
        SF_API_VERSION: '64.0',
        SF_CHAT_API: 'enhanced',
        SF_SCRT_URL: salesforceUrl,
        SF_ES_DEVELOPER_NAME: SANDBOX_ES_DEVELOPER_NAME
    };
}

/** The bridge's environment for SF_CHAT_API=legacy against the Live Agent emulator. */
export function liveAgentEnv(liveAgent: LiveAgentEmulator): Record<string, string> {
    return {
        SF_CHAT_API: 'legacy',
        SF_LIVEAGENT_URL: liveAgent.endpoint,
        SF_LIVEAGENT_DEPLOYMENT_ID: SANDBOX_LIVE_AGENT.deploymentId,
        SF_LIVEAGENT_BUTTON_ID: SANDBOX_LIVE_AGENT.buttonId
    };
}

/** The bridge's environment for SF_CHAT_API=byoc against the BYOC emulators (JWT bearer, contract §1). */
export function byocEnv(byoc: ByocEmulators): Record<string, string> {
    return {
        SF_CHAT_API: 'byoc',
        SF_AUTH: 'jwt',
        SF_USERNAME: SANDBOX_SF_USERNAME,
        SF_PRIVATE_KEY: sandboxKeyPair().privateKey,
        SF_SCRT_URL: byoc.interactions.url,
        SF_BYOC_CHANNEL_ADDRESS: SANDBOX_BYOC.channelAddress,
        SF_BYOC_CHANNEL_DEFINITION: SANDBOX_BYOC.channelDefinition,
        SF_BYOC_EVENT: SANDBOX_BYOC.topicName,
        SF_PUBSUB_URL: byoc.pubsub.url
    };
}

export interface ByocEmulatorTuning {
    product?: 'messaging' | 'ccaas';
    /** The channel's file limits and how agents' links are served (issue 18). */
    files?: ByocFileSettings;
    keepAliveMs?: number;
    interactionsPort?: number;
    pubsubPort?: number;
}

/** The emulators, configured with the sandbox credentials; one close() stops them all. */
export interface Emulators {
    salesforce: SalesforceEmulator;
    chat: EnhancedChatEmulator;
    liveAgent: LiveAgentEmulator;
    byoc: ByocEmulators;
    haptik: HaptikEmulator;
    close(): Promise<void>;
}

export async function startEmulators(
    options: {
        salesforce?: SalesforceEmulatorOptions;
        enhancedChat?: Partial<Omit<EnhancedChatEmulatorOptions, 'orgId' | 'esDeveloperName' | 'salesforce'>>;
        liveAgent?: LiveAgentTuning;
        byoc?: ByocEmulatorTuning;
        haptikPort?: number;
        /**
         * Overrides of the Haptik emulator's TRACT token issue (lifetime, token style, certificates); false: no
         * token issue, TRACT takes the Business Manager token (a bridge without the HAPTIK_TRACT_* variables).
         */
        tract?: Partial<TractIssuerOptions> | false;
    } = {}
): Promise<Emulators> {
    const c = SANDBOX_CREDENTIALS;
    // The bridge works as a real org's integration user: the package's permission sets, its group and sharing
    // rule, Private Case sharing (a test passes `integrationUser: undefined` for an administrator).
    const salesforce = await startSalesforceEmulator({
        clientId: c.sfClientId,
        clientSecret: c.sfClientSecret,
        orgId: c.sfOrgId,
        integrationUser: shippedIntegrationUser(),
        // SF_AUTH=jwt works too (BYOC needs it); the app grants the Interaction Service API scope as well.
        jwtPublicKey: sandboxKeyPair().publicKey,
        username: SANDBOX_SF_USERNAME,
        tokenScope: 'api interaction_api',
        ...options.salesforce
    });
    const haptik = await startHaptikEmulator({
        clientId: c.haptikClientId,
        apiToken: c.haptikApiToken,
        businessId: c.haptikBusinessId,
        ...(options.tract === false
            ? {}
            : {
                  tract: {
                      clientIds: [c.tractClientId],
                      fqdn: c.tractFqdn,
                      certificates: { [c.tractCertUuid]: testCertificate('ect-ec.crt') },
                      ...options.tract
                  }
              }),
        ...(options.haptikPort === undefined ? {} : { port: options.haptikPort })
    });
    const chat = await startEnhancedChatEmulator({
        orgId: c.sfOrgId,
        esDeveloperName: SANDBOX_ES_DEVELOPER_NAME,
        salesforce,
        host: '127.0.0.1',
        ...options.enhancedChat
    });
    const liveAgent = await startLiveAgentEmulator({
        orgId: c.sfOrgId,
        ...SANDBOX_LIVE_AGENT,
        salesforce,
        host: '127.0.0.1',
        ...options.liveAgent
    });
    const byoc = await startByocEmulators({ orgId: c.sfOrgId, salesforce, ...options.byoc });
    return {
        salesforce,
        haptik,
        chat,
        liveAgent,
        byoc,
        close: async () => {
            await Promise.all([salesforce.close(), haptik.close(), chat.close(), liveAgent.close(), byoc.close()]);
        }
    };
}

export function startSandbox(options?: SandboxOptions & { chatApi?: 'enhanced' }): Promise<Sandbox>;
export function startSandbox(options: SandboxOptions & { chatApi: 'legacy' }): Promise<Sandbox<LiveAgentEmulator>>;
export function startSandbox(
    options: SandboxOptions & { chatApi: 'byoc' }
): Promise<Sandbox<InteractionServiceEmulator>>;
export function startSandbox(options: SandboxOptions): Promise<Sandbox<AgentConsole>>;
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox<AgentConsole>> {
    const c = SANDBOX_CREDENTIALS;
    const emulators = await startEmulators({
        ...(options.salesforce ? { salesforce: options.salesforce } : {}),
        ...(options.enhancedChat ? { enhancedChat: options.enhancedChat } : {}),
        ...(options.liveAgent ? { liveAgent: options.liveAgent } : {}),
        ...(options.byoc ? { byoc: options.byoc } : {})
    });
    const { salesforce, haptik, chat: enhancedChat, liveAgent, byoc } = emulators;
    const legacy = options.chatApi === 'legacy';
    const byocChat = options.chatApi === 'byoc';
    try {
        const database = options.database ?? { dataDir: await temporaryDataDir() };
        const env: Record<string, string> = {
            ...sandboxEnv(salesforce.url, haptik.url),
            SF_SCRT_URL: enhancedChat.url,
            ...(legacy ? liveAgentEnv(liveAgent) : {}),
            ...(byocChat ? byocEnv(byoc) : {}),
            ...('url' in database ? { DATABASE_URL: database.url } : { BRIDGE_DATA_DIR: database.dataDir }),
            ...(options.port === undefined ? {} : { PORT: String(options.port) }),
            ...options.env
        };
        const config = loadConfig(env);
        const metrics = createMetrics();
        const bridge = await startBridge({
            config,
            settings: parseSettings(options.mapping ?? {}),
            logger: options.logger ?? silentLogger(),
            metrics,
            host: '127.0.0.1',
            ...('url' in database && database.schema ? { databaseSchema: database.schema } : {}),
            ...(options.outbox ? { outbox: options.outbox } : {}),
            ...(options.chatTuning ? { enhancedChat: options.chatTuning } : {}),
            ...(options.legacyChatTuning ? { legacyChat: options.legacyChatTuning } : {}),
            ...(options.byocTuning ? { byocChat: options.byocTuning } : {}),
            ...(options.retentionIntervalMs === undefined ? {} : { retentionIntervalMs: options.retentionIntervalMs }),
            ...(options.salesforceTiming ? { salesforceTiming: options.salesforceTiming } : {}),
            ...(options.instrumentDb ? { instrumentDb: options.instrumentDb } : {}),
            ...(options.clock ? { clock: options.clock } : {})
        });
        const send = createHaptikSender(bridge.url, { secret: c.webhookSecret, hookToken: c.hookToken }, haptik);
        return {
            salesforce,
            chat: legacy ? liveAgent : byocChat ? byoc.interactions : enhancedChat,
            enhancedChat,
            liveAgent,
            byoc,
            haptik,
            bridge,
            config,
            metrics,
            send,
            async stop() {
                await bridge.stop();
                await emulators.close();
            }
        };
    } catch (error) {
        await emulators.close();
        throw error;
    }
}

function temporaryDataDir(): Promise<string> {
    return mkdtemp(path.join(tmpdir(), 'haptik-bridge-'));
}
