/** Shared set-up for the Live Agent tests: the emulator (and a Salesforce emulator for transcripts), an adapter. */
import type {
    ChatAdapter,
    ChatEventEnvelope,
    ChatSessionState,
    OpenChatRequest
} from '../../bridge/src/core/handover/chat-port';
import { silentLogger } from '../../bridge/src/observability/logger';
import { createLegacyChatAdapter } from '../../bridge/src/salesforce/legacy-chat';
import type { LegacyChatAdapterOptions } from '../../bridge/src/salesforce/legacy-chat';
import { startLiveAgentEmulator } from '../emulators/live-agent';
import type { LiveAgentEmulator, LiveAgentEmulatorOptions } from '../emulators/live-agent';
import { startSalesforceEmulator } from '../emulators/salesforce';
import type { SalesforceEmulator } from '../emulators/salesforce';
import { recordInto } from '../enhanced-chat/harness';
import type { Recorder } from '../enhanced-chat/harness';

export const ORG_ID = '00DHp00000EmuLAT0R';
export const DEPLOYMENT_ID = '572Hp000000EmuL';
export const BUTTON_ID = '573Hp000000EmuL';

export type { Recorder };
export { recordInto };

export function adapterOptions(
    emulator: LiveAgentEmulator,
    overrides: Partial<LegacyChatAdapterOptions> = {}
): LegacyChatAdapterOptions {
    return {
        liveAgentUrl: emulator.endpoint,
        orgId: ORG_ID,
        deploymentId: DEPLOYMENT_ID,
        buttonId: BUTTON_ID,
        apiVersion: '64.0',
        logger: silentLogger(),
        retry: { attempts: 4, baseMs: 10, maxMs: 50 },
        pollRetry: { baseMs: 20, maxMs: 200 },
        establishWaitMs: 3000,
        ...overrides
    };
}

export interface Harness {
    emulator: LiveAgentEmulator;
    salesforce: SalesforceEmulator;
    adapter: ChatAdapter;
    recorder: Recorder;
    newAdapter(overrides?: Partial<LegacyChatAdapterOptions>): { adapter: ChatAdapter; recorder: Recorder };
    close(): Promise<void>;
}

export async function startHarness(
    emulatorOptions: Partial<LiveAgentEmulatorOptions> = {},
    overrides: Partial<LegacyChatAdapterOptions> = {}
): Promise<Harness> {
    const salesforce = await startSalesforceEmulator({ clientId: 'id', clientSecret: 'secret', orgId: ORG_ID });
    const emulator = await startLiveAgentEmulator({
        orgId: ORG_ID,
        deploymentId: DEPLOYMENT_ID,
        buttonId: BUTTON_ID,
        salesforce,
        pollHoldMs: 300,
        ...emulatorOptions
    });
    const adapters: ChatAdapter[] = [];
    const newAdapter = (more: Partial<LegacyChatAdapterOptions> = {}) => {
        const adapter = createLegacyChatAdapter(adapterOptions(emulator, { ...overrides, ...more }));
        adapters.push(adapter);
        return { adapter, recorder: recordInto(adapter) };
    };
    const first = newAdapter();
    return {
        emulator,
        salesforce,
        adapter: first.adapter,
        recorder: first.recorder,
        newAdapter,
        close: async () => {
            await Promise.all(adapters.map((a) => a.close()));
            await emulator.close();
            await salesforce.close();
        }
    };
}

export function openRequest(handoverId: string, overrides: Partial<OpenChatRequest> = {}): OpenChatRequest {
    return {
        handoverId,
        conversationKey: `4242:user-${handoverId}:1`,
        visitorName: 'Priya',
        language: 'en',
        routingAttributes: { Haptik_Intent: 'refund_request', Customer_Email: 'asha@example.com' },
        ...overrides
    };
}

/** What the core would have stored: the last state handed over with an event, and the last cursor. */
export function storedState(envelopes: ChatEventEnvelope[], opened: ChatSessionState): ChatSessionState {
    let data = opened.data;
    let cursor = opened.cursor;
    for (const e of envelopes) {
        if (e.state) data = e.state.data;
        cursor = e.cursor;
    }
    return { data, cursor };
}
