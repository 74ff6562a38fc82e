import { ownValue } from '../records';
/**
 * The texts the user sees about the handover itself (haptik.md §A8): connecting, wait time, agent
 * joined or left, transfer, no agents, chat ended. Every text is configurable per language in the
 * mapping file; a language without its own text falls back to its base language (`pt-BR` → `pt`),
 * then to the default language. `{agent}`, `{position}`, `{ahead}` and `{minutes}` are filled in.
 */
export interface WaitTier {
    /** The tier applies while the estimated wait is at most this; `null` = any longer wait. */
    upToSeconds: number | null;
    text: string;
}

export interface NoticeTexts {
    /** Answer to the trigger, while Salesforce routes the chat. */
    connecting: string;
    /** A second trigger while a handover is already on. */
    alreadyConnected: string;
    agentJoined: string;
    agentLeft: string;
    transfer: string;
    /** The transfer text when the target's name is known. */
    transferTo: string;
    noAgents: string;
    chatEnded: string;
    /** Queue position 1. */
    queueNext: string;
    /** Queue position 2: one conversation before the user. */
    queueOneAhead: string;
    /** Queue positions 3..queueFewUpTo: `{ahead}` conversations before the user. */
    queueFew: string;
    /** Longer queues. */
    queueLong: string;
    /** Wait time unknown (and no position). */
    waitUnknown: string;
    /** Ascending by `upToSeconds`; the last may be open-ended. */
    waitTiers: WaitTier[];
    /** A user's file could not be attached in the chat: the agent got a link to it instead (`{file}`). */
    fileSentAsLink: string;
    /** An agent's file cannot be shown on the user's channel (no file links configured; `{file}`). */
    agentFileUnavailable: string;
}

export interface NoticeSettings {
    defaultLanguage: string;
    /** Texts per language (lower-case tag). The default language's set is complete. */
    texts: Record<string, Partial<NoticeTexts>>;
    /** Positions up to this use `queueFew` (haptik.md §A8: 5). */
    queueFewUpTo: number;
    /** The wait notice is repeated at most this often. */
    waitNoticeIntervalMs: number;
}

export type NoticeRequest =
    | { key: 'connecting' }
    | { key: 'alreadyConnected' }
    | { key: 'agentJoined'; agent: string }
    | { key: 'agentLeft'; agent?: string }
    | { key: 'transfer'; agent?: string }
    | { key: 'noAgents' }
    | { key: 'chatEnded' }
    | { key: 'wait'; position?: number; estimatedWaitSeconds?: number }
    | { key: 'fileSentAsLink'; file: string }
    | { key: 'agentFileUnavailable'; file: string };

export const DEFAULT_NOTICE_TEXTS: NoticeTexts = {
    connecting: 'Connecting you to an agent. Please stay on this chat.',
    alreadyConnected: 'You are already connected to our support team. Please stay on this chat.',
    agentJoined: 'You are now chatting with {agent}.',
    agentLeft: '{agent} has left the chat.',
    transfer: 'Transferring you to another agent. Please stay on this chat.',
    transferTo: 'Transferring you to {agent}. Please stay on this chat.',
    noAgents: 'Sorry, no agent is available right now. We have noted your request and will get back to you.',
    chatEnded: 'The chat with our agent has ended. Thank you!',
    queueNext: 'You are next!',
    queueOneAhead: 'An agent will be with you as soon as we close one conversation.',
    queueFew: 'An agent will be with you as soon as we close {ahead} conversations.',
    queueLong: 'You are in line.',
    waitUnknown: 'All our agents are busy. An agent will be with you shortly.',
    waitTiers: [
        { upToSeconds: 90, text: 'An agent will be with you in a minute.' },
        { upToSeconds: 900, text: 'An agent will be with you in about {minutes} minutes.' },
        { upToSeconds: null, text: 'An agent will be with you in about an hour.' }
    ],
    fileSentAsLink:
        'Your file {file} could not be attached in the chat, so the agent received a link to it. Nothing is lost.',
    agentFileUnavailable:
        'The agent sent you a file ({file}) that cannot be shown here. Please ask the agent to share it another way.'
};

