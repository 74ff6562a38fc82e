/**
 * File names and content types of the files the bridge passes on: what a user or agent sees as the name, the
 * type a file is taken for when its server does not say, and whether a type is allowed (BRIDGE_FILE_TYPES).
 */

/** The default of BRIDGE_FILE_TYPES: pictures, PDFs, office documents, plain text, common audio and video. */
export const DEFAULT_FILE_TYPES =
    'image/jpeg,image/png,image/gif,image/webp,image/heic,application/pdf,text/plain,text/csv,' +
    'application/msword,application/vnd.openxmlformats-officedocument.wordprocessingml.document,' +
    'application/vnd.ms-excel,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,' +
    'audio/mpeg,audio/ogg,audio/aac,audio/mp4,video/mp4,video/3gpp';

const BY_EXTENSION: Record<string, string> = {
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    png: 'image/png',
    gif: 'image/gif',
    webp: 'image/webp',
    heic: 'image/heic',
    pdf: 'application/pdf',
    txt: 'text/plain',
    csv: 'text/csv',
    doc: 'application/msword',
    docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    xls: 'application/vnd.ms-excel',
    xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    mp3: 'audio/mpeg',
    ogg: 'audio/ogg',
    opus: 'audio/ogg',
    aac: 'audio/aac',
    m4a: 'audio/mp4',
    mp4: 'video/mp4',
    '3gp': 'video/3gpp'
};

const TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/(?:\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$/;

/** Parses BRIDGE_FILE_TYPES; each problem names the entry. */
export function parseFileTypes(list: string): { types: string[]; problems: string[] } {
    const types: string[] = [];
    const problems: string[] = [];
    for (const raw of list.split(',')) {
        const entry = raw.trim().toLowerCase();
        if (entry === '') continue;
        if (TYPE.test(entry)) types.push(entry);
        else problems.push(`"${entry}" is not a type/subtype or type/* entry`);
    }
    return { types, problems };
}

export function contentTypeAllowed(contentType: string, allowed: readonly string[]): boolean {
    const type = contentType.toLowerCase();
    const major = type.split('/')[0];
    return allowed.some((entry) => entry === type || entry === `${major}/*`);
}

/** The type a file name's extension stands for, when it is one of the common ones. */
export function typeFromName(fileName: string): string | undefined {
    const extension = /\.([a-z0-9]{1,5})$/i.exec(fileName)?.[1]?.toLowerCase();
    return extension === undefined ? undefined : BY_EXTENSION[extension];
}

/** The usual extension of a type (`.pdf` for application/pdf), when it is one of the common ones. */
export function extensionFor(contentType: string): string | undefined {
    const type = contentType.toLowerCase();
    const hit = Object.entries(BY_EXTENSION).find(([, known]) => known === type);
    return hit === undefined ? undefined : `.${hit[0]}`;
}

export function isImageType(contentType: string): boolean {
    return contentType.toLowerCase().startsWith('image/');
}

/**
 * A name safe to show and to put in a multipart header: no path, no control or quote characters, at most
 * 120 characters (the extension kept).
 */
export function safeFileName(name: string, fallback = 'file'): string {
    const base = name.split(/[\\/]/).pop() ?? '';
    // eslint-disable-next-line no-control-regex
    const cleaned = base.replace(/[\u0000-\u001f\u007f"<>|*?:]/g, '_').trim();
    if (cleaned === '' || /^\.+$/.test(cleaned)) return fallback;
    if (cleaned.length <= 120) return cleaned;
    const extension = /\.[A-Za-z0-9]{1,5}$/.exec(cleaned)?.[0] ?? '';
    return cleaned.slice(0, 120 - extension.length) + extension;
}

/** The name from Content-Disposition (`filename*=UTF-8''…` first), else the URL's last path segment. */
export function fileNameOf(contentDisposition: string | undefined, url: URL): string {
    if (contentDisposition !== undefined) {
        const extended = /filename\*\s*=\s*(?:utf-8|iso-8859-1)'[^']*'([^;]+)/i.exec(contentDisposition)?.[1];
        if (extended !== undefined) {
            try {
                return safeFileName(decodeURIComponent(extended.trim()));
            } catch {
                // a broken encoding: fall back to the plain parameter
            }
        }
        const plain = /filename\s*=\s*(?:"([^"]*)"|([^;]+))/i.exec(contentDisposition);
        const value = plain?.[1] ?? plain?.[2];
        if (value !== undefined && value.trim() !== '') return safeFileName(value.trim());
    }
    const segment =
        url.pathname
            .split('/')
            .filter((s) => s !== '')
            .pop() ?? '';
    try {
        return safeFileName(decodeURIComponent(segment));
    } catch {
        return safeFileName(segment);
    }
}
