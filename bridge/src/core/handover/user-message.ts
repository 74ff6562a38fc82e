import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../json-depth';

/**
 * A user's message as the Salesforce agent reads it. TRACT delivers the user's HSL serialised to a
 * string (haptik.md §A3, §A6): typed text, a quick-reply tap or a button tap. The agent gets what the
 * user said or chose, never the JSON; a tap shows the label the user saw, marked as a choice.
 */
export interface UserMessageRendering {
    text: string;
    /** The user tapped a quick reply or a button rather than typing. */
    choice: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(value: unknown): string | undefined {
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** HSL in a string is parsed; a body that is not JSON, or nests too deep to walk, stays the text it is. */
function parse(body: unknown): unknown {
    if (typeof body !== 'string') return body;
    const trimmed = body.trim();
    if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return body;
    try {
        const parsed = JSON.parse(trimmed) as unknown;
        return jsonDepthExceeds(parsed) ? body : parsed;
    } catch {
        return body;
    }
}

/** The label or message of a tapped actionable (`payload.message`, else `payload.gogo_message`). */
function tappedLabel(data: Record<string, unknown>): string | undefined {
    const payload = isRecord(data['payload']) ? data['payload'] : undefined;
    return (
        nonEmpty(data['actionable_text']) ??
        (payload === undefined ? undefined : (nonEmpty(payload['message']) ?? nonEmpty(payload['gogo_message'])))
    );
}

export function renderUserMessage(body: unknown): UserMessageRendering {
    return render(body, 1);
}

/** `level` bounds the walk: HSL strings inside arrays are parsed again, each a level deeper. */
function render(body: unknown, level: number): UserMessageRendering {
    const parsed = level > MAX_JSON_DEPTH || jsonDepthExceeds(body) ? String(body) : parse(body);
    if (typeof parsed === 'string') return { text: parsed.trim(), choice: false };
    if (Array.isArray(parsed)) {
        const parts = parsed.map((part) => render(part, level + 1)).filter((part) => part.text !== '');
        return { text: parts.map((p) => p.text).join('\n'), choice: parts.some((p) => p.choice) };
    }
    if (typeof parsed === 'number' || typeof parsed === 'boolean') return { text: String(parsed), choice: false };
    if (!isRecord(parsed)) return { text: '', choice: false };
    const data = isRecord(parsed['data']) ? parsed['data'] : {};
    const typed = nonEmpty(parsed['text']);
    const tapped = tappedLabel(data);
    const type = typeof parsed['type'] === 'string' ? parsed['type'].toUpperCase() : 'TEXT';
    if (type === 'BUTTON' || type === 'QUICK_REPLY' || (typed === undefined && tapped !== undefined)) {
        const label = typed ?? tapped;
        return label === undefined ? { text: '', choice: false } : { text: `[chose] ${label}`, choice: true };
    }
    return { text: typed ?? '', choice: false };
}

/** The end keyword, compared without case, surrounding blanks or final punctuation. */
export function isEndKeyword(text: string, keywords: readonly string[]): boolean {
    const said = normalise(text);
    return said !== '' && keywords.some((keyword) => normalise(keyword) === said);
}

function normalise(text: string): string {
    return text
        .replace(/^\[chose\]\s*/, '')
        .trim()
        .toLowerCase()
        .replace(/[\s.!?]+$/u, '')
        .replace(/\s+/g, ' ');
}
