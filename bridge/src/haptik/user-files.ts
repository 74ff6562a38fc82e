/**
 * THE place that decides whether a user's TRACT message carries a file, and where that file is (issue 18).
 *
 * Haptik does not document how the TRACT message hook encodes a user's upload. Until it does, the bridge accepts
 * the shapes Haptik's HSL can carry a file in (haptik.md §A6; schemas in payloads.ts), and nothing else:
 *
 * 1. `CAROUSEL` cards: `data.items[].thumbnail.image` is an image (from any host: the fetcher decides whether
 *    it may be downloaded; a refused one reaches the agent as a link).
 * 2. `LINK` actionables (`uri: "LINK"`, `payload.url`) in `data.items[]` (BUTTON) or in a card's `actionables[]`,
 *    when the URL is on a file host (BRIDGE_FILE_HOSTS): a document, or an image by its extension.
 * 3. A file-typed element (`type` IMAGE, FILE, DOCUMENT, AUDIO, VIDEO or ATTACHMENT) with `data.url`,
 *    `data.image`, `data.file_url` or `data.media_url` (not in Haptik's docs; other chat tools use it).
 * 4. URLs on a file host inside the text (a plain-text message, or an element's `text`): Haptik's channels
 *    hand an upload on as a link to its asset host.
 *
 * A link to any other host in the text is just text: it is relayed as the user wrote it. If real traffic shows
 * another shape, correct it here (and its test, test/haptik/user-files.test.ts); nothing else needs to change.
 */
import type { HostRule } from '../files/host-rules';
import { matchHostRule } from '../files/host-rules';
import { safeFileName, typeFromName } from '../files/file-names';
import { hslActionableSchema, hslElementSchema, hslItemSchema, MAX_FILE_URL_LENGTH } from './payloads';

export interface UserFileRef {
    url: string;
    kind: 'image' | 'document';
    /** A name to show: the card title or the URL's last path segment. */
    name: string;
    /** Which of the shapes above it came from (for logs and the transcript). */
    source: 'carousel' | 'link' | 'file_element' | 'text';
}

export interface UserUpload {
    files: UserFileRef[];
    /** What the user wrote besides the files (their URLs taken out); may be empty. */
    caption: string;
}

/** More files than this in one message are not taken as an upload: the message goes on as text. */
export const MAX_FILES_PER_MESSAGE = 10;

const FILE_TYPES = new Set(['IMAGE', 'FILE', 'DOCUMENT', 'AUDIO', 'VIDEO', 'ATTACHMENT']);
const URL_IN_TEXT = /https?:\/\/[^\s<>"']+/gi;

function httpUrl(raw: string | null | undefined): URL | undefined {
    if (raw === undefined || raw === null || raw === '' || raw.length > MAX_FILE_URL_LENGTH) return undefined;
    if (!URL.canParse(raw)) return undefined;
    const url = new URL(raw);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
}

function onFileHost(url: URL, hosts: readonly HostRule[]): boolean {
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    return matchHostRule(hosts, url.hostname, port) !== undefined;
}

function refOf(url: URL, source: UserFileRef['source'], title?: string | null, image = false): UserFileRef {
    const segment =
        url.pathname
            .split('/')
            .filter((part) => part !== '')
            .pop() ?? '';
    let decoded = segment;
    try {
        decoded = decodeURIComponent(segment);
    } catch {
        // keep the raw segment
    }
    const fromUrl = safeFileName(decoded, image ? 'image' : 'file');
    const name = title !== undefined && title !== null && title.trim() !== '' ? safeFileName(title.trim()) : fromUrl;
    const isImage = image || (typeFromName(fromUrl) ?? '').startsWith('image/');
    return { url: url.toString(), kind: isImage ? 'image' : 'document', name, source };
}

/** Files of one HSL element, and the text it carries. */
function fromElement(raw: unknown, hosts: readonly HostRule[]): { files: UserFileRef[]; text: string } {
    const parsed = hslElementSchema.safeParse(raw);
    if (!parsed.success) return { files: [], text: '' };
    const element = parsed.data;
    const files: UserFileRef[] = [];
    const data = element.data ?? undefined;
    const linkOf = (actionable: unknown, title?: string | null): void => {
        const link = hslActionableSchema.safeParse(actionable);
        if (!link.success || (link.data.uri ?? '').toUpperCase() !== 'LINK') return;
        const url = httpUrl(link.data.payload?.url);
        if (url !== undefined && onFileHost(url, hosts)) files.push(refOf(url, 'link', title));
    };
    for (const rawItem of data?.items ?? []) {
        const item = hslItemSchema.safeParse(rawItem);
        if (!item.success) continue;
        const image = httpUrl(item.data.thumbnail?.image);
        if (image !== undefined) files.push(refOf(image, 'carousel', item.data.title, true));
        linkOf(rawItem);
        for (const actionable of item.data.actionables ?? []) {
            // A card's own "open" button repeats its image: one file, not two.
            const link = hslActionableSchema.safeParse(actionable);
            if (link.success && image !== undefined && link.data.payload?.url === item.data.thumbnail?.image) continue;
            linkOf(actionable, item.data.title);
        }
    }
    if (FILE_TYPES.has((element.type ?? '').toUpperCase())) {
        const url = httpUrl(data?.url ?? data?.file_url ?? data?.media_url ?? data?.image);
        if (url !== undefined) {
            const image = (element.type ?? '').toUpperCase() === 'IMAGE';
            files.push(refOf(url, 'file_element', data?.file_name ?? data?.name, image));
        }
    }
    return { files, text: element.text ?? '' };
}

/** URLs on a file host in free text, and the text without them. */
function fromText(text: string, hosts: readonly HostRule[]): { files: UserFileRef[]; rest: string } {
    const files: UserFileRef[] = [];
    const rest = text.replace(URL_IN_TEXT, (match) => {
        // Sentence punctuation after a URL belongs to the sentence.
        const trailing = /[).,;:!?]+$/.exec(match)?.[0] ?? '';
        const url = httpUrl(match.slice(0, match.length - trailing.length));
        if (url === undefined || !onFileHost(url, hosts)) return match;
        files.push(refOf(url, 'text'));
        return trailing;
    });
    return { files, rest: rest.replace(/[ \t]+/g, ' ').trim() };
}

/**
 * The files a user's message carries, or undefined when it carries none (then it is an ordinary text message).
 * `messageBody` is the TRACT `message_body`: serialised HSL, or plain text.
 */
export function parseUserUpload(messageBody: string, hosts: readonly HostRule[]): UserUpload | undefined {
    const trimmed = messageBody.trim();
    let elements: unknown[] | undefined;
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
        try {
            const json = JSON.parse(trimmed) as unknown;
            elements = Array.isArray(json) ? json : [json];
        } catch {
            elements = undefined;
        }
    }
    const files: UserFileRef[] = [];
    const texts: string[] = [];
    for (const element of elements ?? []) {
        const found = fromElement(element, hosts);
        const inText = fromText(found.text, hosts);
        files.push(...found.files, ...inText.files);
        if (inText.rest !== '') texts.push(inText.rest);
    }
    if (elements === undefined) {
        const inText = fromText(messageBody, hosts);
        files.push(...inText.files);
        if (inText.rest !== '') texts.push(inText.rest);
    }
    const unique = files.filter((file, index) => files.findIndex((other) => other.url === file.url) === index);
    if (unique.length === 0 || unique.length > MAX_FILES_PER_MESSAGE) return undefined;
    const names = new Set(unique.map((file) => file.name));
    return { files: unique, caption: texts.filter((text) => !names.has(text)).join('\n') };
}
