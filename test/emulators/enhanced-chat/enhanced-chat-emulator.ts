/**
 * An Enhanced Chat (Messaging for In-App and Web) emulator on loopback, acting as the deployment's SCRT2
 * host (salesforce.md §3.2): guest access tokens, conversations, messages, typing entries, session end,
 * close, entry listing, and the `/eventrouter/v1/sse` stream with `Last-Event-Id` replay and `ping`
 * keep-alives. Tests and the demo play the Service Console agent through the returned object or JSON
 * routes under `/__emulator/`.
 *
 * Choices where Salesforce documents nothing (marked [I] in salesforce.md): error bodies are
 * `{code, message}`; create conversation answers 201, message/entry 202, deletes 204; throttling is 429;
 * event ids are integers, monotonic per conversation; an agent-ended session streams SessionStatusChanged
 * Ended before the agent's ParticipantChanged remove. With no agent available a new conversation is NOT
 * failed: Omni-Channel keeps the work item queued, so the routing result says failureType None without a
 * wait estimate and the conversation stays Waiting (a RoutingError only comes from `routingFailure`).
 * An expired access token is refused as the service's gateway refuses it: 401 with the plain-text body
 * `Jwt is expired` (not JSON; clients written against the real service match that text), on every
 * call, the event stream and the continuation-token endpoint alike. The continuation-token endpoint
 * takes a still-valid token and issues a token for the same subject with a lifetime of its own; whether
 * Salesforce's continuation token does that ("doesn't extend the JWT expiration") is to be checked in a
 * real org. A message or file whose id the conversation already has (entries share one id space) is answered
 * 202 and not stored or streamed again: the bridge's retries under the same id rely on that, and Salesforce
 * documents no such idempotency for message ids (to be checked in a real org, like the continuation token).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import busboy from 'busboy';
import { serveOnLoopback } from '../loopback-server';
import {
    attachmentMessagePayload,
    buildEntry,
    participantChangedPayload,
    routingResultPayload,
    textMessagePayload
} from './entries';
import type { ConversationEntry, EntryInput, ParticipantRole, StreamedEvent } from './entries';
import { agentConsoleRoutes, waitUntil } from '../agent-console';
import type { AgentConsole } from '../agent-console';

export type { ConversationEntry, StreamedEvent, SseEventType } from './entries';

type SfRecord = Record<string, unknown>;

/** The part of the Salesforce emulator used to keep MessagingSession records (Waiting → Active → Ended). */
export interface MessagingSessionStore {
    insert(type: string, fields: SfRecord): SfRecord;
    records(type: string): SfRecord[];
    /** Optional: without it the record keeps its first Status (the Salesforce emulator has no in-process update yet). */
    update?(type: string, id: string, fields: SfRecord): void;
}

export interface EnhancedChatLimits {
    /** Access tokens per window per org (Salesforce: 200 per minute). */
    tokensPerWindow?: number;
    /** Inbound messages per window per conversation (Salesforce: 22 per minute). */
    messagesPerWindow?: number;
    /** Window length (default 60 000 ms); tests shorten it. */
    windowMs?: number;
}

export interface EnhancedChatEmulatorOptions {
    orgId: string;
    esDeveloperName: string;
    salesforce?: MessagingSessionStore;
    port?: number;
    host?: string;
    limits?: EnhancedChatLimits;
    /** Life of an access token (default 6 h). */
    tokenTtlMs?: number;
    /** Interval of `ping` keep-alives on each SSE connection (default 30 s). */
    pingIntervalMs?: number;
    /** The deployment's file settings (issue 18). */
    files?: EnhancedChatFileSettings;
}

/** What the deployment allows for files, and how long an agent attachment's URL works. */
export interface EnhancedChatFileSettings {
    /** The deployment lets end users upload files (default true); off: uploads answer 403. */
    uploadsEnabled?: boolean;
    /** Largest upload (default 5 MiB); larger: 413. */
    maxBytes?: number;
    /** Allowed upload types (default pictures, PDF, plain text); others: 415. */
    allowedTypes?: readonly string[];
    /** Life of an agent attachment's URL (default 1 h); after it: 403. */
    attachmentUrlTtlMs?: number;
}

/** A file the end user uploaded, as the agent would see it (its bytes are kept only as a digest). */
export interface UploadedFile {
    messageId: string;
    fileId: string;
    name: string;
    contentType: string;
    size: number;
    sha256: string;
    text: string;
    at: number;
}

/** What an agent attachment became: the entry's id and the file's id and URL. */
export interface SentAttachment {
    messageId: string;
    attachmentId: string;
    url: string;
}

/** One injected failure for the next matching REST call (never the SSE stream or control routes). */
export type EnhancedChatFailure = {
    /** Which call it hits: default any REST call. */
    on?: 'token' | 'conversation' | 'message' | 'entry' | 'session' | 'file' | 'any';
} & (
    | { status: 429 | 500 | 502 | 503 }
    /** Drops the connection before handling the call. */
    | { resetConnection: true }
    /** Handles the call, then drops the connection instead of answering (the client cannot know it worked). */
    | { dropResponse: true }
    /**
     * File uploads only, for a client that dies mid-call: `upload` reads the body until part of the file is in,
     * then stops reading and never answers (the upload hangs half-way; nothing is stored); `answer` takes the
     * file (stored, streamed to the agent) and then never answers. Either way the connection stays open until
     * the client goes (`stats.stalledUploads` counts the stalls begun).
     */
    | { on: 'file'; stall: 'upload' | 'answer' }
);

export type SessionStatus = 'Waiting' | 'Active' | 'Ended';

export interface EmulatedConversation {
    conversationId: string;
    routingAttributes: Record<string, unknown>;
    status: SessionStatus;
    closed: boolean;
    agentName?: string;
    messagingSessionId: string;
    sessionEndedByRole?: string;
    userTyping: boolean;
    /** Events streamed so far (the last SSE id). */
    lastEventId: number;
}

