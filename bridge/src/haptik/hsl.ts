/**
 * HSL (Haptik Structured Language, haptik.md §A6): the `{text, type, data}` message format Haptik uses on
 * every channel. TRACT carries it serialised as a JSON string (`message_body`); the Bot API webhook
 * carries it as an object. These helpers build the string Haptik expects and turn any HSL into
 * readable text for Salesforce agents and transcripts.
 */
export interface HslMessage {
    text: string;
    type: string;
    data?: Record<string, unknown>;
}

/** The serialised HSL string of a plain TEXT message, optionally with quick-reply buttons. */
export function textHsl(text: string, quickReplies: readonly string[] = []): string {
    const message: HslMessage = {
        text,
        type: 'TEXT',
        data: {
            quick_replies: quickReplies.map((reply) => ({
                actionable_text: reply,
                type: 'TEXT_ONLY',
                is_default: 0,
                payload: { message: reply, gogo_message: '' }
            }))
        }
    };
    return JSON.stringify(message);
}

/** Haptik shows at most about 20 characters on a button; longer labels are cut with an ellipsis. */
const BUTTON_LABEL_MAX = 20;

function buttonLabel(label: string): string {
    const chars = [...label];
    return chars.length <= BUTTON_LABEL_MAX ? label : `${chars.slice(0, BUTTON_LABEL_MAX - 1).join('')}…`;
}

/** A `LINK` actionable (haptik.md §A6; Haptik's Button sample): opens `url` outside the chat. */
function linkActionable(label: string, url: string, isDefault: 0 | 1): Record<string, unknown> {
    return {
        actionable_text: buttonLabel(label),
        location_required: false,
        is_default: isDefault,
        uri: 'LINK',
        type: 'APP_ACTION',
        payload: { url, gogo_message: '', message: '' }
    };
}

/**
 * An image to the user (issue 18): Haptik has no image type, an image is a one-item `CAROUSEL` whose
 * `items[0].thumbnail.image` is the URL; tapping it (the default actionable) opens the full picture.
 */
export function imageHsl(url: string, options: { caption?: string; title?: string; openLabel?: string } = {}): string {
    const message: HslMessage = {
        text: options.caption ?? '',
        type: 'CAROUSEL',
        data: {
            image_aspect_ratio: '1',
            width: 'MEDIUM',
            items: [
                {
                    thumbnail: { image: url },
                    title: options.title ?? '',
                    sub_title: '',
                    description: '',
                    actionables: [linkActionable(options.openLabel ?? 'Open', url, 1)]
                }
            ]
        }
    };
    return JSON.stringify(message);
}

/**
 * A document to the user (issue 18): there is no file HSL, so a `BUTTON` whose `LINK` actionable opens the file,
 * the way Haptik's own samples share a PDF; `text` names the file so the user knows what it is.
 */
export function documentHsl(
    url: string,
    fileName: string,
    options: { caption?: string; openLabel?: string } = {}
): string {
    const text = options.caption === undefined || options.caption === '' ? fileName : `${options.caption}\n${fileName}`;
    const message: HslMessage = {
        text,
        type: 'BUTTON',
        data: { items: [linkActionable(options.openLabel ?? 'Open file', url, 0)] }
    };
    return JSON.stringify(message);
}

/**
 * Readable text for an HSL message given as a string, an object or a list of either. A string that
 * is not JSON is plain text already (Haptik sends those too) and comes back unchanged.
 */
export function hslToPlainText(hsl: unknown): string {
    if (typeof hsl === 'string') {
        const trimmed = hsl.trim();
        if (!trimmed.startsWith('{') && !trimmed.startsWith('[')) return hsl;
        try {
            return hslToPlainText(JSON.parse(trimmed) as unknown);
        } catch {
            return hsl;
        }
    }
    if (Array.isArray(hsl)) {
        return hsl
            .map((part) => hslToPlainText(part))
            .filter((part) => part !== '')
            .join('\n');
    }
    if (typeof hsl === 'number' || typeof hsl === 'boolean') return String(hsl);
    if (!isRecord(hsl)) return '';
    return renderElement(hsl);
}

function renderElement(element: Record<string, unknown>): string {
    const text = typeof element.text === 'string' ? element.text : '';
    const type = typeof element.type === 'string' ? element.type.toUpperCase() : 'TEXT';
    const data = isRecord(element.data) ? element.data : {};
    const lines: string[] = text === '' ? [] : [text];
    switch (type) {
        case 'TEXT': {
            const replies = labelsOf(data.quick_replies);
            if (replies.length > 0) lines.push(`Options: ${replies.join(' | ')}`);
            break;
        }
        case 'BUTTON': {
            const buttons = labelsOf(data.items);
            if (buttons.length > 0) lines.push(`Buttons: ${buttons.join(' | ')}`);
            break;
        }
        case 'CAROUSEL': {
            const items = Array.isArray(data.items) ? data.items.filter(isRecord) : [];
            items.forEach((item, index) => lines.push(renderCard(item, index + 1)));
            break;
        }
        default:
            // SYSTEM, FORM, SILENT and future types: their text is what a reader needs.
            break;
    }
    return lines.join('\n');
}

function renderCard(item: Record<string, unknown>, position: number): string {
    const parts = [item.title, item.sub_title, item.description].filter(
        (part): part is string => typeof part === 'string' && part.trim() !== ''
    );
    const actions = labelsOf(item.actionables);
    const card = `[${position}] ${parts.join(' - ')}`.trimEnd();
    return actions.length > 0 ? `${card} (${actions.join(' | ')})` : card;
}

function labelsOf(list: unknown): string[] {
    if (!Array.isArray(list)) return [];
    return list
        .filter(isRecord)
        .map((entry) => entry.actionable_text)
        .filter((label): label is string => typeof label === 'string' && label !== '');
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}
