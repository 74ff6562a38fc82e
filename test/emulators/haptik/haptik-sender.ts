import { textHsl } from '../../../bridge/src/haptik/hsl';
import { SIGNATURE_HEADERS, signHaptikBody } from '../../../bridge/src/http/signature';
import type { HaptikSignatureAlgorithm } from '../../../bridge/src/http/signature';
import type { HaptikEmulator } from './haptik-emulator';

/**
 * Haptik's side of the inbound routes: factories for the payloads Haptik documents (haptik.md §A3-§A5)
 * and a sender that posts them to a bridge the way Haptik authenticates them: the Bot API webhook and
 * integration nodes with a secret signed (HMAC of the raw body), TRACT hooks unsigned, to the registered
 * hook URL that carries `?key=<HAPTIK_HOOK_TOKEN>`.
 */

export const HAPTIK_ROUTE_PATHS = {
    webhook: '/haptik/webhook',
    tractMessage: '/haptik/tract/message',
    tractEvent: '/haptik/tract/event',
    customer: '/haptik/integrations/customer',
    handover: '/haptik/integrations/handover',
    caseEvent: (template: string): string => `/haptik/integrations/case/${encodeURIComponent(template)}`
} as const;

const DEFAULT_BUSINESS_ID = 343;

export interface WebhookUserInput {
    userId?: string;
    userName?: string;
    authId?: string;
    devicePlatform?: number;
    businessId?: number;
}

/** Bot API webhook, `event_name: message` (a bot or agent message to the user). */
export function webhookMessage(
    input: WebhookUserInput & { messageId?: number; text?: string; eventName?: string; agentName?: string } = {}
): Record<string, unknown> {
    return {
        version: '1.0',
        timestamp: '2026-11-25T10:00:00.000Z',
        user: webhookUser(input),
        business_id: input.businessId ?? DEFAULT_BUSINESS_ID,
        business_name: 'Acme Support',
        event_name: input.eventName ?? 'message',
        agent: { id: 1, name: input.agentName ?? 'gogo', profile_image: '', is_automated: true, email: '' },
        message: {
            id: input.messageId ?? 1001,
            body: JSON.parse(textHsl(input.text ?? 'Hello from the bot')) as unknown
        }
    };
}

/** Bot API webhook, `event_name: webhook_conversation_complete`. */
export function webhookConversationComplete(
    input: WebhookUserInput & {
        conversationNo?: number;
        completionType?: 'gogo' | 'agent' | 'autocomplete';
        conversationDetails?: Record<string, unknown>;
        userDetails?: Record<string, unknown>;
    } = {}
): Record<string, unknown> {
    return {
        version: '1.0',
        timestamp: '2026-11-25T10:05:00.000Z',
        user: webhookUser(input),
        business_id: input.businessId ?? DEFAULT_BUSINESS_ID,
        business_name: 'Acme Support',
        event_name: 'webhook_conversation_complete',
        agent: { id: 1, name: 'gogo', profile_image: '', is_automated: true, email: '' },
        message: { id: 2001, body: { text: 'Conversation complete', type: 'SYSTEM', data: {} } },
        data: {
            conversation_no: input.conversationNo ?? 1,
            collection_id: 98765,
            conversation_identifier: 'conv-identifier-1',
            complete_chat_link: 'https://example.invalid/chat/1',
            completion_type: input.completionType ?? 'gogo',
            completion_by: 'gogo',
            closing_categories: { reason: '', subReason: '', comment: '' },
            conversation_details: input.conversationDetails ?? {},
            user_details: input.userDetails ?? {}
        },
        follow_up_details: {}
    };
}

/** TRACT hook `message/receive`: a user message while an ECT holds the thread. */
export function tractMessage(input: {
    userId: string;
    text: string;
    messageId: number;
    conversationNumber?: number;
    sender?: string;
    metadata?: unknown;
}): Record<string, unknown> {
    return {
        user_id: input.userId,
        message_id: input.messageId,
        conversation_number: input.conversationNumber ?? 1,
        message_body: textHsl(input.text),
        sender: input.sender ?? 'ceu',
        timestamp: '2026-11-25T10:01:00.000Z',
        metadata: input.metadata ?? ''
    };
}

/** TRACT event hook, e.g. `collection_state`/`incomplete` when the bot asks for an agent. */
export function tractEvent(input: {
    userId: string;
    category?: string;
    subcategory?: string;
    conversationNumber?: number;
    metadata?: unknown;
}): Record<string, unknown> {
    return {
        conversation_number: input.conversationNumber ?? 1,
        user_id: input.userId,
        category: input.category ?? 'collection_state',
        subcategory: input.subcategory ?? 'incomplete',
        metadata: input.metadata ?? ''
    };
}

/** The bot integration request (Static node "Integrations" or Code node). */
export function integrationRequest(
    input: {
        userId?: string;
        userName?: string;
        fullName?: string;
        authId?: string;
        authCode?: string;
        devicePlatform?: number;
        languageCode?: string;
        conversationNo?: number;
        node?: string;
        entities?: Record<string, string | readonly string[]>;
        conversationDetails?: Record<string, unknown>;
        userDetails?: Record<string, unknown>;
        envVariables?: Record<string, unknown>;
    } = {}
): Record<string, unknown> {
    const entities: Record<string, unknown[]> = {};
    for (const [name, value] of Object.entries(input.entities ?? {})) {
        const values: readonly string[] = typeof value === 'string' ? [value] : value;
        entities[name] = values.map((v) => ({ entity_value: v, detection: 'message', original_text: v }));
    }
    return {
        node: input.node ?? 'lookup_customer',
        event: 'API_INTEGRATION',
        user: {
            user_id: input.userId ?? 'u-1001',
            user_name: input.userName ?? 'haptik_user_1001',
            full_name: input.fullName ?? 'Asha Rao',
            device_platform: input.devicePlatform ?? 5,
            language_code: input.languageCode ?? 'en',
            auth_id: input.authId ?? 'crm-1001',
            auth_code: input.authCode ?? ''
        },
        conversation_no: input.conversationNo ?? 1,
        conversation_details: input.conversationDetails ?? {},
        user_details: input.userDetails ?? {},
        entities,
        env_variables: input.envVariables ?? {}
    };
}

