// Reads the bot context JSON that the Haptik connector writes into Case.Haptik_Bot_Context__c
// (contract §4, version 1) and turns it into what the component shows. Pure: no LWC, no DOM,
// so every rule here is unit-tested on its own. Readers ignore unknown keys, and a newer or
// missing version still shows every part that is recognised.

export const SUPPORTED_VERSION = 1;
/** Longest value shown in a list before it is cut; the full text stays in the title attribute. */
export const MAX_VALUE_LENGTH = 300;
/** Longest chat message shown before it is cut. */
export const MAX_MESSAGE_LENGTH = 1000;
/** How much of an unreadable value the error panel repeats. */
export const MAX_EXCERPT_LENGTH = 200;

export interface DisplayText {
    text: string;
    full: string;
    truncated: boolean;
}

export interface LabelledValue {
    key: string;
    label: string;
    value: DisplayText;
}

export type Sender = 'user' | 'bot' | 'agent' | 'other';

export interface ChatMessage {
    key: string;
    sender: Sender;
    senderLabel: string;
    text: DisplayText;
    at: string | undefined;
}

export interface CrmMatch {
    objectType: string;
    id: string;
    name: DisplayText;
}

export interface BotContextView {
    version: number | undefined;
    name: DisplayText | undefined;
    /** Email, phone, channel, language: the contact facts beside the name. */
    who: LabelledValue[];
    intent: DisplayText | undefined;
    intentCode: string | undefined;
    handoverReason: DisplayText | undefined;
    entities: LabelledValue[];
    details: LabelledValue[];
    crm: CrmMatch | undefined;
    messages: ChatMessage[];
}

export type BotContextResult =
    | { kind: 'empty' }
    | { kind: 'invalid'; reason: string; excerpt: string }
    | { kind: 'ready'; context: BotContextView; notes: string[] };

type JsonObject = Record<string, unknown>;

const SENDER_LABELS: Record<Sender, string> = { user: 'Customer', bot: 'Bot', agent: 'Agent', other: 'Other' };
const SALESFORCE_ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

