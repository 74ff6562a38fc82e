/**
 * A `multipart/form-data` body of one JSON part and one file part, written as the file streams in (issue 18):
 * Enhanced Chat's `/file` (parts `messageEntry` + `fileData`) and BYOC's `/interactions` (parts `json` +
 * `attachments`) and Salesforce's ContentVersion insert (`entity_content` + `VersionData`) all take this shape. The file is never assembled in memory; a failure of its stream is
 * reported through `failed` before the body errors, because fetch wraps it in a bare `TypeError: fetch failed`.
 */
import { BridgeError } from '../core/errors';
import { safeFileName } from '../files/file-names';

export interface MultipartFilePart {
    /** The form field name of the file part. */
    part: string;
    fileName: string;
    contentType: string;
    body: AsyncIterable<Uint8Array>;
    /**
     * Also give the name as `filename*` (RFC 5987, UTF-8). Default true; Salesforce's REST blob insert is
     * documented with `filename` alone, and gets only that.
     */
    extendedName?: boolean;
}

/** The BridgeError a stream raised inside fetch (fetch wraps it in `TypeError: fetch failed`). */
export function bridgeCause(error: unknown): BridgeError | undefined {
    let current: unknown = error;
    for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
        if (current instanceof BridgeError) return current;
        current = (current as { cause?: unknown }).cause;
    }
    return undefined;
}

/** A quoted multipart parameter value: no quotes, backslashes or line breaks can break out of it. */
function quoted(value: string): string {
    return `"${value.replace(/["\\\r\n]/g, '_')}"`;
}

/** `type/subtype` as given when it is one, else `application/octet-stream` (nothing can break the header). */
export function partContentType(contentType: string): string {
    return /^[\w.+-]+\/[\w.+-]+$/.test(contentType) ? contentType : 'application/octet-stream';
}

export async function* multipartBody(
    boundary: string,
    json: { part: string; value: unknown },
    file: MultipartFilePart,
    failed: (error: unknown) => void
): AsyncGenerator<Uint8Array> {
    const name = safeFileName(file.fileName);
    yield Buffer.from(
        `--${boundary}\r\n` +
            `Content-Disposition: form-data; name="${json.part}"\r\n` +
            'Content-Type: application/json\r\n\r\n' +
            `${JSON.stringify(json.value)}\r\n` +
            `--${boundary}\r\n` +
            `Content-Disposition: form-data; name="${file.part}"; filename=${quoted(name)}${file.extendedName === false ? '' : `; filename*=UTF-8''${encodeURIComponent(name)}`}\r\n` +
            `Content-Type: ${partContentType(file.contentType)}\r\n\r\n`,
        'utf8'
    );
    try {
        for await (const chunk of file.body) yield chunk;
    } catch (error) {
        failed(error);
        throw error;
    }
    yield Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
}