export interface UserMessage {
    id: string;
    text: string;
    at: number;
}

export interface RecordedChatRequest {
    method: string;
    path: string;
    status: number;
    at: number;
}

/** The agent console of both chat emulators, plus what only Enhanced Chat has (SSE, tokens). */
export interface EnhancedChatEmulator extends AgentConsole {
    /** Cuts every open SSE connection (the client must reconnect with Last-Event-Id). */
    dropStreams(): void;
    /** Open SSE connections go silent (no events, no pings) until they are dropped; new ones are normal. */
    stallStreams(): void;
    /** Every token issued so far is expired (401); open streams are cut so clients notice. */
    expireTokens(): void;
    failNext(count: number, failure: EnhancedChatFailure): void;
    conversations(): EmulatedConversation[];
    /** What the end user sent in a conversation, in order, each id once. */
    messagesFrom(conversationId: string): UserMessage[];
    events(conversationId: string): StreamedEvent[];
    readonly requests: readonly RecordedChatRequest[];
    readonly stats: {
        tokensIssued: number;
        throttled: number;
        sseConnections: number;
        activeStreams: number;
        /** Uploads held by a `stall` failure so far (failNext). */
        stalledUploads: number;
    };
    waitFor<T>(probe: (emulator: EnhancedChatEmulator) => T | undefined | false, timeoutMs?: number): Promise<T>;
    /** Turns the deployment's end-user uploads on or off. */
    setUploads(enabled: boolean): void;
    /** Files the end user uploaded to a conversation, in order, each message id once. */
    filesFrom(conversationId: string): UploadedFile[];
    /** The agent sends a file (an `Attachments` message; `text` null as Salesforce sends a bare file). */
    agentAttachment(
        conversationId: string,
        file: { name: string; mimeType: string; data: Buffer },
        text?: string | null
    ): SentAttachment;
    /** The attachment's URL expires now, as Salesforce's do after a while (403 from then on). */
    expireAttachment(attachmentId: string): void;
    /** The Messaging Channel record id the events carry as `channelAddressIdentifier`. */
    readonly channelId: string;
}

interface TokenInfo {
    subject: string;
    orgId: string;
    exp: number;
}

interface Conversation {
    id: string;
    subject: string;
    routingAttributes: Record<string, unknown>;
    status: SessionStatus;
    closed: boolean;
    agent?: { name: string; subject: string };
    messagingSessionId: string;
    sessionEndedByRole?: string;
    userTyping: boolean;
    events: StreamedEvent[];
    userMessages: UserMessage[];
    messageIds: Set<string>;
    messageTimes: number[];
    files: UploadedFile[];
}

interface ParsedUpload {
    fields: Record<string, string>;
    file?: { name: string; mimeType: string; size: number; sha256: string; truncated: boolean };
}

interface StoredAttachment {
    conversationId: string;
    name: string;
    mimeType: string;
    data: Buffer;
    expiresAt: number;
}

interface StreamConnection {
    res: ServerResponse;
    subject: string;
    stalled: boolean;
    ping: NodeJS.Timeout;
}

class HttpError extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        message: string,
        /** Answered as a plain-text body (the gateway's answers), not `{code, message}`. */
        readonly plainText = false
    ) {
        super(message);
    }
}

/** What the service's gateway answers for an expired JWT. */
const jwtExpired = (): HttpError => new HttpError(401, 'JWT_EXPIRED', 'Jwt is expired', true);

const UUID_LOWER = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const sameOrg = (a: string, b: string): boolean => a.slice(0, 15) === b.slice(0, 15);
const DEFAULT_UPLOAD_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'application/pdf', 'text/plain'];
/** How much of an upload a `stall: 'upload'` reads before it stops: the entry and the start of the file. */
const STALL_AFTER_BYTES = 32 * 1024;
const FILE_PATH = /^\/iamessage\/api\/v2\/conversation\/([^/]+)\/file$/;
const ATTACHMENT_PATH = /^\/iamessage\/api\/v2\/conversation\/([^/]+)\/attachments\/([^/]+)$/;
const agentSubject = (name: string): string =>
    `005${createHash('sha1').update(name).digest('hex').slice(0, 12).toUpperCase()}`;

