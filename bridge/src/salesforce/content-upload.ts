/**
 * A file as a ContentVersion, streamed (REST API "Insert or Update Blob Data"): `POST /sobjects/ContentVersion`
 * with a `multipart/form-data` body of two parts, the record's fields as JSON in a part named `entity_content`
 * and the file's bytes in a part named after the blob field, `VersionData`, with the file name. The body is
 * written as the file streams in, never held whole (the JSON form would need it all, base64, within 37.5 MB).
 * A streamed body can be sent once: the caller's retry starts from a new download.
 */
import { multipartBody } from './multipart-upload';

export interface NewFileVersion {
    /** What Salesforce shows as the file's name. */
    title: string;
    /** The "path" the file came from: its extension gives the FileType; the bridge makes it unique per file. */
    pathOnClient: string;
    /** The record the file is shared with at once (Salesforce creates the ContentDocumentLink). */
    firstPublishLocationId: string;
    description?: string;
    fileName: string;
    contentType: string;
    body: AsyncIterable<Uint8Array>;
}

/** The multipart body; `failed` learns an error of the file's own stream (it says what really went wrong). */
export function contentVersionBody(
    boundary: string,
    fields: Record<string, string>,
    file: Pick<NewFileVersion, 'fileName' | 'contentType' | 'body'>,
    failed: (error: unknown) => void
): AsyncGenerator<Uint8Array> {
    return multipartBody(
        boundary,
        { part: 'entity_content', value: fields },
        { part: 'VersionData', ...file, extendedName: false },
        failed
    );
}
