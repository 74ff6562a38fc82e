/**
 * Files in Enhanced Chat (issue 18).
 *
 * User → agent: `POST /iamessage/api/v2/conversation/{conversationId}/file`, `multipart/form-data` with a JSON part
 * `messageEntry` (`{esDeveloperName, message: {id, fileId, text, inReplyToMessageId?}, isNewMessagingSession?}`)
 * and a binary part `fileData` with the file name; 202 when taken, 413 too large, 415 type not allowed. The body
 * is written as the file streams in, never assembled in memory. Because a stream can be read once, an upload is
 * one try: the caller (the outbox) retries the whole job, download included, when the error is retryable.
 *
 * Agent → user: an attachment's `url` is fetched with the conversation's token (whether Salesforce needs it or
 * lets the URL expire is not documented: assume both). The token goes only to the deployment's own host or a
 * Salesforce domain, never to a host an event happens to name.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { BridgeError } from '../../core/errors';
import type { BridgeErrorCode } from '../../core/errors';
import type { IncomingFile } from '../../core/handover/chat-port';
import { bridgeCause, multipartBody } from '../multipart-upload';
import type { FetchLike } from './scrt-client';

export interface FileUpload {
    /** Lower-case UUID of the message entry (stable across retries: the service drops a repeat). */
    messageId: string;
    /** Lower-case UUID of the file. */
    fileId: string;
    fileName: string;
    contentType: string;
    body: AsyncIterable<Uint8Array>;
    /** Caption; Salesforce's clients send an empty text with a bare file. */
    text?: string;
    inReplyToMessageId?: string;
    isNewMessagingSession?: boolean;
}

interface UploadContext {
    base: string;
    url: string;
    esDeveloperName: string;
    fetch: FetchLike;
    timeoutMs: number;
}

/** Hosts an attachment URL may be on to get the conversation's token, besides the deployment's own. */
const SALESFORCE_FILE_DOMAINS = ['.salesforce.com', '.force.com', '.salesforce-scrt.com', '.documentforce.com'];

const chatError = (code: BridgeErrorCode, message: string, details: Record<string, unknown>, cause?: unknown) =>
    new BridgeError(code, message, { details, ...(cause === undefined ? {} : { cause }) });

