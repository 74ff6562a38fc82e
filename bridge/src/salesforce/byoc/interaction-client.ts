/**
 * The Interaction Service API calls the bridge makes (salesforce.md §3.3; salesforce-misc/interaction-service-apis
 * @ be9d014, inbound-interaction-api.yaml and README.md): `POST /api/v1/interactions` (multipart, a `json` part),
 * `/conversationHistory`, `/acknowledgement`, `/messagingSession`, `PATCH /capabilities`. Every call carries
 * `Authorization: Bearer`, `OrgId` (15 characters), `AuthorizationContext` (the ConversationChannelDefinition) and
 * a fresh `RequestId` UUID. Errors come back as `{code, message}` with the ERRORCODES.md codes; a 5xx, a network
 * failure or a timeout is retried with backoff, a 401 renews the token once, anything else is final.
 *
 * Files (issue 18 on BYOC). User → agent: an `AttachmentInteraction` (README "Interaction request with file
 * attachment"; inbound-interaction-api.yaml `AttachmentInteraction` {id, attachmentIndex, contentLength, text},
 * `InteractionRequest.attachments` ≤ 1 binary part): the `json` part, then the `attachments` part streamed as the
 * file arrives. One try per call (the body streams once; the outbox retries the whole job). The developer guide's
 * "File Attachment Interaction" page: one file at a time, at most 25 MB, images/PDF/audio/video; a success only
 * means Salesforce took the file and uploads it asynchronously (the result comes as a `MessageUpdated` event).
 * ERRORCODES.md: 10008 larger than 25 MB, 10095 MIME type not determinable, 10009 empty, 10010/10051 missing or
 * wrong contentLength, 10073 a message id used before (an earlier try of this same file was taken).
 *
 * Agent → user: an attachment's `url` is, in every documented example, a Content Delivery public link
 * (`…documentforce.com/sfc/dist/version/download/?oid=…&ids=068…&d=…`; the README calls it the "public URL of
 * the uploaded file", and salesforce-misc/byoc-ott-demo-app hands it to the browser as is). So it is fetched
 * without credentials; only if Salesforce answers 401 is it fetched again with the channel's token, and only ever
 * on the SCRT host or a Salesforce domain. Whether and when such a link expires is the org's (ContentDistribution
 * expiry) and not documented: an expired or deleted link is "gone", and so is an HTML page in place of a file
 * (what a browser is shown for a link that no longer works) unless the attachment is itself HTML.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { BridgeError, isBridgeError } from '../../core/errors';
import type { BridgeErrorCode } from '../../core/errors';
import type { IncomingFile } from '../../core/handover/chat-port';
import type { Logger } from '../../observability/logger';
import { openAttachment as openFile } from '../enhanced-chat/file-upload';
import { bridgeCause, multipartBody } from '../multipart-upload';
import type { ByocAuth } from './byoc-auth';

export interface InteractionClientOptions {
    scrtUrl: string;
    orgId: string;
    channelAddress: string;
    channelDefinition: string;
    auth: ByocAuth;
    logger: Logger;
    fetch?: typeof fetch;
    retry?: { attempts: number; baseMs: number; maxMs: number };
    requestTimeoutMs?: number;
    /** A whole file upload or download, body included (default 60 s). */
    fileTimeoutMs?: number;
}

export interface Participant {
    appType: 'custom' | 'chatbot' | 'agent';
    subject: string;
    role: 'EndUser' | 'Chatbot' | 'Agent';
}

export interface HistoryEntry {
    role: 'EndUser' | 'Chatbot';
    text: string;
    at: number;
}

/** An end user's file for `sendAttachment`; `contentLength` must be the exact number of bytes `body` gives. */
export interface AttachmentUpload {
    /** The interaction's id (a UUID, stable across retries: Salesforce answers 10073 to a repeat). */
    id: string;
    fileName: string;
    contentType: string;
    contentLength: number;
    body: AsyncIterable<Uint8Array>;
    text?: string;
    at: number;
}

/** The documented largest attachment (25 MB; ERRORCODES.md 10008). A known larger file is not sent at all. */
export const MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024;

