import { cutText } from './text';

/**
 * The readable transcript of a conversation: Haptik's bot history merged with the agent part the bridge
 * relayed during a handover, one line per message (`[2026-11-25 10:00:05 UTC] Asha Rao: text`), and
 * fitted into the Case field (the whole text then goes into a file). Pure: messages come in already as
 * plain text (HSL rendered by the caller).
 */
export type TranscriptRole = 'user' | 'bot' | 'agent' | 'system';

export interface TranscriptEntry {
    at: Date | undefined;
    role: TranscriptRole;
    /** The agent's name, when known. */
    name?: string | undefined;
    /** Plain text (HSL already rendered). */
    text: string;
    /** Haptik's message id (history) or the bridge's external id (log), for de-duplication. */
    messageId?: string | undefined;
}

export interface TranscriptSettings {
    /** Which conversations get a transcript Case. */
    mode: 'all' | 'handover' | 'off';
    botName: string;
    /** Shown for an agent message whose agent is not known by name. */
    agentName: string;
    /** Shown for the user when neither the bot nor the conversation gives a name. */
    userName: string;
    /** Subject template; `{name}` and `{channel}`. */
    subject: string;
    origin: string;
    /** Case Status to set; unset leaves Salesforce's default. */
    status?: string;
    /** How far apart the same message may be timed in the two sources and still be one message. */
    duplicateWindowMs: number;
}

/** Haptik_Transcript__c is a Long Text Area(131072) (contract §4). */
export const TRANSCRIPT_FIELD_LIMIT = 131_072;

/** How a get_chat_history sender (`user`, `bot` or an agent's name, haptik.md §A2.4) reads. */
export function historySender(sender: string): { role: TranscriptRole; name?: string } {
    const normalised = sender.trim().toLowerCase();
    if (normalised === 'user' || normalised === 'ceu') return { role: 'user' };
    if (normalised === 'bot' || normalised === 'gogo' || normalised === 'iva') return { role: 'bot' };
    if (normalised === 'system' || normalised === 'haptik') return { role: 'system' };
    return { role: 'agent', name: sender.trim() };
}

function normaliseText(text: string): string {
    return text.replace(/\s+/g, ' ').trim().toLowerCase();
}

function sameMessage(a: TranscriptEntry, b: TranscriptEntry, windowMs: number): boolean {
    if (a.role !== b.role) return false;
    if (a.messageId !== undefined && a.messageId === b.messageId) return true;
    if (normaliseText(a.text) !== normaliseText(b.text)) return false;
    if (a.at === undefined || b.at === undefined) return true;
    return Math.abs(a.at.getTime() - b.at.getTime()) <= windowMs;
}

/** Untimed entries take the time of the entry before them in their own source, so they keep their place. */
function withTimes(entries: readonly TranscriptEntry[]): Array<{ entry: TranscriptEntry; sortAt: number }> {
    let last = 0;
    return entries.map((entry) => {
        if (entry.at !== undefined) last = entry.at.getTime();
        return { entry, sortAt: last };
    });
}

/**
 * The transcript's line for one attachment (issue 18): who sent it, its name and type. The bridge logs it under
 * the message that carried the file, so the transcript lists every file with its sender and time.
 */
export function attachmentLine(sender: 'user' | 'agent', name: string, contentType: string): string {
    return `[${sender} file] ${name} (${contentType})`;
}

const ATTACHMENT_LINE = /^\[(user|agent) file\] /;

/** What the bridge knows of one file of a message when the transcript is written (store/handover-files.ts). */
export interface TranscriptFile {
    sender: 'user' | 'agent';
    name: string;
    /** `type/subtype` once the file was seen, else what its message said it was (`image`, `document`). */
    contentType: string;
    /** Bytes, when a download or a header told it. */
    size?: number | undefined;
    /** Set when the file was to be linked to the Case (BRIDGE_TRANSCRIPT_FILES=link) and could not be. */
    notAttached?: string | undefined;
}

const SIZE_UNITS = ['KB', 'MB', 'GB', 'TB'];

/** `512 bytes`, `40 KB`, `2.4 MB`: 1024-based, one decimal below 10 of a unit. */
export function formatFileSize(bytes: number): string {
    if (!Number.isFinite(bytes) || bytes < 0) return 'size unknown';
    if (bytes < 1024) return bytes === 1 ? '1 byte' : `${Math.round(bytes)} bytes`;
    let value = bytes;
    for (const [index, unit] of SIZE_UNITS.entries()) {
        value /= 1024;
        const shown = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
        // 1023.6 KB reads as 1 MB, not as 1024 KB.
        if (shown < 1024 || index === SIZE_UNITS.length - 1) return `${String(shown)} ${unit}`;
    }
    return 'size unknown';
}

/**
 * The transcript's line for one file: who sent it, its name, type and size, and, when it should have been linked to
 * the Case and was not, why. It sits under the message that carried the file, so the message's time is its time.
 */
export function transcriptFileLine(file: TranscriptFile): string {
    const size = file.size === undefined ? 'size unknown' : formatFileSize(file.size);
    const line = `[${file.sender} file] ${file.name} (${file.contentType}, ${size})`;
    return file.notAttached === undefined ? line : `${line}: not attached to the Case (${file.notAttached})`;
}

/**
 * A logged message's text with its file lines written from what the bridge knows of its files now (sizes learnt
 * after the message was logged, whether each is on the Case). Without files the text stays as it was logged.
 */