/** Sends one file; resolves on 2xx, else throws with `details.retryable` (see the header). */
export async function uploadFile(
    context: UploadContext,
    accessToken: string,
    upload: FileUpload,
    signal?: AbortSignal
): Promise<void> {
    const boundary = `haptik-bridge-${randomUUID()}`;
    const entry = {
        esDeveloperName: context.esDeveloperName,
        message: {
            id: upload.messageId,
            fileId: upload.fileId,
            text: upload.text ?? '',
            ...(upload.inReplyToMessageId === undefined ? {} : { inReplyToMessageId: upload.inReplyToMessageId })
        },
        ...(upload.isNewMessagingSession === undefined ? {} : { isNewMessagingSession: upload.isNewMessagingSession })
    };
    const timeout = AbortSignal.timeout(context.timeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([timeout, signal]);
    const details = { operation: 'send_file' };
    let response: Response;
    let sourceError: unknown;
    try {
        response = await context.fetch(`${context.base}${context.url}`, {
            method: 'POST',
            headers: {
                Accept: 'application/json',
                Authorization: `Bearer ${accessToken}`,
                'Content-Type': `multipart/form-data; boundary=${boundary}`
            },
            body: Readable.from(
                multipartBody(
                    boundary,
                    { part: 'messageEntry', value: entry },
                    { part: 'fileData', fileName: upload.fileName, contentType: upload.contentType, body: upload.body },
                    (error) => {
                        sourceError = error;
                    }
                )
            ),
            duplex: 'half',
            signal: combined
        });
    } catch (error) {
        // The file's own stream failed (too large on the way, its host timed out): that error says what happened.
        const fromFile = bridgeCause(sourceError) ?? bridgeCause(error);
        if (fromFile !== undefined) throw fromFile;
        if (timeout.aborted) {
            throw chatError(
                'bridge_chat_timeout',
                'send_file: no answer in time',
                { ...details, retryable: true },
                error
            );
        }
        throw chatError(
            'bridge_chat_unavailable',
            'send_file: Salesforce unreachable',
            { ...details, retryable: true },
            error
        );
    }
    await response.text().catch(() => '');
    const status = response.status;
    if (status >= 200 && status < 300) return;
    const withStatus = { ...details, status };
    if (status === 401) {
        throw chatError('bridge_chat_unauthorized', 'send_file: access token rejected', {
            ...withStatus,
            retryable: true
        });
    }
    if (status === 413) {
        throw chatError('bridge_chat_file_too_large', 'send_file: Salesforce refused the file as too large', {
            ...withStatus,
            retryable: false
        });
    }
    if (status === 415) {
        throw chatError('bridge_chat_file_type_refused', 'send_file: Salesforce does not allow this file type', {
            ...withStatus,
            retryable: false
        });
    }
    if (status === 429 || status >= 500) {
        throw chatError(
            status === 429 ? 'bridge_chat_throttled' : 'bridge_chat_unavailable',
            `send_file: Salesforce answered ${status}`,
            { ...withStatus, retryable: true }
        );
    }
    if (status === 400 || status === 403) {
        // Most often the deployment does not allow uploads: a link is the way to get the file to the agent.
        throw chatError('bridge_chat_file_refused', `send_file: Salesforce refused the upload (${status})`, {
            ...withStatus,
            retryable: false
        });
    }
    throw chatError('bridge_chat_rejected', `send_file: Salesforce answered ${status}`, {
        ...withStatus,
        retryable: false
    });
}

/** Whether an attachment URL may get the conversation's token. */
export function attachmentUrlAllowed(base: string, raw: string): boolean {
    if (!URL.canParse(raw)) return false;
    const url = new URL(raw);
    if (url.username !== '' || url.password !== '') return false;
    if (url.origin === new URL(base).origin) return true;
    const host = url.hostname.toLowerCase();
    return url.protocol === 'https:' && SALESFORCE_FILE_DOMAINS.some((domain) => host.endsWith(domain));
}

/**
 * Opens an attachment with the conversation's token (none: no Authorization header, for a public link such as
 * BYOC's); the body streams, within `timeoutMs` in all.
 */
export async function openAttachment(
    context: { base: string; fetch: FetchLike; timeoutMs: number },
    accessToken: string | undefined,
    url: string,
    signal?: AbortSignal
): Promise<IncomingFile> {
    const details = { operation: 'open_file' };
    if (!attachmentUrlAllowed(context.base, url)) {
        throw chatError('bridge_files_host_refused', 'The attachment URL is not on a Salesforce host', {
            ...details,
            retryable: false,
            httpStatus: 410
        });
    }
    const timeout = AbortSignal.timeout(context.timeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([timeout, signal]);
    let response: Response;
    try {
        response = await context.fetch(url, {
            method: 'GET',
            headers: {
                ...(accessToken === undefined ? {} : { Authorization: `Bearer ${accessToken}` }),
                Accept: '*/*'
            },
            signal: combined
        });
    } catch (error) {
        throw chatError(
            'bridge_files_unavailable',
            'Salesforce could not be reached for the file',
            { ...details, retryable: true },
            error
        );
    }
    const status = response.status;
    if (status >= 200 && status < 300 && response.body !== null) {
        const length = Number(response.headers.get('content-length') ?? Number.NaN);
        const type = response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
        return {
            body: Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
            ...(type === undefined || type === '' ? {} : { contentType: type }),
            ...(Number.isSafeInteger(length) && length >= 0 ? { contentLength: length } : {})
        };
    }
    await response.body?.cancel().catch(() => undefined);
    if (status === 401) {
        throw chatError('bridge_chat_unauthorized', 'open_file: access token rejected', {
            ...details,
            status,
            retryable: true
        });
    }
    if (status === 403 || status === 404 || status === 410) {
        throw chatError('bridge_files_gone', 'The file is no longer available in the chat', {
            ...details,
            status,
            retryable: false,
            httpStatus: 410
        });
    }
    throw chatError('bridge_files_unavailable', 'Salesforce could not be reached for the file', {
        ...details,
        status,
        retryable: status === 429 || status >= 500
    });
}