/**
 * "Supported File Types for File Attachments" (developer guide, File Attachment Interaction). Salesforce takes a
 * file before it uploads it, and reports a failure only later in a `MessageUpdated` event: a file of another type
 * is therefore not sent at all (the agent gets a link), rather than risk one that silently never arrives.
 */
export const DOCUMENTED_ATTACHMENT_TYPES: readonly string[] = [
    'image/jpeg',
    'image/gif',
    'image/bmp',
    'image/png',
    'application/pdf',
    'video/3gpp2',
    'audio/3gpp2',
    'video/3gpp',
    'audio/3gpp',
    'video/mpeg',
    'audio/mpeg',
    'video/mp4',
    'audio/mp4'
];

/** The `{code, message}` of a refused call, in `details` of a `bridge_chat_rejected`. */
export interface InteractionRefusal {
    status: number;
    code?: number;
}

export interface InteractionClient {
    /** An end user's text; `routingAttributes` only with the first message of a session. */
    sendText(
        from: string,
        message: { id: string; text: string; at: number },
        routingAttributes?: Record<string, string>
    ): Promise<{ conversationIdentifier?: string; workItemIds: string[] }>;
    sendTyping(from: string, typing: boolean, at: number): Promise<void>;
    /** Imports the bot's conversation into a new session (BYOC for CCaaS; 10057 elsewhere). */
    importHistory(
        from: string,
        botName: string,
        entries: HistoryEntry[],
        now: number
    ): Promise<{ conversationIdentifier?: string; messagingSessionId?: string }>;
    acknowledge(
        conversationIdentifier: string,
        from: string,
        acks: Array<{ entryId: string; type: 'Delivered' | 'Read'; at: number }>
    ): Promise<void>;
    endSession(from: string, conversationIdentifier: string): Promise<void>;
    registerCapabilities(capabilities: unknown): Promise<void>;
    /**
     * Streams an end user's file into the conversation (one try; see the header). Final refusals:
     * `bridge_chat_file_too_large`, `bridge_chat_file_type_refused`, `bridge_chat_file_empty`,
     * `bridge_chat_file_refused` (any other refusal: a link gets the file to the agent), and `bridge_chat_rejected`
     * with `code` 10073 (this id was taken before).
     */
    sendAttachment(from: string, upload: AttachmentUpload, signal?: AbortSignal): Promise<void>;
    /** Opens an agent's attachment URL (see the header); `expectedType` is the type the event gave. */
    openAttachment(url: string, expectedType: string | undefined, signal?: AbortSignal): Promise<IncomingFile>;
}

/** Codes whose message says to try again later (org migration, a precondition or a downstream timeout). */
const RETRY_LATER_CODES = new Set([10019, 10055, 10056, 10094]);

const fileError = (
    code: BridgeErrorCode,
    message: string,
    details: Record<string, unknown>,
    cause?: unknown
): BridgeError => new BridgeError(code, message, { details, ...(cause === undefined ? {} : { cause }) });

/** The error of a refused attachment upload (status and Interaction Service code), by the documented codes. */
function attachmentRefusal(status: number, code: number | undefined): BridgeError {
    const details = { operation: 'byoc_attachment', status, ...(code === undefined ? {} : { code }) };
    if (status === 429 || status >= 500 || (code !== undefined && RETRY_LATER_CODES.has(code))) {
        return fileError(
            status === 429 ? 'bridge_chat_throttled' : 'bridge_chat_unavailable',
            `byoc_attachment: the Interaction Service answered ${status}`,
            { ...details, retryable: true }
        );
    }
    if (code === 10073) {
        return fileError('bridge_chat_rejected', 'byoc_attachment: this attachment id was taken before', {
            ...details,
            retryable: false
        });
    }
    if (code === 10008 || status === 413) {
        return fileError('bridge_chat_file_too_large', 'byoc_attachment: Salesforce refused the file as too large', {
            ...details,
            retryable: false
        });
    }
    if (code === 10095 || status === 415) {
        return fileError('bridge_chat_file_type_refused', 'byoc_attachment: Salesforce does not take this file type', {
            ...details,
            retryable: false
        });
    }
    if (code === 10009) {
        return fileError('bridge_chat_file_empty', 'byoc_attachment: Salesforce refused an empty file', {
            ...details,
            retryable: false
        });
    }
    // Anything else (attachments not enabled on the channel, a payload the org does not take): a link still gets
    // the file to the agent, where a retry would only be refused again.
    return fileError('bridge_chat_file_refused', `byoc_attachment: Salesforce refused the file (HTTP ${status})`, {
        ...details,
        retryable: false
    });
}

