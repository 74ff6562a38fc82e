import { cutText } from '../text';

/**
 * The bot context of a handover (contract §4, `Haptik_Bot_Context__c`, version 1): who the user is,
 * what the bot learnt, why it handed over, the CRM match and the last messages. Built from the bot's
 * integration request or the TRACT event that asked for an agent; readers ignore unknown keys, so only
 * documented keys are written.
 */
export interface BotContextMessage {
    sender: 'user' | 'bot' | 'agent';
    text: string;
    at: string;
}

export interface BotContextV1 {
    version: 1;
    user: { name?: string; email?: string; phone?: string; authId?: string; language: string };
    channel: string;
    intent?: string;
    handoverReason: string;
    entities: Array<{ name: string; value: string }>;
    details: Record<string, string | number | boolean>;
    crm?: { objectType: string; id: string; name?: string };
    recentMessages: BotContextMessage[];
}

/** The integration request's parts the context reads (haptik.md §A5); a TRACT event fills only the ids. */
export interface HandoverTrigger {
    source: 'integration' | 'tract_event';
    user: {
        user_id: string;
        user_name?: string | null | undefined;
        full_name?: string | null | undefined;
        auth_id?: string | null | undefined;
        language_code?: string | null | undefined;
        device_platform?: number | string | null | undefined;
    };
    conversationNo: string;
    node?: unknown;
    conversation_details?: Record<string, unknown> | undefined;
    user_details?: Record<string, unknown> | undefined;
    entities?: Record<string, Array<{ entity_value?: unknown; original_text?: string | null | undefined }>> | undefined;
}

export interface CrmMatch {
    objectType: string;
    id: string;
    name?: string;
}

export interface BotContextInput {
    trigger: HandoverTrigger;
    channel: string;
    crm?: CrmMatch | undefined;
    /** Oldest first; the last `maxMessages` are kept. */
    messages: readonly BotContextMessage[];
    maxMessages: number;
    defaultLanguage: string;
    defaultReason: string;
    /** The field's size (contract §4: 131072); see fitBotContext. */
    maxChars?: number;
    /**
     * The mapping file's redaction rules, applied (as to transcripts) to every free text: messages,
     * entity and detail values, intent, reason and the user's name. E-mail, phone and auth id stay: they
     * are the contact data the agent needs.
     */
    redact?: ((text: string) => string) | undefined;
}

export const BOT_CONTEXT_MAX_CHARS = 131_072;
/** Name, intent, reason, e-mail, phone, auth id and detail keys. */
const SHORT_LIMIT = 255;
/** One entity or detail value. */
const VALUE_LIMIT = 1000;
/** One message. */
const MESSAGE_LIMIT = 2000;

function text(value: unknown): string | undefined {
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

function firstText(...values: unknown[]): string | undefined {
    for (const value of values) {
        const found = text(value);
        if (found !== undefined) return found;
    }
    return undefined;
}

function entityValue(value: unknown): string | undefined {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const record = value as Record<string, unknown>;
        return firstText(record['value'], record['name'], JSON.stringify(value));
    }
    return text(value) ?? (typeof value === 'boolean' ? String(value) : undefined);
}

/** Flat `key: scalar` pairs; nested objects become dotted keys, lists their JSON. */
function flatten(target: Record<string, string | number | boolean>, prefix: string, value: unknown, depth = 0): void {
    if (value === null || value === undefined) return;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
        target[prefix] = value;
        return;
    }
    if (Array.isArray(value) || depth >= 3) {
        target[prefix] = JSON.stringify(value);
        return;
    }
    if (typeof value === 'object') {
        for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
            flatten(target, prefix === '' ? key : `${prefix}.${key}`, inner, depth + 1);
        }
    }
}

function entitiesOf(trigger: HandoverTrigger): Array<{ name: string; value: string }> {
    const out: Array<{ name: string; value: string }> = [];
    for (const [name, values] of Object.entries(trigger.entities ?? {})) {
        for (const entry of values) {
            const value = entityValue(entry.entity_value) ?? text(entry.original_text);
            if (value !== undefined) out.push({ name, value });
        }
    }
    return out;
}