function isObject(value: unknown): value is JsonObject {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Cuts long text at a character limit and keeps the whole text for a tooltip. */
export function toDisplayText(value: string, max: number = MAX_VALUE_LENGTH): DisplayText {
    const full = value;
    if (full.length <= max) {
        return { text: full, full, truncated: false };
    }
    return { text: `${full.slice(0, Math.max(0, max - 1)).trimEnd()}…`, full, truncated: true };
}

/** `order_id` / `orderId` → `Order id`: entity and detail keys come from bot builders, not from people. */
export function humanize(key: string): string {
    const spaced = key
        .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
        .replace(/[_\-.]+/g, ' ')
        .replace(/\s+/g, ' ')
        .trim()
        .toLowerCase();
    return spaced.length === 0 ? key : spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

/** Any JSON value as one line of text; undefined for "nothing to show". */
function valueToText(value: unknown): string | undefined {
    if (value === null || value === undefined) {
        return undefined;
    }
    if (typeof value === 'string') {
        return value.trim().length === 0 ? undefined : value;
    }
    if (typeof value === 'number' || typeof value === 'boolean') {
        return String(value);
    }
    return JSON.stringify(value);
}

function optionalText(value: unknown, max?: number): DisplayText | undefined {
    const text = valueToText(value);
    return text === undefined ? undefined : toDisplayText(text, max);
}

function labelled(key: string, label: string, value: unknown): LabelledValue | undefined {
    const display = optionalText(value);
    return display === undefined ? undefined : { key, label, value: display };
}

function compact<T>(items: (T | undefined)[]): T[] {
    return items.filter((item): item is T => item !== undefined);
}

/** Entities are a list of `{name, value}`; a plain `{name: value}` map is accepted too. */
function readEntities(value: unknown, problems: string[]): LabelledValue[] {
    if (value === undefined || value === null) {
        return [];
    }
    if (isObject(value)) {
        return compact(Object.entries(value).map(([name, v]) => labelled(`entity-${name}`, humanize(name), v)));
    }
    if (!Array.isArray(value)) {
        problems.push('entities');
        return [];
    }
    return compact(
        value.map((entry: unknown, index) => {
            if (!isObject(entry) || typeof entry.name !== 'string') {
                return undefined;
            }
            return labelled(`entity-${index}-${entry.name}`, humanize(entry.name), entry.value);
        })
    );
}

function readDetails(value: unknown, problems: string[]): LabelledValue[] {
    if (value === undefined || value === null) {
        return [];
    }
    if (!isObject(value)) {
        problems.push('details');
        return [];
    }
    return compact(Object.entries(value).map(([name, v]) => labelled(`detail-${name}`, humanize(name), v)));
}

function readCrm(value: unknown, problems: string[]): CrmMatch | undefined {
    if (value === undefined || value === null) {
        return undefined;
    }
    if (!isObject(value)) {
        problems.push('crm');
        return undefined;
    }
    const id = typeof value.id === 'string' ? value.id.trim() : '';
    if (!SALESFORCE_ID.test(id)) {
        return undefined;
    }
    const objectType =
        typeof value.objectType === 'string' && value.objectType.trim() ? value.objectType.trim() : 'Contact';
    const name = optionalText(value.name) ?? toDisplayText(id);
    return { objectType, id, name };
}

function readSender(value: unknown): Sender {
    const sender = typeof value === 'string' ? value.trim().toLowerCase() : '';
    return sender === 'user' || sender === 'bot' || sender === 'agent' ? sender : 'other';
}

/** Newest last: sort by time when every message has one, else keep the order the bot gave. */
function readMessages(value: unknown, problems: string[]): ChatMessage[] {
    if (value === undefined || value === null) {
        return [];
    }
    if (!Array.isArray(value)) {
        problems.push('recentMessages');
        return [];
    }
    const messages = compact(
        value.map((entry: unknown, index): (ChatMessage & { order: number; time: number }) | undefined => {
            if (!isObject(entry)) {
                return undefined;
            }
            const text = optionalText(entry.text, MAX_MESSAGE_LENGTH);
            if (text === undefined) {
                return undefined;
            }
            const sender = readSender(entry.sender);
            const at = typeof entry.at === 'string' && entry.at.trim() ? entry.at.trim() : undefined;
            return {
                key: `message-${index}`,
                sender,
                senderLabel: SENDER_LABELS[sender],
                text,
                at,
                order: index,
                time: at === undefined ? Number.NaN : Date.parse(at)
            };
        })
    );
    if (messages.every((m) => !Number.isNaN(m.time))) {
        messages.sort((a, b) => a.time - b.time || a.order - b.order);
    }
    return messages.map(({ key, sender, senderLabel, text, at }) => ({ key, sender, senderLabel, text, at }));
}

function versionNote(version: unknown): string | undefined {
    if (version === SUPPORTED_VERSION) {
        return undefined;
    }
    if (typeof version === 'number') {
        return `This context uses format version ${version}; this component reads version ${SUPPORTED_VERSION}, so only the parts it recognises are shown.`;
    }
    return `This context has no format version; only the parts this component recognises are shown.`;
}

function excerpt(raw: string): string {
    return toDisplayText(raw.trim(), MAX_EXCERPT_LENGTH).text;
}

/** Parses the field value; never throws, whatever the field holds. */
export function parseBotContext(raw: unknown): BotContextResult {
    if (raw === undefined || raw === null) {
        return { kind: 'empty' };
    }
    if (typeof raw !== 'string') {
        return { kind: 'invalid', reason: 'The field does not hold text.', excerpt: '' };
    }
    if (raw.trim().length === 0) {
        return { kind: 'empty' };
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(raw);
    } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        return { kind: 'invalid', reason: `It is not valid JSON (${detail}).`, excerpt: excerpt(raw) };
    }
    if (parsed === null) {
        return { kind: 'empty' };
    }
    if (!isObject(parsed)) {
        return { kind: 'invalid', reason: 'It is JSON, but not an object.', excerpt: excerpt(raw) };
    }

    const problems: string[] = [];
    const user = isObject(parsed.user) ? parsed.user : {};
    if (parsed.user !== undefined && parsed.user !== null && !isObject(parsed.user)) {
        problems.push('user');
    }
    const crm = readCrm(parsed.crm, problems);
    const intentCode = valueToText(parsed.intent);
    const context: BotContextView = {
        version: typeof parsed.version === 'number' ? parsed.version : undefined,
        name: optionalText(user.name) ?? (crm !== undefined && crm.name.full !== crm.id ? crm.name : undefined),
        who: compact([
            labelled('email', 'Email', user.email),
            labelled('phone', 'Phone', user.phone),
            labelled('channel', 'Channel', parsed.channel),
            labelled('language', 'Language', user.language),
            labelled('authId', 'Customer ID', user.authId)
        ]),
        intent: intentCode === undefined ? undefined : toDisplayText(humanize(intentCode)),
        intentCode,
        handoverReason: optionalText(parsed.handoverReason),
        entities: readEntities(parsed.entities, problems),
        details: readDetails(parsed.details, problems),
        crm,
        messages: readMessages(parsed.recentMessages, problems)
    };
    const notes = compact([versionNote(parsed.version)]);
    if (problems.length > 0) {
        notes.push(`Some parts could not be read and are left out: ${problems.join(', ')}.`);
    }
    return { kind: 'ready', context, notes };
}

/** True when a parsed context has nothing worth a section of its own. */
export function isBlank(context: BotContextView): boolean {
    return (
        context.name === undefined &&
        context.who.length === 0 &&
        context.intent === undefined &&
        context.handoverReason === undefined &&
        context.entities.length === 0 &&
        context.details.length === 0 &&
        context.crm === undefined &&
        context.messages.length === 0
    );
}

/** Object types whose record pages the component reads, by key prefix when the page gives no name. */
const KEY_PREFIXES: Record<string, string> = { '500': 'Case', '0Mw': 'MessagingSession', '570': 'LiveChatTranscript' };

/** The page's object API name, or one guessed from the record id's key prefix. */
export function resolveObjectType(objectApiName: string | undefined, recordId: string | undefined): string | undefined {
    if (objectApiName) {
        return objectApiName;
    }
    return recordId === undefined ? undefined : KEY_PREFIXES[recordId.slice(0, 3)];
}

/** Compares record ids whatever their form (15-character case-sensitive or 18-character). */
export function sameRecordId(a: string | undefined, b: string | undefined): boolean {
    return a !== undefined && b !== undefined && a.slice(0, 15) === b.slice(0, 15);
}

/** One readable line from a UI API, network or script error (the shapes `reduceErrors` handles). */
export function describeError(error: unknown): string {
    const errors = Array.isArray(error) ? error : [error];
    const messages = errors.flatMap((e: unknown): string[] => {
        if (!isObject(e)) {
            return typeof e === 'string' && e ? [e] : [];
        }
        const body = e.body;
        if (Array.isArray(body)) {
            return body.flatMap((b: unknown) => (isObject(b) && typeof b.message === 'string' ? [b.message] : []));
        }
        if (isObject(body) && typeof body.message === 'string') {
            return [body.message];
        }
        if (typeof e.message === 'string' && e.message) {
            return [e.message];
        }
        return typeof e.statusText === 'string' && e.statusText ? [e.statusText] : [];
    });
    return messages.length > 0 ? messages.join(' ') : 'Unknown error.';
}