export interface SendOptions {
    /** HAPTIK_WEBHOOK_SECRET: signs the body (`auth: 'signature'`). */
    secret?: string;
    /** HAPTIK_HOOK_TOKEN: goes into the URL as `?key=` (`auth: 'key'`). */
    hookToken?: string;
    /** How the request is authenticated; default: signed when there is a secret, else the key. */
    auth?: 'signature' | 'key' | 'none';
    /** Default sha1 (what Haptik documents). */
    algorithm?: HaptikSignatureAlgorithm;
    /** Replaces the computed signature header value (for tests of bad signatures); null sends none. */
    signature?: string | null;
    headers?: Record<string, string>;
    method?: string;
}

export interface SendResult {
    status: number;
    /** Parsed JSON, or the text when it is not JSON. */
    body: unknown;
    headers: Headers;
}

/** Posts a payload (an object, or a raw string sent byte for byte) to `bridgeUrl + path`, signed or keyed. */
export async function sendToBridge(
    bridgeUrl: string,
    path: string,
    payload: unknown,
    options: SendOptions
): Promise<SendResult> {
    const raw = typeof payload === 'string' ? payload : JSON.stringify(payload);
    const algorithm = options.algorithm ?? 'sha1';
    const auth = options.auth ?? (options.secret !== undefined ? 'signature' : 'key');
    const headers: Record<string, string> = { 'Content-Type': 'application/json', ...options.headers };
    let url = `${bridgeUrl}${path}`;
    if (auth === 'signature') {
        const signature =
            options.signature === undefined ? signHaptikBody(options.secret ?? '', raw, algorithm) : options.signature;
        if (signature !== null) headers[SIGNATURE_HEADERS[algorithm]] = signature;
    } else if (auth === 'key') {
        url += `${url.includes('?') ? '&' : '?'}key=${encodeURIComponent(options.hookToken ?? '')}`;
    }
    const response = await fetch(url, { method: options.method ?? 'POST', headers, body: raw });
    const text = await response.text();
    let body: unknown = text;
    try {
        body = JSON.parse(text) as unknown;
    } catch {
        // Not JSON: the text is the body.
    }
    return { status: response.status, body, headers: response.headers };
}

/**
 * A sender bound to one bridge and its secrets, with one method per contract route: TRACT hooks keyed
 * (Haptik does not sign them), the others signed when there is a secret. Bound to the Haptik emulator, it
 * also moves thread control as Haptik would: an incomplete conversation goes to the ECT, and the handover
 * route's answer, passed on by a Code node, is applied (`callback_ops.tract_atc.receiver`).
 */
export function createHaptikSender(bridgeUrl: string, defaults: SendOptions, haptik?: HaptikEmulator) {
    const send = (path: string, payload: unknown, options: Partial<SendOptions> = {}): Promise<SendResult> =>
        sendToBridge(bridgeUrl, path, payload, { ...defaults, ...options });
    const hook = (path: string, payload: unknown, options?: Partial<SendOptions>): Promise<SendResult> =>
        send(path, payload, { ...(defaults.hookToken !== undefined ? { auth: 'key' as const } : {}), ...options });
    const userOf = (payload: unknown): string | undefined => {
        const record = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {};
        const user = record['user'];
        const id =
            typeof user === 'object' && user !== null
                ? (user as Record<string, unknown>)['user_id']
                : record['user_id'];
        return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
    };
    return {
        send,
        webhook: (payload: unknown, options?: Partial<SendOptions>) =>
            send(HAPTIK_ROUTE_PATHS.webhook, payload, options),
        tractMessage: (payload: unknown, options?: Partial<SendOptions>) =>
            hook(HAPTIK_ROUTE_PATHS.tractMessage, payload, options),
        tractEvent: (payload: unknown, options?: Partial<SendOptions>) => {
            const userId = userOf(payload);
            const record = payload as Record<string, unknown>;
            if (haptik !== undefined && userId !== undefined && record['subcategory'] === 'incomplete') {
                haptik.giveToEct(userId);
            }
            return hook(HAPTIK_ROUTE_PATHS.tractEvent, payload, options);
        },
        customer: (payload: unknown, options?: Partial<SendOptions>) =>
            send(HAPTIK_ROUTE_PATHS.customer, payload, options),
        handover: async (payload: unknown, options?: Partial<SendOptions>) => {
            const result = await send(HAPTIK_ROUTE_PATHS.handover, payload, options);
            const userId = userOf(payload);
            if (haptik !== undefined && userId !== undefined && result.status === 200) {
                haptik.applyFinalResponse(userId, result.body);
            }
            return result;
        },
        caseEvent: (template: string, payload: unknown, options?: Partial<SendOptions>) =>
            send(HAPTIK_ROUTE_PATHS.caseEvent(template), payload, options)
    };
}

export type HaptikSender = ReturnType<typeof createHaptikSender>;

function webhookUser(input: WebhookUserInput): Record<string, unknown> {
    return {
        auth_id: input.authId ?? 'crm-1001',
        device_platform: input.devicePlatform ?? 13,
        device_platform_name: 'Bot API',
        user_name: input.userName ?? 'haptik_user_1001',
        user_id: input.userId ?? 'u-1001',
        phone_model: '',
        os_version: '',
        package_name: ''
    };
}