export function withFileLines(text: string, files: readonly TranscriptFile[]): string {
    if (files.length === 0) return text;
    const kept = text
        .split('\n')
        .filter((line) => !ATTACHMENT_LINE.test(line))
        .join('\n')
        .trimEnd();
    return [kept, ...files.map(transcriptFileLine)].filter((part) => part !== '').join('\n');
}

/**
 * Both sources in time order. A bridge entry that Haptik's history also holds (same role and message
 * id, or same role and text within `windowMs`) is kept once, as Haptik's; the bridge's copy lends its
 * agent name when Haptik's lacks one, and its attachment lines. Equal times keep Haptik's entries first, each source in its order.
 */
export function mergeTranscriptEntries(
    history: readonly TranscriptEntry[],
    bridgeLog: readonly TranscriptEntry[],
    windowMs: number
): TranscriptEntry[] {
    const merged = history.map((entry) => ({ ...entry }));
    const matched = new Set<number>();
    const extra: TranscriptEntry[] = [];
    for (const entry of bridgeLog) {
        const index = merged.findIndex((candidate, i) => !matched.has(i) && sameMessage(candidate, entry, windowMs));
        if (index < 0) {
            extra.push(entry);
            continue;
        }
        matched.add(index);
        const kept = merged[index]!;
        if (kept.name === undefined && entry.name !== undefined) kept.name = entry.name;
        // Haptik's history shows a file as a card or a link: the bridge's attachment lines still say what it was.
        const files = entry.text.split('\n').filter((line) => ATTACHMENT_LINE.test(line) && !kept.text.includes(line));
        if (files.length > 0) kept.text = [kept.text, ...files].filter((line) => line.trim() !== '').join('\n');
    }
    const timed = [...withTimes(merged), ...withTimes(extra)];
    return timed
        .map((item, order) => ({ ...item, order }))
        .sort((a, b) => a.sortAt - b.sortAt || a.order - b.order)
        .map((item) => item.entry);
}

/** `2026-11-25 10:00:05 UTC` */
export function formatTranscriptTime(date: Date): string {
    return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export interface TranscriptNames {
    user: string;
    bot: string;
    agent: string;
}

/** One line per message; a message of several lines continues indented under its first line. */
export function renderTranscript(entries: readonly TranscriptEntry[], names: TranscriptNames): string {
    return entries
        .filter((entry) => entry.text.trim() !== '')
        .map((entry) => {
            const time = entry.at === undefined ? 'time unknown' : formatTranscriptTime(entry.at);
            const text = entry.text.trim().replace(/\r?\n/g, '\n    ');
            return `[${time}] ${senderName(entry, names)}: ${text}`;
        })
        .join('\n');
}

function senderName(entry: TranscriptEntry, names: TranscriptNames): string {
    switch (entry.role) {
        case 'user':
            return names.user;
        case 'bot':
            return names.bot;
        case 'agent':
            return entry.name ?? names.agent;
        case 'system':
            return 'System';
    }
}

export interface FittedTranscript {
    /** What goes into Haptik_Transcript__c. */
    fieldText: string;
    /** True when the field holds only the beginning and the whole text must go into a file. */
    overflow: boolean;
}

/**
 * The transcript as the Case field can hold it: whole when it fits, else its beginning (cut at a line
 * end when one is near) and a note naming the attached file, within `limit` characters.
 */
export function fitTranscript(text: string, fileName: string, limit = TRANSCRIPT_FIELD_LIMIT): FittedTranscript {
    if (text.length <= limit) return { fieldText: text, overflow: false };
    const note = `\n… (transcript continues in the attached file ${fileName})`;
    let end = Math.max(0, limit - note.length);
    const lineEnd = text.lastIndexOf('\n', end);
    if (lineEnd > end - 2000 && lineEnd > 0) end = lineEnd;
    return { fieldText: cutText(text, end) + note, overflow: true };
}

/** The transcript file's name: `transcript-<key>.txt`, with the key's `:` kept and unsafe characters replaced. */
export function transcriptFileName(conversationKey: string): string {
    return `transcript-${conversationKey.replace(/[^A-Za-z0-9:._-]/g, '_')}.txt`;
}

/** A short summary for the Case Description: who said how much, and when. */
export function transcriptSummary(
    entries: readonly TranscriptEntry[],
    input: {
        channel: string;
        conversationNo: string;
        completion?: string | undefined;
        closingReason?: string | undefined;
    }
): string {
    const count = (role: TranscriptRole): number => entries.filter((e) => e.role === role).length;
    const times = entries.map((e) => e.at).filter((at): at is Date => at !== undefined);
    const first = times.reduce<Date | undefined>((a, b) => (a === undefined || b < a ? b : a), undefined);
    const last = times.reduce<Date | undefined>((a, b) => (a === undefined || b > a ? b : a), undefined);
    const lines = [
        `Chat conversation ${input.conversationNo} on ${input.channel}: ${entries.length} messages ` +
            `(user ${count('user')}, bot ${count('bot')}, agent ${count('agent')}).`
    ];
    if (first !== undefined && last !== undefined) {
        lines.push(`From ${formatTranscriptTime(first)} to ${formatTranscriptTime(last)}.`);
    }
    if (input.completion) lines.push(`Completed by: ${input.completion}.`);
    if (input.closingReason) lines.push(`Closing reason: ${input.closingReason}.`);
    lines.push('The full transcript is in the Haptik Transcript field.');
    return lines.join('\n');
}