/** Cuts the body off when it gives more or fewer bytes than the contentLength announced (10051 otherwise). */
async function* exactly(body: AsyncIterable<Uint8Array>, length: number): AsyncGenerator<Uint8Array> {
    let seen = 0;
    const wrong = (): BridgeError =>
        fileError('bridge_files_length_mismatch', 'The file did not have the size its source announced', {
            operation: 'byoc_attachment',
            expected: length,
            retryable: true
        });
    for await (const chunk of body) {
        seen += chunk.length;
        if (seen > length) throw wrong();
        yield chunk;
    }
    if (seen !== length) throw wrong();
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function createInteractionClient(options: InteractionClientOptions): InteractionClient {
    const base = `${options.scrtUrl.replace(/\/+$/, '')}/api/v1`;
    const doFetch = options.fetch ?? fetch;
    const retry = options.retry ?? { attempts: 5, baseMs: 250, maxMs: 5000 };
    const timeoutMs = options.requestTimeoutMs ?? 15_000;
    const fileTimeoutMs = options.fileTimeoutMs ?? 60_000;

    const call = async (
        operation: string,
        method: 'POST' | 'PATCH',
        path: string,
        body: { json: unknown } | { multipart: unknown }
    ): Promise<Record<string, unknown>> => {
        let last: BridgeError | undefined;
        let renewed = false;
        for (let attempt = 0; attempt < retry.attempts; attempt++) {
            if (attempt > 0) await sleep(Math.min(retry.maxMs, retry.baseMs * 2 ** (attempt - 1)));
            const token = await options.auth.token();
            let payload: string | FormData;
            const headers: Record<string, string> = {
                Authorization: `Bearer ${token.accessToken}`,
                OrgId: options.orgId.slice(0, 15),
                AuthorizationContext: options.channelDefinition,
                RequestId: randomUUID(),
                Accept: 'application/json'
            };
            if ('multipart' in body) {
                // The documented shape: a `json` form part of type application/json (README curl `-F json=…;type=application/json`).
                payload = new FormData();
                payload.append('json', new Blob([JSON.stringify(body.multipart)], { type: 'application/json' }));
            } else {
                payload = JSON.stringify(body.json);
                headers['Content-Type'] = 'application/json';
            }
            let response: Response;
            try {
                response = await doFetch(`${base}${path}`, {
                    method,
                    headers,
                    body: payload,
                    signal: AbortSignal.timeout(timeoutMs)
                });
            } catch (error) {
                last = new BridgeError(
                    'bridge_chat_unavailable',
                    `${operation}: the Interaction Service is unreachable`,
                    {
                        cause: error,
                        details: { operation, retryable: true }
                    }
                );
                continue;
            }
            const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
            if (response.ok) return answer;
            const code = typeof answer['code'] === 'number' ? answer['code'] : undefined;
            if (response.status === 401 && !renewed) {
                renewed = true;
                options.auth.invalidate(token.accessToken);
                attempt -= 1;
                continue;
            }
            const refusal = { status: response.status, ...(code === undefined ? {} : { code }) };
            if (response.status >= 500 || response.status === 429) {
                last = new BridgeError(
                    'bridge_chat_unavailable',
                    `${operation}: the Interaction Service answered ${response.status}`,
                    {
                        details: { operation, retryable: true, ...refusal }
                    }
                );
                options.logger.warn({ operation, attempt, ...refusal }, 'BYOC interaction call failed; retrying');
                continue;
            }
            throw new BridgeError(
                response.status === 401 || response.status === 403
                    ? 'bridge_chat_unauthorized'
                    : 'bridge_chat_rejected',
                `${operation}: the Interaction Service refused the call (HTTP ${response.status}${code === undefined ? '' : `, code ${code}`})`,
                { details: { operation, retryable: false, ...refusal } }
            );
        }
        throw (
            last ??
            new BridgeError('bridge_chat_unavailable', `${operation}: no attempt made`, {
                details: { operation, retryable: true }
            })
        );
    };

    const endUser = (from: string): Participant => ({ appType: 'custom', subject: from, role: 'EndUser' });

    const interaction = (
        from: string,
        payload: Record<string, unknown>,
        at: number,
        routingAttributes?: Record<string, string>
    ) => ({
        to: options.channelAddress,
        from,
        ...(routingAttributes === undefined || Object.keys(routingAttributes).length === 0
            ? {}
            : { routingAttributes }),
        interactions: [{ timestamp: at, interactionType: 'EntryInteraction', payload }]
    });

    return {
        async sendText(from, message, routingAttributes) {
            const answer = await call('byoc_message', 'POST', '/interactions', {
                multipart: interaction(
                    from,
                    {
                        id: message.id,
                        entryType: 'Message',
                        abstractMessage: {
                            messageType: 'StaticContentMessage',
                            id: message.id,
                            staticContent: { formatType: 'Text', text: message.text }
                        }
                    },
                    message.at,
                    routingAttributes
                )
            });
            return {
                ...(typeof answer['conversationIdentifier'] === 'string'
                    ? { conversationIdentifier: answer['conversationIdentifier'] }
                    : {}),
                workItemIds: Array.isArray(answer['workItemIds']) ? answer['workItemIds'].map(String) : []
            };
        },

        async sendTyping(from, typing, at) {
            await call('byoc_typing', 'POST', '/interactions', {
                multipart: interaction(
                    from,
                    {
                        id: randomUUID(),
                        entryType: typing ? 'TypingStartedIndicator' : 'TypingStoppedIndicator',
                        timestamp: at
                    },
                    at
                )
            });
        },

        async importHistory(from, botName, entries, now) {
            const first = entries[0]?.at ?? now;
            const bot: Participant = { appType: 'chatbot', subject: 'haptik-bot', role: 'Chatbot' };
            // inbound-interaction-api.yaml AddConversationHistoryRequest: ≤ 25 entries, a chatbot has a leftTime.
            const answer = await call('byoc_history', 'POST', '/conversationHistory', {
                json: {
                    channelAddressIdentifier: options.channelAddress,
                    conversationParticipants: [
                        { participant: endUser(from), joinedTime: first },
                        { participant: bot, displayName: botName, joinedTime: first, leftTime: now }
                    ],
                    conversationEntries: entries.slice(-25).map((entry) => {
                        const id = randomUUID();
                        return {
                            clientTimestamp: entry.at,
                            sender: entry.role === 'EndUser' ? endUser(from) : bot,
                            entryPayload: {
                                id,
                                entryType: 'Message',
                                abstractMessage: {
                                    messageType: 'StaticContentMessage',
                                    id,
                                    staticContent: { formatType: 'Text', text: entry.text }
                                }
                            }
                        };
                    }),
                    messagingSession: {
                        messagingSessionRequestType: 'EstablishMessagingSession',
                        payload: { startTime: first }
                    }
                }
            });
            return {
                ...(typeof answer['conversationIdentifier'] === 'string'
                    ? { conversationIdentifier: answer['conversationIdentifier'] }
                    : {}),
                ...(typeof answer['messagingSessionId'] === 'string'
                    ? { messagingSessionId: answer['messagingSessionId'] }
                    : {})
            };
        },

        async acknowledge(conversationIdentifier, from, acks) {
            for (let i = 0; i < acks.length; i += 25) {
                await call('byoc_acknowledgement', 'POST', '/acknowledgement', {
                    json: {
                        conversationIdentifier,
                        sender: endUser(from),
                        acknowledgements: acks.slice(i, i + 25).map((ack) => ({
                            acknowledgementTimestamp: String(ack.at),
                            acknowledgementType: ack.type,
                            acknowledgedConversationEntryIdentifier: ack.entryId,
                            acknowledgmentCreatedConversationEntryIdentifier: randomUUID()
                        }))
                    }
                });
            }
        },

        async endSession(from, conversationIdentifier) {
            await call('byoc_end', 'POST', '/messagingSession', {
                json: {
                    channelAddressIdentifier: options.channelAddress,
                    endUserClientId: from,
                    conversationIdentifier,
                    operation: 'End',
                    operationBy: 'EndUser'
                }
            });
        },

        async registerCapabilities(capabilities) {
            await call('byoc_capabilities', 'PATCH', '/capabilities', { json: { capabilities } });
        },

        async sendAttachment(from, upload, signal) {
            const token = await options.auth.token();
            const boundary = `haptik-bridge-${randomUUID()}`;
            const json = {
                to: options.channelAddress,
                from,
                interactions: [
                    {
                        timestamp: upload.at,
                        interactionType: 'AttachmentInteraction',
                        id: upload.id,
                        attachmentIndex: 0,
                        contentLength: upload.contentLength,
                        ...(upload.text === undefined || upload.text === '' ? {} : { text: upload.text })
                    }
                ]
            };
            const timeout = AbortSignal.timeout(fileTimeoutMs);
            const combined = signal === undefined ? timeout : AbortSignal.any([timeout, signal]);
            const details = { operation: 'byoc_attachment' };
            let sourceError: unknown;
            let response: Response;
            try {
                response = await doFetch(`${base}/interactions`, {
                    method: 'POST',
                    headers: {
                        Authorization: `Bearer ${token.accessToken}`,
                        OrgId: options.orgId.slice(0, 15),
                        AuthorizationContext: options.channelDefinition,
                        RequestId: randomUUID(),
                        Accept: 'application/json',
                        'Content-Type': `multipart/form-data; boundary=${boundary}`
                    },
                    body: Readable.from(
                        multipartBody(
                            boundary,
                            { part: 'json', value: json },
                            {
                                part: 'attachments',
                                fileName: upload.fileName,
                                contentType: upload.contentType,
                                body: exactly(upload.body, upload.contentLength)
                            },
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
                throw fileError(
                    timeout.aborted ? 'bridge_chat_timeout' : 'bridge_chat_unavailable',
                    timeout.aborted
                        ? 'byoc_attachment: no answer in time'
                        : 'byoc_attachment: the Interaction Service is unreachable',
                    { ...details, retryable: true },
                    error
                );
            }
            const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
            if (response.ok) return;
            const code = typeof answer['code'] === 'number' ? answer['code'] : undefined;
            if (response.status === 401) {
                // The body is gone: renew now, and the outbox's next try uploads again.
                options.auth.invalidate(token.accessToken);
                throw fileError('bridge_chat_unauthorized', 'byoc_attachment: access token rejected', {
                    ...details,
                    status: 401,
                    retryable: true
                });
            }
            if (response.status === 403 && (code === 10003 || code === 10004 || code === 10005)) {
                throw fileError('bridge_chat_unauthorized', 'byoc_attachment: the channel credentials were refused', {
                    ...details,
                    status: 403,
                    code,
                    retryable: false
                });
            }
            throw attachmentRefusal(response.status, code);
        },

        async openAttachment(url, expectedType, signal) {
            const context = { base: options.scrtUrl, fetch: doFetch, timeoutMs: fileTimeoutMs };
            let file: IncomingFile;
            try {
                file = await openFile(context, undefined, url, signal);
            } catch (error) {
                if (!isBridgeError(error, 'bridge_chat_unauthorized')) throw error;
                // The org wants credentials for this link after all: the channel's token (a Salesforce host: checked).
                const token = await options.auth.token();
                try {
                    file = await openFile(context, token.accessToken, url, signal);
                } catch (again) {
                    if (isBridgeError(again, 'bridge_chat_unauthorized')) options.auth.invalidate(token.accessToken);
                    throw again;
                }
            }
            if (file.contentType === 'text/html' && expectedType?.toLowerCase() !== 'text/html') {
                (file.body as Partial<Readable>).destroy?.();
                throw fileError(
                    'bridge_files_gone',
                    'Salesforce answered a page, not the file: the link no longer works',
                    {
                        operation: 'open_file',
                        retryable: false,
                        httpStatus: 410
                    }
                );
            }
            return file;
        }
    };
}
