/**
 * REST API "Insert or Update Blob Data" in the Salesforce emulator: a `multipart/form-data` body whose first part
 * holds the record's fields as JSON (named `entity_content` for ContentVersion, `entity_document` for Document…)
 * and whose one binary part (a part with a file name) holds the blob field's bytes (`VersionData`). Parsed with
 * busboy from the request's bytes; the answers to a malformed body are the ones Salesforce gives:
 * `[{"message":"Multipart message must include a non-binary part","errorCode":"INVALID_MULTIPART_REQUEST"}]`,
 * `Cannot include more than one binary part`, and 415 `UNSUPPORTED_MEDIA_TYPE` for another multipart type.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import busboy from 'busboy';

export interface MultipartPart {
    name: string;
    /** A binary part: one with a file name, or typed application/octet-stream (busboy's rule). */
    binary: boolean;
    mimeType: string;
    data: Buffer;
}

/** An answer Salesforce gives to a blob insert it refuses. */
export interface BlobFailure {
    ok: false;
    status: number;
    error: BlobError;
}

export type MultipartBody = { ok: true; parts: MultipartPart[] } | BlobFailure;

export interface BlobError {
    message: string;
    errorCode: string;
    fields?: string[];
}

/** The blob field of the objects that have one, and the name of their JSON part. */
export const BLOB_OBJECTS: Readonly<Record<string, { field: string; entityPart: string }>> = {
    ContentVersion: { field: 'VersionData', entityPart: 'entity_content' },
    Document: { field: 'Body', entityPart: 'entity_document' },
    Attachment: { field: 'Body', entityPart: 'entity_attachment' }
};

const multipartError = (message: string): BlobFailure => ({
    ok: false,
    status: 400,
    error: { message, errorCode: 'INVALID_MULTIPART_REQUEST' }
});

export function isMultipart(headers: IncomingHttpHeaders): boolean {
    return /^multipart\//i.test(headers['content-type'] ?? '');
}

/** Splits a buffered multipart body into its parts. */
export function parseMultipart(headers: IncomingHttpHeaders, bytes: Buffer): Promise<MultipartBody> {
    const type = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (type !== 'multipart/form-data') {
        return Promise.resolve({
            ok: false,
            status: 415,
            error: {
                message: `MediaType of '${type}' is not supported by this resource`,
                errorCode: 'UNSUPPORTED_MEDIA_TYPE'
            }
        });
    }
    return new Promise((resolve) => {
        let parser: busboy.Busboy;
        try {
            parser = busboy({ headers, defParamCharset: 'utf8' });
        } catch {
            resolve(multipartError('Unable to parse the multipart request: no boundary'));
            return;
        }
        const parts: MultipartPart[] = [];
        const pending: Array<Promise<void>> = [];
        parser.on('field', (name, value, info) => {
            parts.push({ name, binary: false, mimeType: info.mimeType, data: Buffer.from(value, 'utf8') });
        });
        parser.on('file', (name, stream, info) => {
            const chunks: Buffer[] = [];
            stream.on('data', (chunk: Buffer) => chunks.push(chunk));
            pending.push(
                new Promise((done) =>
                    stream.on('end', () => {
                        parts.push({ name, binary: true, mimeType: info.mimeType, data: Buffer.concat(chunks) });
                        done();
                    })
                )
            );
        });
        parser.on('error', () => resolve(multipartError('Unable to parse the multipart request')));
        parser.on('close', () => {
            void Promise.all(pending).then(() => resolve({ ok: true, parts }));
        });
        Readable.from([bytes]).pipe(parser);
    });
}

/**
 * The record an insert with blob data describes: the JSON part's fields and the blob field's bytes (base64, as the
 * emulator stores VersionData), or the error Salesforce answers.
 */
export function blobInsertFields(type: string, body: MultipartBody): { ok: true; fields: unknown } | BlobFailure {
    if (!body.ok) return body;
    const blob = BLOB_OBJECTS[type];
    if (blob === undefined) {
        return {
            ok: false,
            status: 415,
            error: {
                message: "MediaType of 'multipart/form-data' is not supported by this resource",
                errorCode: 'UNSUPPORTED_MEDIA_TYPE'
            }
        };
    }
    const binary = body.parts.filter((part) => part.binary);
    const entity = body.parts.find((part) => !part.binary && part.name === blob.entityPart);
    if (entity === undefined) return multipartError('Multipart message must include a non-binary part');
    if (binary.length > 1) return multipartError('Cannot include more than one binary part');
    let fields: unknown;
    try {
        fields = JSON.parse(entity.data.toString('utf8'));
    } catch (error) {
        return {
            ok: false,
            status: 400,
            error: {
                message: `Unexpected character: ${error instanceof Error ? error.message : ''}`,
                errorCode: 'JSON_PARSER_ERROR'
            }
        };
    }
    if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
        return {
            ok: false,
            status: 400,
            error: { message: 'The entity part must be a JSON object', errorCode: 'JSON_PARSER_ERROR' }
        };
    }
    const file = binary[0];
    if (file === undefined) return { ok: true, fields };
    if (file.name !== blob.field) {
        return {
            ok: false,
            status: 400,
            error: {
                message: `No such column '${file.name}' on sobject of type ${type}`,
                errorCode: 'INVALID_FIELD',
                fields: []
            }
        };
    }
    return { ok: true, fields: { ...(fields as Record<string, unknown>), [blob.field]: file.data.toString('base64') } };
}