export function buildBotContext(input: BotContextInput): BotContextV1 {
    const redact = input.redact ?? ((value: string): string => value);
    const clean = (value: string, limit: number): string => cutText(redact(value), limit);
    const { trigger } = input;
    const userDetails = trigger.user_details ?? {};
    const conversationDetails = trigger.conversation_details ?? {};
    const entities = entitiesOf(trigger);
    const entity = (name: string): string | undefined => entities.find((e) => e.name === name)?.value;

    const first = text(userDetails['first_name']);
    const name = firstText(
        trigger.user.full_name,
        userDetails['name'],
        userDetails['full_name'],
        first === undefined ? undefined : [first, text(userDetails['last_name'])].filter(Boolean).join(' ')
    );
    const email = firstText(userDetails['email'], conversationDetails['email'], entity('email'));
    const phone = firstText(
        userDetails['phone'],
        userDetails['mobile_no'],
        conversationDetails['phone'],
        entity('phone_number'),
        entity('phone')
    );
    const authId = text(trigger.user.auth_id);
    const user: BotContextV1['user'] = {
        ...(name === undefined ? {} : { name: clean(name, SHORT_LIMIT) }),
        ...(email === undefined ? {} : { email: cutText(email, SHORT_LIMIT) }),
        ...(phone === undefined ? {} : { phone: cutText(phone, SHORT_LIMIT) }),
        ...(authId === undefined ? {} : { authId: cutText(authId, SHORT_LIMIT) }),
        language: cutText(text(trigger.user.language_code) ?? input.defaultLanguage, SHORT_LIMIT)
    };
    const intent = firstText(
        conversationDetails['intent'],
        userDetails['intent'],
        typeof trigger.node === 'string' ? trigger.node : undefined
    );
    const handoverReason =
        firstText(conversationDetails['handover_reason'], conversationDetails['reason']) ??
        (trigger.source === 'tract_event' ? 'the bot could not complete the conversation' : input.defaultReason);

    const flat: Record<string, string | number | boolean> = {};
    flatten(flat, '', userDetails);
    flatten(flat, '', conversationDetails);
    const details = Object.fromEntries(
        Object.entries(flat).map(([key, value]) => [
            cutText(key, SHORT_LIMIT),
            typeof value === 'string' ? clean(value, VALUE_LIMIT) : value
        ])
    );

    const context: BotContextV1 = {
        version: 1,
        user,
        channel: input.channel,
        ...(intent === undefined ? {} : { intent: clean(intent, SHORT_LIMIT) }),
        handoverReason: clean(handoverReason, SHORT_LIMIT),
        entities: entities.map((entity) => ({
            name: cutText(entity.name, SHORT_LIMIT),
            value: clean(entity.value, VALUE_LIMIT)
        })),
        details,
        ...(input.crm === undefined
            ? {}
            : {
                  crm: {
                      objectType: input.crm.objectType,
                      id: input.crm.id,
                      ...(input.crm.name === undefined ? {} : { name: input.crm.name })
                  }
              }),
        recentMessages: input.messages
            .slice(-Math.max(0, input.maxMessages))
            .map((message) => ({ ...message, text: clean(message.text, MESSAGE_LIMIT) }))
    };
    return fitBotContext(context, input.maxChars);
}

/**
 * The context cut to fit the field (`maxChars` of JSON), so a Case write never fails with
 * STRING_TOO_LONG. The last messages tell the agent most: entities and details (the last ones first)
 * are trimmed to half the field, then the oldest messages go, then more entities and details; what is
 * left then is a few short fields. Sizes are counted as items go, so this is linear in the context.
 */
export function fitBotContext(context: BotContextV1, maxChars: number = BOT_CONTEXT_MAX_CHARS): BotContextV1 {
    let size = JSON.stringify(context).length;
    if (size <= maxChars) return context;
    // An item's JSON and the comma that goes with it (none for the last one left).
    const withComma = (length: number, count: number): number => length + (count > 1 ? 1 : 0);
    const entities = context.entities.map((entity) => ({ entity, size: JSON.stringify(entity).length }));
    const details = Object.entries(context.details).map(([key, value]) => ({
        entry: [key, value] as const,
        size: JSON.stringify(key).length + 1 + JSON.stringify(value).length
    }));
    let bulk = [...entities, ...details].reduce((sum, item) => sum + item.size + 1, 0);
    const dropBulk = (until: () => boolean): void => {
        while (!until() && (entities.length > 0 || details.length > 0)) {
            const fromDetails = details.length > 0 && (entities.length === 0 || details.length >= entities.length);
            const list = fromDetails ? details : entities;
            const item = list.pop()!;
            size -= withComma(item.size, list.length + 1);
            bulk -= item.size + 1;
        }
    };
    dropBulk(() => size <= maxChars || bulk <= maxChars / 2);
    const messages = context.recentMessages;
    let first = 0;
    for (; size > maxChars && first < messages.length; first++) {
        size -= withComma(JSON.stringify(messages[first]).length, messages.length - first);
    }
    dropBulk(() => size <= maxChars);
    const fitted: BotContextV1 = {
        ...context,
        recentMessages: messages.slice(first),
        entities: entities.map((item) => item.entity),
        details: Object.fromEntries(details.map((item) => item.entry))
    };
    if (JSON.stringify(fitted).length <= maxChars) return fitted;
    // A field smaller than the short fields together: the least that still says why the user is here.
    return {
        version: 1,
        user: { language: context.user.language },
        channel: context.channel,
        handoverReason: cutText(context.handoverReason, Math.max(0, maxChars - 150)),
        entities: [],
        details: {},
        recentMessages: []
    };
}

/** The bot part of the conversation as the agent's first message: readable, oldest first, one line each. */
export function agentBriefing(
    context: BotContextV1,
    labels: { header: string; userName: string; botName: string; agentName: string }
): string {
    const lines = [labels.header];
    const who = [
        context.user.name,
        context.crm === undefined ? undefined : `${context.crm.objectType} ${context.crm.id}`
    ]
        .filter((part): part is string => part !== undefined)
        .join(', ');
    if (who !== '') lines.push(`Customer: ${who}`);
    lines.push(`Reason: ${context.handoverReason}${context.intent === undefined ? '' : ` (${context.intent})`}`);
    for (const message of context.recentMessages) {
        const label =
            message.sender === 'user' ? labels.userName : message.sender === 'bot' ? labels.botName : labels.agentName;
        lines.push(`${label}: ${message.text}`);
    }
    return lines.join('\n');
}
