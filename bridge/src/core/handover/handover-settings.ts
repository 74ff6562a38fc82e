import { cutText } from '../text';
import type { BotContextV1 } from './bot-context';
import { DEFAULT_NOTICE_SETTINGS } from './notices';
import type { NoticeSettings } from './notices';

/**
 * What an admin tunes about live-agent handover (mapping file section `handover`): notices, the end
 * keyword, timeouts, how the bot context maps to the deployment's hidden pre-chat fields, and the
 * "we will get back to you" Case.
 */
export interface HandoverSettings {
    notices: NoticeSettings;
    /** What the user types to leave the agent chat (any of them, case-insensitive). */
    endKeywords: string[];
    /** Give up (no agents) when no agent joined within this time. */
    noAgentTimeoutMs: number;
    /** Messages of the bot conversation kept in the context and shown to the agent. */
    recentMessages: number;
    /** Pre-chat field name (routingAttributes key) → context path (see routingAttributesOf). */
    routingAttributes: Record<string, string>;
    /** TRACT thread-control names used when passing the user back to the bot. */
    threadControl: { requester: string; receiver: string };
    defaultReason: string;
    /** First line of the transcript the agent gets at the start. */
    briefingHeader: string;
    eventCase: { subject: string; description: string; origin: string; status?: string };
    /** Only for SF_CHAT_API=legacy (Live Agent); absent means the defaults (check on, no transcript fields). */
    legacyChat?: LegacyChatSettings;
}

export interface LegacyChatSettings {
    /** Ask Visitor/Availability before a chat, so the user hears "no agents" at once. */
    availabilityCheck: boolean;
    /** Pre-chat detail label (routing attribute name) → LiveChatTranscript fields its value is copied into. */
    transcriptFields: Record<string, string[]>;
}

export const DEFAULT_HANDOVER_SETTINGS: HandoverSettings = {
    notices: DEFAULT_NOTICE_SETTINGS,
    endKeywords: ['end chat'],
    noAgentTimeoutMs: 10 * 60_000,
    recentMessages: 20,
    routingAttributes: {},
    threadControl: { requester: 'ect', receiver: 'iva' },
    defaultReason: 'user asked for an agent',
    briefingHeader: 'Conversation with the bot before this chat:',
    eventCase: {
        subject: 'Chat request without an agent: {name}',
        description:
            'The user asked for an agent on {channel} and none was available ({reason}). Please get back to them.',
        origin: 'Web'
    }
};

/** Paths a routing attribute may read. */
export const ROUTING_PATHS = [
    'conversationKey',
    'channel',
    'intent',
    'handoverReason',
    'user.name',
    'user.email',
    'user.phone',
    'user.authId',
    'user.language',
    'crm.id',
    'crm.objectType',
    'crm.name'
] as const;

/**
 * The `routingAttributes` of a new chat: each mapped pre-chat field gets its value from the context
 * (a fixed path above, `details.<key>` or `entities.<name>`); a field without a value is left out.
 */
export function routingAttributesOf(
    mapping: Readonly<Record<string, string>>,
    context: BotContextV1,
    conversationKey: string
): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [field, path] of Object.entries(mapping)) {
        const value = valueAt(context, conversationKey, path);
        if (value !== undefined && value !== '') out[field] = cutText(value, 255);
    }
    return out;
}

function valueAt(context: BotContextV1, conversationKey: string, path: string): string | undefined {
    if (path === 'conversationKey') return conversationKey;
    if (path.startsWith('details.')) {
        const value = context.details[path.slice('details.'.length)];
        return value === undefined ? undefined : String(value);
    }
    if (path.startsWith('entities.')) {
        const name = path.slice('entities.'.length);
        return context.entities.find((e) => e.name === name)?.value;
    }
    switch (path) {
        case 'channel':
            return context.channel;
        case 'intent':
            return context.intent;
        case 'handoverReason':
            return context.handoverReason;
        case 'user.name':
            return context.user.name;
        case 'user.email':
            return context.user.email;
        case 'user.phone':
            return context.user.phone;
        case 'user.authId':
            return context.user.authId;
        case 'user.language':
            return context.user.language;
        case 'crm.id':
            return context.crm?.id;
        case 'crm.objectType':
            return context.crm?.objectType;
        case 'crm.name':
            return context.crm?.name;
        default:
            return undefined;
    }
}

export function isRoutingPath(path: string): boolean {
    return (ROUTING_PATHS as readonly string[]).includes(path) || /^(details|entities)\.[\w.-]{1,80}$/.test(path);
}