export async function startEnhancedChatEmulator(options: EnhancedChatEmulatorOptions): Promise<EnhancedChatEmulator> {
    const windowMs = options.limits?.windowMs ?? 60_000;
    const tokensPerWindow = options.limits?.tokensPerWindow ?? 200;
    const messagesPerWindow = options.limits?.messagesPerWindow ?? 22;
    const tokenTtlMs = options.tokenTtlMs ?? 6 * 3600_000;
    const pingIntervalMs = options.pingIntervalMs ?? 30_000;

    const tokens = new Map<string, TokenInfo>();
    const tokenTimes: number[] = [];
    const conversations = new Map<string, Conversation>();
    const streams = new Set<StreamConnection>();
    const failures: EnhancedChatFailure[] = [];
    const requests: RecordedChatRequest[] = [];
    const stats = { tokensIssued: 0, throttled: 0, sseConnections: 0, activeStreams: 0, stalledUploads: 0 };
    let available = true;
    let waitSeconds: number | undefined = 30;
    let queuePosition: number | undefined;
    let sessionCounter = 0;
    let uploadsEnabled = options.files?.uploadsEnabled ?? true;
    const maxUploadBytes = options.files?.maxBytes ?? 5 * 1024 * 1024;
    const uploadTypes = new Set(options.files?.allowedTypes ?? DEFAULT_UPLOAD_TYPES);
    const attachmentTtlMs = options.files?.attachmentUrlTtlMs ?? 3600_000;
    const attachments = new Map<string, StoredAttachment>();
    // Salesforce's SSE docs: channelAddressIdentifier is the Messaging Channel's record id (key prefix 0Mj).
    const channelId = `0Mj${createHash('sha1').update(options.esDeveloperName).digest('hex').slice(0, 12).toUpperCase()}AAA`;

    const issueToken = (subject: string): { accessToken: string; exp: number } => {
        const now = Date.now();
        const exp = now + tokenTtlMs;
        const accessToken = [
            b64url({ alg: 'none', typ: 'JWT' }),
            b64url({
                iss: 'enhanced-chat-emulator',
                sub: subject,
                orgId: options.orgId,
                iat: Math.floor(now / 1000),
                exp: Math.floor(exp / 1000),
                jti: randomUUID()
            }),
            ''
        ].join('.');
        tokens.set(accessToken, { subject, orgId: options.orgId, exp });
        stats.tokensIssued += 1;
        return { accessToken, exp };
    };

    /** Keeps the timestamps inside the window; true when one more fits under the limit. */
    const withinLimit = (times: number[], limit: number): boolean => {
        const now = Date.now();
        while (times.length > 0 && (times[0] ?? 0) <= now - windowMs) times.shift();
        if (times.length >= limit) return false;
        times.push(now);
        return true;
    };

    const authorize = (req: IncomingMessage): TokenInfo => {
        const header = req.headers.authorization ?? '';
        const token = header.startsWith('Bearer ') ? header.slice(7) : '';
        const info = tokens.get(token);
        if (!info) throw new HttpError(401, 'UNAUTHORIZED', 'Invalid access token');
        if (info.exp <= Date.now()) throw jwtExpired();
        return info;
    };

    const conversationFor = (id: string, token: TokenInfo): Conversation => {
        const conv = conversations.get(id.toLowerCase());
        if (!conv || conv.subject !== token.subject) {
            throw new HttpError(404, 'NOT_FOUND', `Conversation ${id} not found`);
        }
        return conv;
    };

    const controlConversation = (id: string): Conversation => {
        const conv = conversations.get(id.toLowerCase());
        if (!conv) throw new Error(`unknown conversation ${id}`);
        return conv;
    };

    const writeEvent = (conn: StreamConnection, event: StreamedEvent): void => {
        if (conn.stalled) return;
        conn.res.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`);
    };

    const emit = (conv: Conversation, input: Omit<EntryInput, 'at'>): StreamedEvent => {
        const entry: ConversationEntry = buildEntry({ ...input, at: Date.now() });
        const event: StreamedEvent = {
            id: conv.events.length + 1,
            type: input.type,
            data: {
                channelPlatformKey: options.esDeveloperName,
                channelType: 'embedded_messaging',
                channelAddressIdentifier: channelId,
                conversationId: conv.id,
                conversationEntry: entry
            }
        };
        conv.events.push(event);
        for (const conn of streams) if (conn.subject === conv.subject) writeEvent(conn, event);
        return event;
    };

    const SYSTEM: { role: ParticipantRole; subject: string; appType: string } = {
        role: 'System',
        subject: 'system',
        appType: 'iamessage'
    };
    const ROUTER: { role: ParticipantRole; subject: string; appType: string } = {
        role: 'Router',
        subject: 'router',
        appType: 'iamessage'
    };
    const agentSender = (agent: { name: string; subject: string }) => ({
        role: 'Agent' as const,
        subject: agent.subject,
        appType: 'agent'
    });

    const setSessionRecord = (conv: Conversation, fields: SfRecord): void => {
        options.salesforce?.update?.('MessagingSession', conv.messagingSessionId, fields);
    };

    const emitStatus = (conv: Conversation, status: SessionStatus, endedBy?: ParticipantRole): void => {
        conv.status = status;
        if (endedBy !== undefined) conv.sessionEndedByRole = endedBy;
        emit(conv, {
            type: 'CONVERSATION_SESSION_STATUS_CHANGED',
            entryType: 'SessionStatusChanged',
            payload: { sessionStatus: status, ...(endedBy === undefined ? {} : { sessionEndedByRole: endedBy }) },
            sender: SYSTEM,
            senderDisplayName: 'System'
        });
        const now = new Date().toISOString();
        if (status === 'Active') setSessionRecord(conv, { Status: 'Active', AcceptTime: now });
        if (status === 'Ended') {
            setSessionRecord(conv, { Status: 'Ended', EndTime: now, EndedByType: endedBy ?? 'System' });
        }
    };

    const emitRouting = (
        conv: Conversation,
        routingType: 'Initial' | 'Transfer',
        failure?: { type: 'RoutingError'; reason: string }
    ): void => {
        emit(conv, {
            type: 'CONVERSATION_ROUTING_RESULT',
            entryType: 'RoutingResult',
            payload: routingResultPayload({
                routingType,
                failureType: failure ? failure.type : 'None',
                ...(failure ? { failureReason: failure.reason } : {}),
                ...(available && waitSeconds !== undefined && !failure ? { estimatedWaitSeconds: waitSeconds } : {}),
                recordId: conv.messagingSessionId,
                ...(conv.agent ? { workOwnerId: conv.agent.subject } : {})
            }),
            sender: ROUTER,
            senderDisplayName: 'Router'
        });
    };

    const emitQueuePosition = (conv: Conversation, position: number): void => {
        emit(conv, {
            type: 'CONVERSATION_QUEUE_POSITION',
            entryType: 'QueuePosition',
            payload: { queuePosition: position },
            sender: ROUTER,
            senderDisplayName: 'Router'
        });
    };

    const emitParticipant = (
        conv: Conversation,
        operation: 'add' | 'remove',
        agent: { name: string; subject: string }
    ) => {
        emit(conv, {
            type: 'CONVERSATION_PARTICIPANT_CHANGED',
            entryType: 'ParticipantChanged',
            payload: participantChangedPayload(operation, 'Agent', agent.subject, agent.name),
            sender: agentSender(agent),
            senderDisplayName: agent.name
        });
    };

    const endSession = (conv: Conversation, by: ParticipantRole): void => {
        if (conv.status === 'Ended') return;
        const agent = conv.agent;
        emitStatus(conv, 'Ended', by);
        if (agent) {
            emitParticipant(conv, 'remove', agent);
            delete conv.agent;
        }
    };

    const createConversation = (token: TokenInfo, body: Record<string, unknown>): [number, unknown] => {
        const id = body.conversationId;
        if (typeof id !== 'string' || !UUID_LOWER.test(id)) {
            throw new HttpError(400, 'INVALID_INPUT', 'conversationId must be a lower-case UUID');
        }
        if (body.esDeveloperName !== options.esDeveloperName) {
            throw new HttpError(400, 'INVALID_INPUT', 'Unknown esDeveloperName');
        }
        const existing = conversations.get(id);
        if (existing) {
            if (existing.subject === token.subject) return [201, {}];
            throw new HttpError(409, 'CONFLICT', 'A conversation with this id already exists');
        }
        const routingAttributes =
            body.routingAttributes !== null && typeof body.routingAttributes === 'object'
                ? { ...(body.routingAttributes as Record<string, unknown>) }
                : {};
        const now = new Date().toISOString();
        const fields: SfRecord = {
            Name: `MS-${String(++sessionCounter).padStart(6, '0')}`,
            Status: 'Waiting',
            ConversationId: id,
            ChannelType: 'EmbeddedMessaging',
            ChannelName: options.esDeveloperName,
            Origin: 'InboundInitiated',
            AgentType: 'Agent',
            StartTime: now
        };
        const record = options.salesforce?.insert('MessagingSession', fields);
        const messagingSessionId =
            typeof record?.Id === 'string' ? record.Id : `0Mw${String(sessionCounter).padStart(15, '0')}`;
        const conv: Conversation = {
            id,
            subject: token.subject,
            routingAttributes,
            status: 'Waiting',
            closed: false,
            messagingSessionId,
            userTyping: false,
            events: [],
            userMessages: [],
            messageIds: new Set(),
            messageTimes: [],
            files: []
        };
        conversations.set(id, conv);
        emitStatus(conv, 'Waiting');
        emitRouting(conv, 'Initial');
        if (available && queuePosition !== undefined) emitQueuePosition(conv, queuePosition);
        return [201, {}];
    };

    const sendMessage = (conv: Conversation, body: Record<string, unknown>): [number, unknown] => {
        const message = body.message as Record<string, unknown> | undefined;
        const id = message?.id;
        const content = message?.staticContent as Record<string, unknown> | undefined;
        if (typeof id !== 'string' || id === '' || typeof content?.text !== 'string') {
            throw new HttpError(400, 'INVALID_INPUT', 'message.id and message.staticContent.text are required');
        }
        if (conv.messageIds.has(id)) return [202, {}];
        if (conv.status === 'Ended' || conv.closed) {
            throw new HttpError(400, 'INVALID_INPUT', 'The messaging session has ended');
        }
        if (!withinLimit(conv.messageTimes, messagesPerWindow)) {
            stats.throttled += 1;
            throw new HttpError(429, 'TOO_MANY_REQUESTS', 'Message rate limit exceeded for this conversation');
        }
        conv.messageIds.add(id);
        conv.userMessages.push({ id, text: content.text, at: Date.now() });
        emit(conv, {
            type: 'CONVERSATION_MESSAGE',
            entryType: 'Message',
            payload: textMessagePayload(id, content.text),
            sender: { role: 'EndUser', subject: conv.subject, appType: 'iamessage' },
            senderDisplayName: 'Guest',
            identifier: id
        });
        return [202, {}];
    };

    /** Reads a multipart upload as it streams: fields kept, the file only counted and hashed (never held). */
    const parseUpload = (req: IncomingMessage): Promise<ParsedUpload> =>
        new Promise((resolve, reject) => {
            let parser: busboy.Busboy;
            try {
                parser = busboy({
                    headers: req.headers,
                    limits: { files: 2, fileSize: maxUploadBytes, fields: 4, fieldSize: 64 * 1024 }
                });
            } catch {
                req.resume();
                reject(new HttpError(400, 'INVALID_INPUT', 'Expected a multipart/form-data body'));
                return;
            }
            const result: ParsedUpload = { fields: {} };
            const pending: Array<Promise<void>> = [];
            parser.on('field', (name, value) => {
                result.fields[name] = value;
            });
            parser.on('file', (name, stream, info) => {
                if (name === 'messageEntry') {
                    // Browsers' FormData sends a JSON Blob as a file part (filename "blob"): read it as the field.
                    const chunks: Buffer[] = [];
                    let size = 0;
                    stream.on('data', (chunk: Buffer) => {
                        size += chunk.length;
                        if (size <= 64 * 1024) chunks.push(chunk);
                    });
                    pending.push(
                        new Promise((done) =>
                            stream.on('end', () => {
                                if (size <= 64 * 1024)
                                    result.fields.messageEntry = Buffer.concat(chunks).toString('utf8');
                                done();
                            })
                        )
                    );
                    return;
                }
                if (name !== 'fileData' || result.file !== undefined) {
                    stream.resume();
                    return;
                }
                const file = {
                    name: info.filename ?? '',
                    mimeType: info.mimeType,
                    size: 0,
                    sha256: '',
                    truncated: false
                };
                result.file = file;
                const hash = createHash('sha256');
                stream.on('data', (chunk: Buffer) => {
                    file.size += chunk.length;
                    hash.update(chunk);
                });
                stream.on('limit', () => {
                    file.truncated = true;
                });
                pending.push(
                    new Promise((done) =>
                        stream.on('end', () => {
                            file.sha256 = hash.digest('hex');
                            done();
                        })
                    )
                );
            });
            parser.on('error', () => {
                req.unpipe(parser);
                req.resume();
                reject(new HttpError(400, 'INVALID_INPUT', 'Malformed multipart body'));
            });
            parser.on('close', () => {
                void Promise.all(pending).then(() => resolve(result));
            });
            req.pipe(parser);
        });

    /** Reads an upload until part of the file is in, then stops reading: it hangs half-way, never parsed or stored. */
    const stallMidUpload = (req: IncomingMessage): void => {
        let received = 0;
        const onData = (chunk: Buffer): void => {
            received += chunk.length;
            if (received < STALL_AFTER_BYTES) return;
            req.off('data', onData);
            req.pause();
            stats.stalledUploads += 1;
        };
        req.on('data', onData);
    };

    /** POST …/conversation/{id}/file: one file and its `messageEntry`, as documented (202, 413, 415). */
    const uploadFile = async (req: IncomingMessage, conversationId: string): Promise<[number, unknown]> => {
        let conv: Conversation;
        try {
            conv = conversationFor(conversationId, authorize(req));
            if (!uploadsEnabled) {
                throw new HttpError(403, 'FORBIDDEN', 'File upload is not enabled for this deployment');
            }
            if (!/^multipart\/form-data/i.test(req.headers['content-type'] ?? '')) {
                throw new HttpError(400, 'INVALID_INPUT', 'Expected a multipart/form-data body');
            }
        } catch (error) {
            // Answered once the body is read, as an HTTP/1.1 server that keeps the connection does: a refusal
            // sent mid-upload would reach the client as a broken connection instead of a status.
            await new Promise<void>((resolve) => {
                req.once('end', resolve);
                req.once('close', resolve);
                req.resume();
            });
            throw error;
        }
        const upload = await parseUpload(req);
        let entry: Record<string, unknown>;
        try {
            entry = JSON.parse(upload.fields.messageEntry ?? '') as Record<string, unknown>;
        } catch {
            throw new HttpError(400, 'INVALID_INPUT', 'The messageEntry part is missing or not JSON');
        }
        const message = (entry.message ?? {}) as Record<string, unknown>;
        if (entry.esDeveloperName !== options.esDeveloperName) {
            throw new HttpError(400, 'INVALID_INPUT', 'Invalid esDeveloperName');
        }
        const id = message.id;
        const fileId = message.fileId;
        if (typeof id !== 'string' || !UUID_LOWER.test(id) || typeof fileId !== 'string' || fileId === '') {
            throw new HttpError(400, 'INVALID_INPUT', 'message.id (a lower-case UUID) and message.fileId are required');
        }
        const file = upload.file;
        if (file === undefined || file.name === '') {
            throw new HttpError(400, 'INVALID_INPUT', 'The fileData part with a file name is required');
        }
        if (file.truncated) throw new HttpError(413, 'PAYLOAD_TOO_LARGE', 'The file exceeds the maximum size');
        if (!uploadTypes.has(file.mimeType.toLowerCase())) {
            throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'The file type is not allowed');
        }
        if (conv.messageIds.has(id)) return [202, {}];
        if (conv.status === 'Ended' || conv.closed) {
            throw new HttpError(400, 'INVALID_INPUT', 'The messaging session has ended');
        }
        if (!withinLimit(conv.messageTimes, messagesPerWindow)) {
            stats.throttled += 1;
            throw new HttpError(429, 'TOO_MANY_REQUESTS', 'Message rate limit exceeded for this conversation');
        }
        conv.messageIds.add(id);
        const text = typeof message.text === 'string' ? message.text : '';
        conv.files.push({
            messageId: id,
            fileId,
            name: file.name,
            contentType: file.mimeType.toLowerCase(),
            size: file.size,
            sha256: file.sha256,
            text,
            at: Date.now()
        });
        emit(conv, {
            type: 'CONVERSATION_MESSAGE',
            entryType: 'Message',
            payload: attachmentMessagePayload(id, text === '' ? null : text, [
                {
                    name: file.name,
                    id: fileId,
                    mimeType: file.mimeType,
                    url: `${server.url}/iamessage/api/v2/conversation/${conv.id}/attachments/${fileId}`
                }
            ]),
            sender: { role: 'EndUser', subject: conv.subject, appType: 'iamessage' },
            senderDisplayName: 'Guest',
            identifier: id
        });
        return [202, {}];
    };

    /** GET an agent attachment's URL: the conversation's token, and only until the URL expires. */
    const serveAttachment = (req: IncomingMessage, res: ServerResponse, conversationId: string, id: string): number => {
        const conv = conversationFor(conversationId, authorize(req));
        const stored = attachments.get(id);
        if (stored === undefined || stored.conversationId !== conv.id) {
            throw new HttpError(404, 'NOT_FOUND', 'Attachment not found');
        }
        if (stored.expiresAt <= Date.now()) throw new HttpError(403, 'FORBIDDEN', 'The attachment URL has expired');
        res.writeHead(200, {
            'Content-Type': stored.mimeType,
            'Content-Length': stored.data.length,
            'Content-Disposition': `attachment; filename="${stored.name.replace(/["\\]/g, '_')}"`
        });
        res.end(stored.data);
        return 200;
    };

    const listEntries = (conv: Conversation, url: URL): [number, unknown] => {
        const limit = Math.min(50, Math.max(1, Number(url.searchParams.get('limit') ?? 20) || 20));
        const fromEnd = url.searchParams.get('direction') === 'FromEnd';
        const all = conv.events.map((e) => e.data.conversationEntry);
        const page = fromEnd ? all.slice(-limit).reverse() : all.slice(0, limit);
        return [200, { conversationEntries: page }];
    };

    const classify = (method: string, path: string): NonNullable<EnhancedChatFailure['on']> => {
        if (path.includes('/authorization/')) return 'token';
        if (path.endsWith('/message')) return 'message';
        if (path.endsWith('/file')) return 'file';
        if (path.endsWith('/entry')) return 'entry';
        if (method === 'DELETE') return 'session';
        return 'conversation';
    };

    const handleRest = (req: IncomingMessage, url: URL, body: Record<string, unknown>): [number, unknown] => {
        const method = req.method ?? 'GET';
        const path = url.pathname;
        const base = '/iamessage/api/v2';
        if (path === `${base}/authorization/unauthenticated/access-token` && method === 'POST') {
            if (typeof body.orgId !== 'string' || !sameOrg(body.orgId, options.orgId)) {
                throw new HttpError(400, 'INVALID_INPUT', 'Invalid orgId');
            }
            if (body.esDeveloperName !== options.esDeveloperName) {
                throw new HttpError(400, 'INVALID_INPUT', 'Invalid esDeveloperName');
            }
            if (!withinLimit(tokenTimes, tokensPerWindow)) {
                stats.throttled += 1;
                throw new HttpError(429, 'TOO_MANY_REQUESTS', 'Access token rate limit exceeded for this org');
            }
            const { accessToken } = issueToken(`v2/iamessage/UNAUTH/NA/uid:${randomUUID()}`);
            return [
                200,
                {
                    accessToken,
                    lastEventId: '0',
                    context: {
                        configuration: {
                            embeddedServiceConfig: { name: options.esDeveloperName, deploymentType: 'Custom' }
                        }
                    }
                }
            ];
        }
        if (path === `${base}/authorization/continuation-access-token` && method === 'GET') {
            const header = req.headers.authorization ?? '';
            const info = tokens.get(header.startsWith('Bearer ') ? header.slice(7) : '');
            if (!info) throw new HttpError(401, 'UNAUTHORIZED', 'Invalid access token');
            if (info.exp <= Date.now()) throw jwtExpired();
            if (!withinLimit(tokenTimes, tokensPerWindow)) {
                stats.throttled += 1;
                throw new HttpError(429, 'TOO_MANY_REQUESTS', 'Access token rate limit exceeded for this org');
            }
            const { accessToken } = issueToken(info.subject);
            const last = [...conversations.values()]
                .filter((c) => c.subject === info.subject)
                .reduce((max, c) => Math.max(max, c.events.length), 0);
            return [200, { accessToken, lastEventId: String(last), context: {} }];
        }
        const token = authorize(req);
        if (path === `${base}/conversation` && method === 'POST') return createConversation(token, body);
        if (path === `${base}/conversation/list` && method === 'GET') {
            const mine = [...conversations.values()].filter((c) => c.subject === token.subject);
            return [
                200,
                {
                    openConversationsFound: mine.filter((c) => !c.closed).length,
                    closedConversationsFound: mine.filter((c) => c.closed).length,
                    conversations: mine.map((c) => ({ conversationId: c.id }))
                }
            ];
        }
        const m = /^\/iamessage\/api\/v2\/conversation\/([^/]+)(?:\/(message|entry|entries|session))?$/.exec(path);
        if (!m) throw new HttpError(404, 'NOT_FOUND', 'Resource not found');
        const conv = conversationFor(decodeURIComponent(m[1] ?? ''), token);
        const sub = m[2];
        if (sub === 'message' && method === 'POST') return sendMessage(conv, body);
        if (sub === 'entry' && method === 'POST') {
            if (body.entryType === 'TypingStartedIndicator') conv.userTyping = true;
            else if (body.entryType === 'TypingStoppedIndicator') conv.userTyping = false;
            else throw new HttpError(400, 'INVALID_INPUT', 'Unsupported entryType');
            return [202, {}];
        }
        if (sub === 'entries' && method === 'GET') return listEntries(conv, url);
        if (sub === 'session' && method === 'DELETE') {
            endSession(conv, 'EndUser');
            return [204, undefined];
        }
        if (sub === undefined && method === 'DELETE') {
            endSession(conv, 'EndUser');
            if (!conv.closed) {
                conv.closed = true;
                emit(conv, {
                    type: 'CONVERSATION_CLOSE_CONVERSATION',
                    entryType: 'CloseConversation',
                    payload: {},
                    sender: { role: 'EndUser', subject: conv.subject, appType: 'iamessage' },
                    senderDisplayName: 'Guest'
                });
            }
            return [204, undefined];
        }
        throw new HttpError(404, 'NOT_FOUND', 'Resource not found');
    };

    const openStream = (req: IncomingMessage, res: ServerResponse): void => {
        const token = authorize(req);
        const orgHeader = req.headers['x-org-id'];
        if (typeof orgHeader !== 'string' || !sameOrg(orgHeader, options.orgId)) {
            throw new HttpError(401, 'UNAUTHORIZED', 'X-Org-Id does not match the token');
        }
        const lastHeader = req.headers['last-event-id'];
        const after = Number(typeof lastHeader === 'string' && lastHeader !== '' ? lastHeader : '0') || 0;
        res.writeHead(200, {
            'Content-Type': 'text/event-stream',
            'Cache-Control': 'no-cache',
            Connection: 'keep-alive'
        });
        const conn: StreamConnection = {
            res,
            subject: token.subject,
            stalled: false,
            ping: setInterval(() => {
                if (!conn.stalled) res.write(`event: ping\ndata: {"timestamp":${Date.now()}}\n\n`);
            }, pingIntervalMs)
        };
        stats.sseConnections += 1;
        stats.activeStreams += 1;
        streams.add(conn);
        res.on('close', () => {
            clearInterval(conn.ping);
            if (streams.delete(conn)) stats.activeStreams -= 1;
        });
        // A comment line flushes the headers to the client at once.
        res.write(':ok\n\n');
        for (const conv of conversations.values()) {
            if (conv.subject !== token.subject) continue;
            for (const event of conv.events) if (event.id > after) writeEvent(conn, event);
        }
    };

    const readBody = async (req: IncomingMessage): Promise<string> => {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks).toString('utf8');
    };

    const send = (res: ServerResponse, status: number, body: unknown): void => {
        if (body === undefined) {
            res.writeHead(status).end();
            return;
        }
        const text = JSON.stringify(body);
        res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
    };

    const sendError = (res: ServerResponse, e: HttpError): void => {
        if (!e.plainText) return send(res, e.status, { code: e.code, message: e.message });
        res.writeHead(e.status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(e.message) });
        res.end(e.message);
    };

    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
        const url = new URL(req.url ?? '/', 'http://emulator');
        const method = req.method ?? 'GET';
        const record = (status: number): void => {
            requests.push({ method, path: url.pathname, status, at: Date.now() });
        };
        const fileRoute = method === 'POST' ? FILE_PATH.exec(url.pathname) : null;
        const attachmentRoute = method === 'GET' ? ATTACHMENT_PATH.exec(url.pathname) : null;
        if (fileRoute !== null || attachmentRoute !== null) {
            // Files stream: their bodies are never read whole like the JSON calls' bodies.
            const index = fileRoute ? failures.findIndex((f) => (f.on ?? 'any') === 'any' || f.on === 'file') : -1;
            const failure = index >= 0 ? failures.splice(index, 1)[0] : undefined;
            if (failure && 'resetConnection' in failure) {
                record(-1);
                req.socket.destroy();
                return;
            }
            if (failure && 'status' in failure) {
                req.resume();
                record(failure.status);
                return send(res, failure.status, { code: 'SERVICE_UNAVAILABLE', message: 'Injected failure' });
            }
            if (failure && 'stall' in failure && failure.stall === 'upload') {
                record(-1);
                stallMidUpload(req);
                return;
            }
            try {
                if (attachmentRoute !== null) {
                    const id = decodeURIComponent(attachmentRoute[2] ?? '');
                    record(serveAttachment(req, res, decodeURIComponent(attachmentRoute[1] ?? ''), id));
                    return;
                }
                const [status, answer] = await uploadFile(req, decodeURIComponent(fileRoute?.[1] ?? ''));
                if (failure && 'dropResponse' in failure) {
                    // The file is stored; the client never hears so (it must send it again, under the same id).
                    record(-1);
                    req.socket.destroy();
                    return;
                }
                if (failure && 'stall' in failure) {
                    // The file is stored; the answer never comes (the client waits until it gives up or dies).
                    record(-1);
                    stats.stalledUploads += 1;
                    return;
                }
                record(status);
                send(res, status, answer);
            } catch (error) {
                const e = error instanceof HttpError ? error : new HttpError(500, 'INTERNAL_ERROR', String(error));
                record(e.status);
                // A refused upload is answered at once; the connection closes rather than draining a huge body.
                res.setHeader('Connection', 'close');
                sendError(res, e);
            }
            return;
        }
        const raw = await readBody(req);
        let body: Record<string, unknown> = {};
        if (raw !== '') {
            try {
                body = JSON.parse(raw) as Record<string, unknown>;
            } catch {
                record(400);
                return send(res, 400, { code: 'INVALID_INPUT', message: 'Malformed JSON' });
            }
        }
        if (url.pathname.startsWith('/__emulator/')) {
            try {
                const [status, answer] = handleControl(method, url.pathname.slice(12).split('/'), body);
                return send(res, status, answer);
            } catch (error) {
                return send(res, 400, { code: 'INVALID_INPUT', message: (error as Error).message });
            }
        }
        if (url.pathname === '/eventrouter/v1/sse' && method === 'GET') {
            try {
                openStream(req, res);
                record(200);
            } catch (error) {
                const e = error instanceof HttpError ? error : new HttpError(500, 'INTERNAL_ERROR', String(error));
                record(e.status);
                sendError(res, e);
            }
            return;
        }
        const kind = classify(method, url.pathname);
        const index = failures.findIndex((f) => (f.on ?? 'any') === 'any' || f.on === kind);
        const failure = index >= 0 ? failures.splice(index, 1)[0] : undefined;
        if (failure && 'resetConnection' in failure) {
            record(-1);
            req.socket.destroy();
            return;
        }
        if (failure && 'status' in failure) {
            record(failure.status);
            return send(res, failure.status, { code: 'SERVICE_UNAVAILABLE', message: 'Injected failure' });
        }
        try {
            const [status, answer] = handleRest(req, url, body);
            if (failure && 'dropResponse' in failure) {
                record(-1);
                req.socket.destroy();
                return;
            }
            record(status);
            send(res, status, answer);
        } catch (error) {
            const e = error instanceof HttpError ? error : new HttpError(500, 'INTERNAL_ERROR', String(error));
            record(e.status);
            sendError(res, e);
        }
    };

    const handleControl = (method: string, path: string[], body: Record<string, unknown>): [number, unknown] =>
        agentConsoleRoutes(
            emulator,
            () => stats,
            (verb, { what, id, action }, data) => {
                if (verb !== 'POST' || (what === 'conversations' && id !== undefined && action !== undefined)) {
                    return undefined;
                }
                switch (what) {
                    case 'drop-streams':
                        emulator.dropStreams();
                        return [200, {}];
                    case 'stall-streams':
                        emulator.stallStreams();
                        return [200, {}];
                    case 'expire-tokens':
                        emulator.expireTokens();
                        return [200, {}];
                    case 'fail-next': {
                        const count = typeof data.count === 'number' ? data.count : 1;
                        const on = typeof data.on === 'string' ? (data.on as EnhancedChatFailure['on']) : undefined;
                        const scope = on === undefined ? {} : { on };
                        if (data.stall === 'upload' || data.stall === 'answer')
                            emulator.failNext(count, { on: 'file', stall: data.stall });
                        else if (data.resetConnection === true)
                            emulator.failNext(count, { ...scope, resetConnection: true });
                        else if (data.dropResponse === true) emulator.failNext(count, { ...scope, dropResponse: true });
                        else {
                            const status =
                                data.status === 429 || data.status === 500 || data.status === 502 ? data.status : 503;
                            emulator.failNext(count, { ...scope, status });
                        }
                        return [200, {}];
                    }
                    case undefined:
                    default:
                        return undefined;
                }
            }
        )(method, path, body);

    const server = await serveOnLoopback(
        handle,
        (res, error) => send(res, 500, { code: 'INTERNAL_ERROR', message: String(error) }),
        options
    );
    const url = server.url;

    const emulator: EnhancedChatEmulator = {
        url,
        close: () => {
            for (const conn of streams) clearInterval(conn.ping);
            return server.close();
        },
        setAvailability: (value) => {
            available = value;
        },
        setWaitTime: (seconds, position) => {
            waitSeconds = seconds;
            queuePosition = position;
            if (position === undefined) return;
            for (const conv of conversations.values()) {
                if (conv.status === 'Waiting' && !conv.agent) emitQueuePosition(conv, position);
            }
        },
        accept: (conversationId, agentName) => {
            const conv = controlConversation(conversationId);
            if (conv.status === 'Ended') throw new Error('the session has ended');
            const agent = { name: agentName, subject: agentSubject(agentName) };
            conv.agent = agent;
            emitParticipant(conv, 'add', agent);
            if (conv.status !== 'Active') emitStatus(conv, 'Active');
        },
        agentMessage: (conversationId, text) => {
            const conv = controlConversation(conversationId);
            const agent = conv.agent;
            if (!agent) throw new Error('no agent in this conversation');
            const id = randomUUID();
            emit(conv, {
                type: 'CONVERSATION_MESSAGE',
                entryType: 'Message',
                payload: textMessagePayload(id, text),
                sender: agentSender(agent),
                senderDisplayName: agent.name,
                identifier: id
            });
            return id;
        },
        agentTyping: (conversationId, on) => {
            const conv = controlConversation(conversationId);
            const agent = conv.agent;
            if (!agent) throw new Error('no agent in this conversation');
            emit(conv, {
                type: on ? 'CONVERSATION_TYPING_STARTED_INDICATOR' : 'CONVERSATION_TYPING_STOPPED_INDICATOR',
                entryType: on ? 'TypingStartedIndicator' : 'TypingStoppedIndicator',
                payload: {},
                sender: agentSender(agent),
                senderDisplayName: agent.name
            });
        },
        transfer: (conversationId, toAgentName) => {
            const conv = controlConversation(conversationId);
            const from = conv.agent;
            if (!from) throw new Error('no agent in this conversation');
            emitParticipant(conv, 'remove', from);
            delete conv.agent;
            emitRouting(conv, 'Transfer');
            const to = { name: toAgentName, subject: agentSubject(toAgentName) };
            conv.agent = to;
            emitParticipant(conv, 'add', to);
        },
        end: (conversationId) => {
            endSession(controlConversation(conversationId), 'Agent');
        },
        routingFailure: (conversationId, reason) => {
            const conv = controlConversation(conversationId);
            emitRouting(conv, 'Initial', {
                type: 'RoutingError',
                reason: reason ?? 'No route found for this work item'
            });
            endSession(conv, 'System');
        },
        dropStreams: () => {
            for (const conn of [...streams]) conn.res.destroy();
        },
        stallStreams: () => {
            for (const conn of streams) conn.stalled = true;
        },
        expireTokens: () => {
            for (const info of tokens.values()) info.exp = 0;
            for (const conn of [...streams]) conn.res.destroy();
        },
        failNext: (count, failure) => {
            for (let i = 0; i < count; i++) failures.push(failure);
        },
        conversations: () =>
            [...conversations.values()].map((c) => ({
                conversationId: c.id,
                routingAttributes: { ...c.routingAttributes },
                status: c.status,
                closed: c.closed,
                ...(c.agent ? { agentName: c.agent.name } : {}),
                messagingSessionId: c.messagingSessionId,
                ...(c.sessionEndedByRole === undefined ? {} : { sessionEndedByRole: c.sessionEndedByRole }),
                userTyping: c.userTyping,
                lastEventId: c.events.length
            })),
        messagesFrom: (conversationId) => controlConversation(conversationId).userMessages.map((m) => ({ ...m })),
        events: (conversationId) => [...controlConversation(conversationId).events],
        requests,
        stats,
        waitFor: (probe, timeoutMs) => waitUntil(() => probe(emulator), timeoutMs),
        setUploads: (enabled) => {
            uploadsEnabled = enabled;
        },
        filesFrom: (conversationId) => controlConversation(conversationId).files.map((f) => ({ ...f })),
        agentAttachment: (conversationId, file, text = null) => {
            const conv = controlConversation(conversationId);
            const agent = conv.agent;
            if (!agent) throw new Error('no agent in this conversation');
            const messageId = randomUUID();
            const attachmentId = `069${randomUUID().replace(/-/g, '').slice(0, 15).toUpperCase()}`;
            const fileUrl = `${url}/iamessage/api/v2/conversation/${conv.id}/attachments/${attachmentId}`;
            attachments.set(attachmentId, {
                conversationId: conv.id,
                name: file.name,
                mimeType: file.mimeType,
                data: file.data,
                expiresAt: Date.now() + attachmentTtlMs
            });
            emit(conv, {
                type: 'CONVERSATION_MESSAGE',
                entryType: 'Message',
                payload: attachmentMessagePayload(messageId, text, [
                    { name: file.name, id: attachmentId, mimeType: file.mimeType, url: fileUrl }
                ]),
                sender: agentSender(agent),
                senderDisplayName: agent.name,
                identifier: messageId
            });
            return { messageId, attachmentId, url: fileUrl };
        },
        expireAttachment: (attachmentId) => {
            const stored = attachments.get(attachmentId);
            if (stored !== undefined) stored.expiresAt = 0;
        },
        channelId
    };
    return emulator;
}
