/** Shared set-up for the Enhanced Chat tests: an emulator, an adapter on it, and a sink that records. */
import type {
    ChatAdapter,
    ChatEvent,
    ChatEventEnvelope,
    OpenChatRequest
} from '../../bridge/src/core/handover/chat-port';
import { silentLogger } from '../../bridge/src/observability/logger';
import { createEnhancedChatAdapter } from '../../bridge/src/salesforce/enhanced-chat';
import type { EnhancedChatAdapterOptions } from '../../bridge/src/salesforce/enhanced-chat';
import { startEnhancedChatEmulator } from '../emulators/enhanced-chat';
import type { EnhancedChatEmulator, EnhancedChatEmulatorOptions } from '../emulators/enhanced-chat';
import { eventually } from '../support/eventually';

export const ORG_ID = '00DHp00000EmuLAT0R';
export const ES_NAME = 'Haptik_Custom_Client';

export interface Recorder {
    envelopes: ChatEventEnvelope[];
    events(handoverId?: string): ChatEvent[];
    /** Waits until `count` events of the handover arrived; returns them all. */
    waitForCount(count: number, handoverId?: string): Promise<ChatEvent[]>;
    waitFor(predicate: (event: ChatEvent) => boolean, handoverId?: string): Promise<ChatEventEnvelope>;
}

export function recordInto(adapter: ChatAdapter): Recorder {
    const envelopes: ChatEventEnvelope[] = [];
    adapter.onEvent((envelope) => {
        envelopes.push(envelope);
        return Promise.resolve();
    });
    const of = (handoverId?: string): ChatEventEnvelope[] =>
        envelopes.filter((e) => handoverId === undefined || e.handoverId === handoverId);
    return {
        envelopes,
        events: (handoverId) => of(handoverId).map((e) => e.event),
        waitForCount: (count, handoverId) =>
            eventually(() => (of(handoverId).length >= count ? of(handoverId).map((e) => e.event) : undefined), 8000),
        waitFor: (predicate, handoverId) => eventually(() => of(handoverId).find((e) => predicate(e.event)), 8000)
    };
}

/** Fast settings: reconnects in tens of ms, short retries. */
export function adapterOptions(
    emulator: EnhancedChatEmulator,
    overrides: Partial<EnhancedChatAdapterOptions> = {}
): EnhancedChatAdapterOptions {
    return {
        scrtUrl: emulator.url,
        orgId: ORG_ID,
        esDeveloperName: ES_NAME,
        logger: silentLogger(),
        reconnect: { baseMs: 20, factor: 1.5, maxMs: 200 },
        heartbeatTimeoutMs: 5000,
        retry: { attempts: 6, baseMs: 10, maxMs: 100 },
        ...overrides
    };
}

export interface Harness {
    emulator: EnhancedChatEmulator;
    adapter: ChatAdapter;
    recorder: Recorder;
    adapters: ChatAdapter[];
    newAdapter(overrides?: Partial<EnhancedChatAdapterOptions>): { adapter: ChatAdapter; recorder: Recorder };
    close(): Promise<void>;
}

export async function startHarness(
    emulatorOptions: Partial<EnhancedChatEmulatorOptions> = {},
    overrides: Partial<EnhancedChatAdapterOptions> = {}
): Promise<Harness> {
    const emulator = await startEnhancedChatEmulator({
        orgId: ORG_ID,
        esDeveloperName: ES_NAME,
        pingIntervalMs: 50,
        ...emulatorOptions
    });
    const adapters: ChatAdapter[] = [];
    const newAdapter = (more: Partial<EnhancedChatAdapterOptions> = {}) => {
        const adapter = createEnhancedChatAdapter(adapterOptions(emulator, { ...overrides, ...more }));
        adapters.push(adapter);
        return { adapter, recorder: recordInto(adapter) };
    };
    const first = newAdapter();
    return {
        emulator,
        adapter: first.adapter,
        recorder: first.recorder,
        adapters,
        newAdapter,
        close: async () => {
            await Promise.all(adapters.map((a) => a.close()));
            await emulator.close();
        }
    };
}

export function openRequest(handoverId: string, overrides: Partial<OpenChatRequest> = {}): OpenChatRequest {
    return {
        handoverId,
        conversationKey: `4242:user-${handoverId}:1`,
        visitorName: 'Priya',
        language: 'en',
        routingAttributes: { Haptik_Conversation_Key: `4242:user-${handoverId}:1`, Channel: 'WhatsApp' },
        ...overrides
    };
}

export const agentTexts = (events: ChatEvent[]): string[] =>
    events.flatMap((e) => (e.type === 'agent_message' ? [e.text] : []));