export const DEFAULT_NOTICE_SETTINGS: NoticeSettings = {
    defaultLanguage: 'en',
    texts: { en: DEFAULT_NOTICE_TEXTS },
    queueFewUpTo: 5,
    waitNoticeIntervalMs: 60_000
};

/** The texts for a language, each missing one taken from the base language, then the default one. */
export function noticeTextsFor(settings: NoticeSettings, language: string | null | undefined): NoticeTexts {
    const tag = (language ?? '').trim().toLowerCase().replace(/_/g, '-');
    const base = tag.split('-')[0] ?? '';
    const layers = [
        DEFAULT_NOTICE_TEXTS,
        ownValue(settings.texts, settings.defaultLanguage.toLowerCase()),
        base === '' ? undefined : ownValue(settings.texts, base),
        tag === '' || tag === base ? undefined : ownValue(settings.texts, tag)
    ];
    let texts: NoticeTexts = { ...DEFAULT_NOTICE_TEXTS };
    for (const layer of layers) {
        if (layer === undefined) continue;
        texts = { ...texts, ...definedOnly(layer) };
    }
    return texts;
}

function definedOnly(texts: Partial<NoticeTexts>): Partial<NoticeTexts> {
    const out: Partial<NoticeTexts> = {};
    for (const [key, value] of Object.entries(texts) as Array<[keyof NoticeTexts, unknown]>) {
        if (value !== undefined) (out as Record<string, unknown>)[key] = value;
    }
    return out;
}

function fill(text: string, values: Record<string, string>): string {
    return text
        .replace(/\{(\w+)\}/g, (_, key: string) => values[key] ?? '')
        .replace(/\s{2,}/g, ' ')
        .trim();
}

/** The wait text: queue position when known, then the wait-time tier when known. */
export function waitNoticeText(
    texts: NoticeTexts,
    settings: Pick<NoticeSettings, 'queueFewUpTo'>,
    wait: { position?: number; estimatedWaitSeconds?: number }
): string {
    const parts: string[] = [];
    const position = wait.position;
    if (position !== undefined && Number.isFinite(position) && position >= 1) {
        if (position === 1) parts.push(texts.queueNext);
        else if (position === 2 && settings.queueFewUpTo >= 2) parts.push(texts.queueOneAhead);
        else if (position <= settings.queueFewUpTo) parts.push(fill(texts.queueFew, { ahead: String(position - 1) }));
        else parts.push(texts.queueLong);
    }
    const seconds = wait.estimatedWaitSeconds;
    if (seconds !== undefined && Number.isFinite(seconds) && seconds >= 0) {
        const tier =
            texts.waitTiers.find((t) => t.upToSeconds === null || seconds <= t.upToSeconds) ?? texts.waitTiers.at(-1);
        if (tier !== undefined) {
            parts.push(fill(tier.text, { minutes: String(Math.max(1, Math.round(seconds / 60))) }));
        }
    }
    if (parts.length === 0) parts.push(texts.waitUnknown);
    return parts.map((part) => fill(part, {})).join(' ');
}

/** The text of one notice in the user's language. */
export function renderNotice(
    settings: NoticeSettings,
    language: string | null | undefined,
    notice: NoticeRequest
): string {
    const texts = noticeTextsFor(settings, language);
    switch (notice.key) {
        case 'wait':
            return waitNoticeText(texts, settings, notice);
        case 'agentJoined':
            return fill(texts.agentJoined, { agent: notice.agent });
        case 'agentLeft':
            return fill(texts.agentLeft, { agent: notice.agent ?? 'The agent' });
        case 'transfer':
            return notice.agent === undefined ? texts.transfer : fill(texts.transferTo, { agent: notice.agent });
        case 'fileSentAsLink':
        case 'agentFileUnavailable':
            return fill(texts[notice.key], { file: notice.file });
        case 'connecting':
        case 'alreadyConnected':
        case 'noAgents':
        case 'chatEnded':
            return fill(texts[notice.key], {});
    }
}
