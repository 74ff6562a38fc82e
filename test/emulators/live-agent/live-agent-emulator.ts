/**
 * A Live Agent (legacy Chat REST API) emulator on loopback: the visitor-side resources of salesforce.md §2.3
 * under `/chat/rest/…`, with the documented headers (§2.2), long-poll semantics and status codes (§2.5),
 * message payloads (§2.6, with the observed extras) and a LiveChatTranscript record per chat kept in the
 * Salesforce emulator. Tests and the demo play the agent through the AgentConsole methods or JSON routes
 * under `/__emulator/`.
 *
 * Choices where Salesforce documents nothing (salesforce.md §2.9 [I]):
 * - every message the server sends a session has a fixed position in that session's log; a 200's `offset`
 *   is the position of its last message and `sequence` numbers the responses. A poll's `ack` names the last
 *   response the client got; anything after it is sent again (a lost response is not a lost message).
 *   `ReconnectSession.offset=N` makes the messages after position N pending again.
 * - after ReconnectSession the session's data (ChasitorSessionData with the transcript so far) is appended
 *   to the log, so it arrives after the messages the client missed; POST sequences start over from 1.
 * - POSTs answer 200 with a short non-JSON body; a POST whose X-LIVEAGENT-SEQUENCE is not above the last
 *   one seen is a duplicate: 200, and nothing happens.
 * - a chat message or typing before ChatEstablished answers 500 (the documented Null Pointer).
 * - with no agent available ChasitorInit is answered by ChatRequestFail `reason: "Unavailable"`.
 * - prechatEntities are found when the agent accepts the chat (as the console does) and again at the end;
 *   `saveToTranscript` sets the lookup on the LiveChatTranscript. Nothing is created (doCreate is ignored).
 * - 503 (affinity change): after `changeAffinity()` every call with the old token answers 503, a held
 *   poll included, until the client calls ReconnectSession (which accepts any token the session had).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { serveOnLoopback } from '../loopback-server';
import { CONVERSATION_KEY_LABEL } from '../../../bridge/src/salesforce/legacy-chat/prechat';
import type { AgentChatStatus, AgentChatView, AgentConsole, AgentSideMessage } from '../agent-console';
import { agentConsoleRoutes, waitUntil } from '../agent-console';

/** The pre-chat detail label the bridge puts the Haptik conversation key under (the chat's conversationKey). */
export const HAPTIK_KEY_LABEL = CONVERSATION_KEY_LABEL;

type SfRecord = Record<string, unknown>;

/** The part of the Salesforce emulator used for LiveChatTranscript records and pre-chat entity finds. */
export interface TranscriptStore {
    insert(type: string, fields: SfRecord): SfRecord;
    records(type: string): SfRecord[];
    update?(type: string, id: string, fields: SfRecord): void;
}

export interface LiveAgentEmulatorOptions {
    orgId: string;
    deploymentId: string;
    buttonId: string;
    salesforce?: TranscriptStore;
    port?: number;
    host?: string;
    /** How long a Messages poll is held before 204 (Salesforce: 30–40 s; tests use a few hundred ms). */
    pollHoldMs?: number;
    /** `clientPollTimeout` returned by SessionId, in seconds (observed: 40). */
    clientPollTimeoutSeconds?: number;
}

export type LiveAgentCall =
    'session' | 'init' | 'messages' | 'message' | 'typing' | 'end' | 'reconnect' | 'resync' | 'availability' | 'any';

/** One injected failure for the next matching call (control routes are never hit). */
export type LiveAgentFailure = { on?: LiveAgentCall } & (
    | { status: 500 | 503 }
    /** Drops the connection before handling the call. */
    | { resetConnection: true }
    /** Handles the call, then drops the connection instead of answering. */
    | { dropResponse: true }
);

export interface LiveAgentMessage {
    type: string;
    message: Record<string, unknown>;
}

export interface PrechatDetail {
    label: string;
    value: string;
    transcriptFields: string[];
    displayToAgent: boolean;
}

export interface LiveAgentChat extends AgentChatView {
    sessionId: string;
    /** The LiveChatTranscript record of the chat. */
    transcriptId: string;
    prechatDetails: PrechatDetail[];
    prechatEntities: unknown[];
    visitorName: string;
    language: string;
    endedBy?: 'Agent' | 'Visitor' | 'System';
    /** Messages in the session's log (the last position). */
    lastPosition: number;
}

export interface RecordedLiveAgentRequest {
    method: string;
    path: string;
    status: number;
    at: number;
    /** X-LIVEAGENT-SEQUENCE of a POST, when sent. */
    sequence?: number;
    /** The POST was a duplicate by sequence and was dropped. */
    duplicate?: boolean;
    /** `ack` of a Messages poll. */
    ack?: number;
}

export interface LiveAgentEmulator extends AgentConsole {
    readonly kind: 'legacy';
    /** The Chat API endpoint an org shows in Setup (SF_LIVEAGENT_URL): `<url>/chat`. */
    readonly endpoint: string;
    conversations(): LiveAgentChat[];
    /** The session's message log, as sent to the visitor. */
    events(conversationId: string): LiveAgentMessage[];
    /** The server moves the session: calls with the current affinity token get 503 until ReconnectSession. */
    changeAffinity(conversationId?: string): void;
    /** Answers every held poll with 204 at once. */
    releasePolls(): void;
    failNext(count: number, failure: LiveAgentFailure): void;
    readonly requests: readonly RecordedLiveAgentRequest[];
    readonly stats: {
        sessions: number;
        polls: number;
        /** Polls refused with 409 because one was already open for the session. */
        conflicts: number;
        /** Most polls open at once for one session. */
        maxConcurrentPolls: number;
        reconnects: number;
        duplicatesDropped: number;
    };
    waitFor<T>(probe: (emulator: LiveAgentEmulator) => T | undefined | false, timeoutMs?: number): Promise<T>;
}

interface HeldPoll {
    res: ServerResponse;
    timer: NodeJS.Timeout;
    /** The request log entry, completed with the status the poll ends with. */
    entry: RecordedLiveAgentRequest;
}

interface Session {
    id: string;
    key: string;
    affinityToken: string;
    /** Tokens the session had before (ReconnectSession accepts them). */
    oldTokens: Set<string>;
    /** Calls with the current token answer 503 until ReconnectSession. */
    moved: boolean;
    state: 'new' | 'waiting' | 'established' | 'ended';
    lastSequence: number;
    log: LiveAgentMessage[];
    /** Messages up to this position were received by the client. */
    ackedPosition: number;
    batches: Map<number, number>;
    batchCounter: number;
    openPolls: Set<HeldPoll>;
    receiveQueueUpdates: boolean;
    prechatDetails: PrechatDetail[];
    prechatEntities: unknown[];
    visitorName: string;
    language: string;
    transcriptId: string;
    agent?: { name: string; userId: string };
    endedBy?: 'Agent' | 'Visitor' | 'System';
    userMessages: AgentSideMessage[];
    transcript: Array<{
        type: 'Agent' | 'Chasitor' | 'OperatorTransferred';
        name: string;
        content: string;
        at: number;
    }>;
}

class HttpError extends Error {
    constructor(
        readonly status: number,
        message: string
    ) {
        super(message);
    }
}

const REST = '/chat/rest/';
const agentUserId = (name: string): string =>
    `005${createHash('sha1').update(name).digest('hex').slice(0, 12).toUpperCase()}`;
const sameId = (a: unknown, b: string): boolean => typeof a === 'string' && a.slice(0, 15) === b.slice(0, 15);

export async function startLiveAgentEmulator(options: LiveAgentEmulatorOptions): Promise<LiveAgentEmulator> {
    const pollHoldMs = options.pollHoldMs ?? 30_000;
    const clientPollTimeout = options.clientPollTimeoutSeconds ?? 40;
    const sessions = new Map<string, Session>();
    const byId = new Map<string, Session>();
    const failures: LiveAgentFailure[] = [];
    const requests: RecordedLiveAgentRequest[] = [];
    const stats = { sessions: 0, polls: 0, conflicts: 0, maxConcurrentPolls: 0, reconnects: 0, duplicatesDropped: 0 };
    let available = true;
    let waitSeconds: number | undefined = 30;
    let queuePosition: number | undefined;
    let transcriptCounter = 0;

    const newAffinity = (): string => randomBytes(4).toString('hex');

    const transcript = (session: Session, fields: SfRecord): void => {
        options.salesforce?.update?.('LiveChatTranscript', session.transcriptId, fields);
    };

    const respond = (res: ServerResponse, status: number, body?: unknown): void => {
        if (res.writableEnded || res.destroyed) return;
        if (body === undefined) {
            res.writeHead(status).end();
            return;
        }
        const text = typeof body === 'string' ? body : JSON.stringify(body);
        res.writeHead(status, {
            'Content-Type': typeof body === 'string' ? 'text/plain' : 'application/json',
            'Content-Length': Buffer.byteLength(text)
        });
        res.end(text);
    };

    /** The pending messages as one 200, or undefined when none are pending. */
    const nextBatch = (session: Session): unknown => {
        if (session.ackedPosition >= session.log.length) return undefined;
        const messages = session.log.slice(session.ackedPosition);
        session.batchCounter += 1;
        session.batches.set(session.batchCounter, session.log.length);
        return { messages, sequence: session.batchCounter, offset: session.log.length };
    };

    const closePoll = (session: Session, poll: HeldPoll, status: number, body?: unknown): void => {
        clearTimeout(poll.timer);
        session.openPolls.delete(poll);
        if (!poll.res.writableEnded && !poll.res.destroyed) poll.entry.status = status;
        respond(poll.res, status, body);
    };

    const flush = (session: Session): void => {
        for (const poll of [...session.openPolls]) {
            const batch = nextBatch(session);
            if (batch === undefined) return;
            closePoll(session, poll, 200, batch);
        }
    };

    const append = (session: Session, type: string, message: Record<string, unknown>): number => {
        session.log.push({ type, message });
        flush(session);
        return session.log.length;
    };

    /** Finds the pre-chat entities (doFind) and links what is found to the transcript (saveToTranscript). */
    const findEntities = (session: Session): void => {
        const store = options.salesforce;
        if (!store?.update) return;
        const values = new Map(session.prechatDetails.map((d) => [d.label, d.value]));
        const links: SfRecord = {};
        for (const raw of session.prechatEntities) {
            const entity = raw as {
                entityName?: unknown;
                saveToTranscript?: unknown;
                entityFieldsMaps?: Array<{ fieldName?: unknown; label?: unknown; doFind?: unknown }>;
            };
            if (typeof entity.entityName !== 'string' || typeof entity.saveToTranscript !== 'string') continue;
            if (entity.saveToTranscript === '') continue;
            const finds = (entity.entityFieldsMaps ?? []).filter(
                (m) => m.doFind === true && typeof m.fieldName === 'string' && typeof m.label === 'string'
            );
            if (finds.length === 0) continue;
            let records: SfRecord[];
            try {
                records = store.records(entity.entityName);
            } catch {
                continue;
            }
            const match = records.find((r) =>
                finds.every((m) => {
                    const value = values.get(m.label as string);
                    const field = r[m.fieldName as string];
                    return (
                        value !== undefined && typeof field === 'string' && field.toLowerCase() === value.toLowerCase()
                    );
                })
            );
            if (typeof match?.Id === 'string') links[entity.saveToTranscript] = match.Id;
        }
        if (Object.keys(links).length > 0) transcript(session, links);
    };

    const endChat = (session: Session, by: 'Agent' | 'Visitor' | 'System', status = 'Completed'): void => {
        if (session.state === 'ended') return;
        session.state = 'ended';
        session.endedBy = by;
        findEntities(session);
        const body = session.transcript
            .map((t) => `(${new Date(t.at).toISOString()}) ${t.name}: ${t.content}`)
            .join('\n')
            .slice(0, 131_072);
        transcript(session, { Status: status, EndTime: new Date().toISOString(), EndedBy: by, Body: body });
    };

    const sessionByKey = (req: IncomingMessage): Session => {
        const key = header(req, 'x-liveagent-session-key');
        const session = key === undefined ? undefined : sessions.get(key);
        if (!session) throw new HttpError(403, 'Session is not valid');
        return session;
    };

    const header = (req: IncomingMessage, name: string): string | undefined => {
        const value = req.headers[name];
        return typeof value === 'string' ? value : undefined;
    };

    const checkVersion = (req: IncomingMessage): void => {
        const version = Number(header(req, 'x-liveagent-api-version'));
        if (!Number.isFinite(version) || version < 29) {
            throw new HttpError(400, 'X-LIVEAGENT-API-VERSION is missing or below 29');
        }
    };

    const checkAffinity = (req: IncomingMessage, session: Session): void => {
        const token = header(req, 'x-liveagent-affinity');
        if (token === undefined) throw new HttpError(400, 'X-LIVEAGENT-AFFINITY is required');
        if (session.moved || token !== session.affinityToken) throw new HttpError(503, 'Affinity token changed');
    };

    /** Reads the POST sequence; true when it is new (the call goes ahead), false for a duplicate. */
    const checkSequence = (req: IncomingMessage, session: Session, entry: RecordedLiveAgentRequest): boolean => {
        const raw = header(req, 'x-liveagent-sequence');
        const sequence = Number(raw);
        if (raw === undefined || !Number.isInteger(sequence) || sequence < 0) {
            throw new HttpError(400, 'X-LIVEAGENT-SEQUENCE is required');
        }
        entry.sequence = sequence;
        if (sequence <= session.lastSequence) {
            entry.duplicate = true;
            stats.duplicatesDropped += 1;
            return false;
        }
        session.lastSequence = sequence;
        return true;
    };

    const chasitorInit = (session: Session, body: Record<string, unknown>): void => {
        if (session.state !== 'new') throw new HttpError(400, 'ChasitorInit was already called for this session');
        if (body.sessionId !== session.id) throw new HttpError(400, 'sessionId does not match the session');
        if (!sameId(body.organizationId, options.orgId)) throw new HttpError(400, 'Invalid organizationId');
        if (!sameId(body.deploymentId, options.deploymentId)) throw new HttpError(400, 'Invalid deploymentId');
        if (!sameId(body.buttonId, options.buttonId)) throw new HttpError(400, 'Invalid buttonId');
        const details = Array.isArray(body.prechatDetails) ? (body.prechatDetails as unknown[]) : [];
        const prechatDetails: PrechatDetail[] = [];
        for (const raw of details) {
            const d = raw as Record<string, unknown>;
            if (typeof d.label !== 'string' || typeof d.value !== 'string' || !Array.isArray(d.transcriptFields)) {
                throw new HttpError(400, 'CustomDetail needs label, value and transcriptFields');
            }
            prechatDetails.push({
                label: d.label,
                value: d.value,
                transcriptFields: d.transcriptFields.filter((f): f is string => typeof f === 'string'),
                displayToAgent: d.displayToAgent === true
            });
        }
        const entities = Array.isArray(body.prechatEntities) ? (body.prechatEntities as unknown[]) : [];
        for (const raw of entities) {
            const e = raw as Record<string, unknown>;
            if (typeof e.entityName !== 'string' || !Array.isArray(e.entityFieldsMaps)) {
                throw new HttpError(400, 'Entity needs entityName and entityFieldsMaps');
            }
        }
        session.prechatDetails = prechatDetails;
        session.prechatEntities = entities;
        session.visitorName = typeof body.visitorName === 'string' ? body.visitorName : 'Visitor';
        session.language = typeof body.language === 'string' ? body.language : '';
        session.receiveQueueUpdates = body.receiveQueueUpdates === true;
        session.state = 'waiting';
        const now = new Date().toISOString();
        const fields: SfRecord = {
            Status: 'Waiting',
            ChatKey: session.id,
            LiveChatDeploymentId: options.deploymentId,
            LiveChatButtonId: options.buttonId,
            RequestTime: now
        };
        for (const d of prechatDetails) for (const f of d.transcriptFields) fields[f] = d.value;
        const record = options.salesforce?.insert('LiveChatTranscript', fields);
        transcriptCounter += 1;
        session.transcriptId =
            typeof record?.Id === 'string' ? record.Id : `570${String(transcriptCounter).padStart(15, '0')}`;
        if (!available) {
            append(session, 'ChatRequestFail', { reason: 'Unavailable', postChatUrl: '' });
            endChat(session, 'System', 'Missed');
            return;
        }
        append(session, 'ChatRequestSuccess', {
            queuePosition: queuePosition ?? 1,
            estimatedWaitTime: waitSeconds ?? -1,
            geoLocation: {},
            url: '',
            oref: '',
            postChatUrl: '',
            customDetails: prechatDetails,
            visitorId: randomUUID(),
            connectionTimeout: 150_000,
            sensitiveDataRules: [],
            transcriptSaveEnabled: false
        });
    };

    const chasitorPost = (
        noun: string,
        session: Session,
        body: Record<string, unknown>,
        fresh: boolean
    ): [number, unknown] => {
        if (noun === 'ChasitorInit') {
            if (fresh) chasitorInit(session, body);
            return [200, 'OK'];
        }
        if (noun === 'ChasitorResyncState') {
            if (!sameId(body.organizationId, options.orgId)) throw new HttpError(400, 'Invalid organizationId');
            return [200, 'OK'];
        }
        if (session.state === 'ended') throw new HttpError(403, 'Session is not valid');
        if (noun === 'ChatEnd') {
            if (body.reason !== 'client') throw new HttpError(400, 'ChatEndReason must be client');
            if (fresh) {
                endChat(session, 'Visitor');
                for (const poll of [...session.openPolls]) closePoll(session, poll, 403);
            }
            return [200, { attachedRecords: [] }];
        }
        if (session.state !== 'established') {
            throw new HttpError(500, 'Null Pointer: the chat is not established');
        }
        if (!fresh) return [200, 'OK'];
        switch (noun) {
            case 'ChatMessage': {
                if (typeof body.text !== 'string') throw new HttpError(400, 'text is required');
                const at = Date.now();
                session.userMessages.push({ id: String(session.lastSequence), text: body.text, at });
                session.transcript.push({ type: 'Chasitor', name: session.visitorName, content: body.text, at });
                return [200, 'OK'];
            }
            case 'ChasitorTyping':
            case 'ChasitorNotTyping':
            case 'ChasitorSneakPeek':
                return [200, 'OK'];
            default:
                throw new HttpError(404, `Unknown resource Chasitor/${noun}`);
        }
    };

    const poll = (req: IncomingMessage, res: ServerResponse, url: URL, entry: RecordedLiveAgentRequest): boolean => {
        const session = sessionByKey(req);
        checkAffinity(req, session);
        const ack = Number(url.searchParams.get('ack') ?? '-1');
        if (!Number.isInteger(ack)) throw new HttpError(400, 'ack must be a number');
        entry.ack = ack;
        stats.polls += 1;
        if (session.openPolls.size > 0) {
            // "A duplicate long poll using the same session ID has caused the chat to terminate."
            stats.conflicts += 1;
            stats.maxConcurrentPolls = Math.max(stats.maxConcurrentPolls, session.openPolls.size + 1);
            for (const open of [...session.openPolls]) closePoll(session, open, 409);
            endChat(session, 'System', 'Dropped');
            throw new HttpError(409, 'Duplicate long poll; the chat was terminated');
        }
        if (ack >= 0) {
            const end = session.batches.get(ack);
            if (end !== undefined) session.ackedPosition = end;
        }
        const batch = nextBatch(session);
        if (batch !== undefined) {
            entry.status = 200;
            respond(res, 200, batch);
            return true;
        }
        if (session.state === 'ended') throw new HttpError(403, 'Session is not valid');
        const held: HeldPoll = {
            res,
            entry,
            timer: setTimeout(() => closePoll(session, held, 204), pollHoldMs)
        };
        session.openPolls.add(held);
        stats.maxConcurrentPolls = Math.max(stats.maxConcurrentPolls, session.openPolls.size);
        res.on('close', () => {
            clearTimeout(held.timer);
            session.openPolls.delete(held);
        });
        // Held: the status is filled in when the poll ends (0 = still open, or the client went away).
        return true;
    };

    const reconnect = (req: IncomingMessage, url: URL): [number, unknown] => {
        const session = sessionByKey(req);
        const token = header(req, 'x-liveagent-affinity');
        if (token === undefined) throw new HttpError(400, 'X-LIVEAGENT-AFFINITY is required');
        if (token !== session.affinityToken && !session.oldTokens.has(token)) {
            throw new HttpError(403, 'Unknown affinity token for this session');
        }
        if (session.state === 'ended') throw new HttpError(403, 'Session is not valid');
        const offset = Number(url.searchParams.get('ReconnectSession.offset') ?? 'NaN');
        if (!Number.isInteger(offset) || offset < 0) throw new HttpError(400, 'ReconnectSession.offset is required');
        stats.reconnects += 1;
        for (const open of [...session.openPolls]) closePoll(session, open, 503);
        session.oldTokens.add(session.affinityToken);
        session.affinityToken = newAffinity();
        session.moved = false;
        session.lastSequence = 0;
        session.ackedPosition = Math.min(offset, session.log.length);
        append(session, 'ChasitorSessionData', {
            queuePosition: session.state === 'waiting' ? (queuePosition ?? 1) : 0,
            geoLocation: {},
            url: '',
            oref: '',
            postChatUrl: '',
            sneakPeekEnabled: false,
            chatMessages: session.transcript.map((t, i) => ({
                type: t.type,
                name: t.name,
                content: t.content,
                timestamp: t.at,
                sequence: i + 1
            }))
        });
        return [
            200,
            {
                messages: [
                    { type: 'ReconnectSession', message: { resetSequence: true, affinityToken: session.affinityToken } }
                ]
            }
        ];
    };

    const availability = (url: URL): [number, unknown] => {
        if (!sameId(url.searchParams.get('org_id') ?? '', options.orgId)) throw new HttpError(400, 'Invalid org_id');
        if (!sameId(url.searchParams.get('deployment_id') ?? '', options.deploymentId)) {
            throw new HttpError(400, 'Invalid deployment_id');
        }
        const ids = (url.searchParams.get('Availability.ids') ?? '')
            .replace(/^\[|\]$/g, '')
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '');
        const needWait = url.searchParams.get('Availability.needEstimatedWaitTime') === '1';
        const results = ids.map((id) =>
            sameId(id, options.buttonId) && available
                ? { id, isAvailable: true, ...(needWait ? { estimatedWaitTime: waitSeconds ?? -1 } : {}) }
                : { id }
        );
        return [200, { messages: [{ type: 'Availability', message: { results } }] }];
    };

    const classify = (method: string, resource: string): LiveAgentCall => {
        if (resource.startsWith('System/SessionId')) return 'session';
        if (resource === 'System/Messages') return 'messages';
        if (resource === 'System/ReconnectSession') return 'reconnect';
        if (resource === 'Chasitor/ChasitorInit') return 'init';
        if (resource === 'Chasitor/ChatMessage') return 'message';
        if (resource === 'Chasitor/ChatEnd') return 'end';
        if (resource === 'Chasitor/ChasitorResyncState') return 'resync';
        if (resource.startsWith('Chasitor/Chasitor')) return 'typing';
        if (resource === 'Visitor/Availability') return 'availability';
        return method === 'GET' ? 'messages' : 'any';
    };

    const readBody = async (req: IncomingMessage): Promise<string> => {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks).toString('utf8');
    };

    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
        const url = new URL(req.url ?? '/', 'http://emulator');
        const method = req.method ?? 'GET';
        const raw = await readBody(req);
        let body: Record<string, unknown> = {};
        const parseError = (() => {
            if (raw === '') return false;
            try {
                body = JSON.parse(raw) as Record<string, unknown>;
                return false;
            } catch {
                return true;
            }
        })();
        if (url.pathname.startsWith('/__emulator/')) {
            try {
                if (parseError) throw new Error('Malformed JSON');
                const [status, answer] = handleControl(method, url.pathname.slice(12).split('/'), body);
                return respond(res, status, answer);
            } catch (error) {
                return respond(res, 400, { message: (error as Error).message });
            }
        }
        const entry: RecordedLiveAgentRequest = { method, path: url.pathname, status: 0, at: Date.now() };
        requests.push(entry);
        const fail = (status: number, message: string): void => {
            entry.status = status;
            respond(res, status, message);
        };
        if (!url.pathname.startsWith(REST)) return fail(404, 'Not found');
        const resource = url.pathname.slice(REST.length);
        const kind = classify(method, resource);
        const index = failures.findIndex((f) => (f.on ?? 'any') === 'any' || f.on === kind);
        const failure = index >= 0 ? failures.splice(index, 1)[0] : undefined;
        if (failure && 'resetConnection' in failure) {
            entry.status = -1;
            req.socket.destroy();
            return;
        }
        if (failure && 'status' in failure) return fail(failure.status, 'Injected failure');
        try {
            if (parseError) throw new HttpError(400, 'Malformed JSON');
            checkVersion(req);
            let answer: [number, unknown];
            if (resource === 'System/SessionId' && method === 'GET') {
                if (header(req, 'x-liveagent-affinity') === undefined) {
                    throw new HttpError(400, 'X-LIVEAGENT-AFFINITY is required (send null)');
                }
                const id = randomUUID();
                const session: Session = {
                    id,
                    key: `${id}!${Date.now()}!${randomBytes(12).toString('base64url')}`,
                    affinityToken: newAffinity(),
                    oldTokens: new Set(),
                    moved: false,
                    state: 'new',
                    lastSequence: 0,
                    log: [],
                    ackedPosition: 0,
                    batches: new Map(),
                    batchCounter: 0,
                    openPolls: new Set(),
                    receiveQueueUpdates: false,
                    prechatDetails: [],
                    prechatEntities: [],
                    visitorName: '',
                    language: '',
                    transcriptId: '',
                    userMessages: [],
                    transcript: []
                };
                sessions.set(session.key, session);
                byId.set(id, session);
                stats.sessions += 1;
                answer = [200, { id, key: session.key, affinityToken: session.affinityToken, clientPollTimeout }];
            } else if (resource.startsWith('System/SessionId/') && method === 'DELETE') {
                const session = sessions.get(decodeURIComponent(resource.slice('System/SessionId/'.length)));
                if (!session) throw new HttpError(403, 'Session is not valid');
                checkAffinity(req, session);
                endChat(session, 'Visitor');
                for (const open of [...session.openPolls]) closePoll(session, open, 403);
                answer = [200, 'OK'];
            } else if (resource === 'System/Messages' && method === 'GET') {
                poll(req, res, url, entry);
                if (failure && 'dropResponse' in failure) {
                    entry.status = -1;
                    req.socket.destroy();
                }
                return;
            } else if (resource === 'System/ReconnectSession' && method === 'GET') {
                answer = reconnect(req, url);
            } else if (resource === 'Visitor/Availability' && method === 'GET') {
                answer = availability(url);
            } else if (resource.startsWith('Chasitor/') && method === 'POST') {
                const session = sessionByKey(req);
                checkAffinity(req, session);
                const noun = resource.slice('Chasitor/'.length);
                const fresh = noun === 'ChasitorResyncState' ? true : checkSequence(req, session, entry);
                answer = chasitorPost(noun, session, body, fresh);
            } else if (resource.startsWith('Chasitor/') || resource.startsWith('System/')) {
                throw new HttpError(405, 'Method not allowed');
            } else {
                throw new HttpError(404, 'Not found');
            }
            if (failure && 'dropResponse' in failure) {
                entry.status = -1;
                req.socket.destroy();
                return;
            }
            entry.status = answer[0];
            respond(res, answer[0], answer[1]);
        } catch (error) {
            const e = error instanceof HttpError ? error : new HttpError(500, String(error));
            fail(e.status, e.message);
        }
    };

    const control = (id: string): Session => {
        const session = byId.get(id);
        if (!session) throw new Error(`unknown chat ${id}`);
        return session;
    };

    const requireAgent = (session: Session): { name: string; userId: string } => {
        if (!session.agent || session.state !== 'established') throw new Error('no agent in this chat');
        return session.agent;
    };

    const statusOf = (session: Session): AgentChatStatus =>
        session.state === 'established' ? 'Active' : session.state === 'ended' ? 'Ended' : 'Waiting';

    const handleControl = (method: string, path: string[], body: Record<string, unknown>): [number, unknown] =>
        agentConsoleRoutes(
            emulator,
            () => stats,
            (verb, { what, id, action }, data) => {
                if (verb !== 'POST') return undefined;
                if (what === 'conversations' && id !== undefined && action === 'change-affinity') {
                    emulator.changeAffinity(id);
                    return [200, {}];
                }
                if (what === 'change-affinity') {
                    emulator.changeAffinity();
                    return [200, {}];
                }
                if (what !== 'fail-next') return undefined;
                const count = typeof data.count === 'number' ? data.count : 1;
                const on = typeof data.on === 'string' ? (data.on as LiveAgentCall) : undefined;
                const scope = on === undefined ? {} : { on };
                if (data.resetConnection === true) emulator.failNext(count, { ...scope, resetConnection: true });
                else if (data.dropResponse === true) emulator.failNext(count, { ...scope, dropResponse: true });
                else emulator.failNext(count, { ...scope, status: data.status === 500 ? 500 : 503 });
                return [200, {}];
            }
        )(method, path, body);

    const server = await serveOnLoopback(handle, (res, error) => respond(res, 500, String(error)), options);
    const url = server.url;

    const emulator: LiveAgentEmulator = {
        kind: 'legacy',
        url,
        endpoint: `${url}/chat`,
        close: () => {
            for (const session of sessions.values()) {
                for (const open of session.openPolls) clearTimeout(open.timer);
                session.openPolls.clear();
            }
            return server.close();
        },
        setAvailability: (value) => {
            available = value;
        },
        setWaitTime: (seconds, position) => {
            waitSeconds = seconds;
            queuePosition = position;
            if (position === undefined) return;
            for (const session of sessions.values()) {
                if (session.state === 'waiting' && session.receiveQueueUpdates) {
                    append(session, 'QueueUpdate', { position, estimatedWaitTime: seconds ?? -1 });
                }
            }
        },
        accept: (conversationId, agentName) => {
            const session = control(conversationId);
            if (session.state === 'ended') throw new Error('the chat has ended');
            if (session.state === 'new') throw new Error('the chat was not requested yet');
            const agent = { name: agentName, userId: agentUserId(agentName) };
            session.agent = agent;
            session.state = 'established';
            append(session, 'ChatEstablished', {
                name: agentName,
                userId: agent.userId,
                items: [],
                sneakPeekEnabled: false,
                chasitorIdleTimeout: { isEnabled: false }
            });
            transcript(session, { Status: 'InProgress', StartTime: new Date().toISOString(), OwnerId: agent.userId });
            findEntities(session);
        },
        agentMessage: (conversationId, text) => {
            const session = control(conversationId);
            const agent = requireAgent(session);
            session.transcript.push({ type: 'Agent', name: agent.name, content: text, at: Date.now() });
            const position = append(session, 'ChatMessage', {
                name: agent.name,
                text,
                schedule: { responseDelayMilliseconds: 0 },
                agentId: agent.userId
            });
            return String(position);
        },
        agentTyping: (conversationId, on) => {
            const session = control(conversationId);
            const agent = requireAgent(session);
            append(
                session,
                on ? 'AgentTyping' : 'AgentNotTyping',
                on ? { name: agent.name, agentId: randomUUID() } : {}
            );
        },
        transfer: (conversationId, toAgentName) => {
            const session = control(conversationId);
            const from = requireAgent(session);
            const to = { name: toAgentName, userId: agentUserId(toAgentName) };
            session.agent = to;
            session.transcript.push({ type: 'OperatorTransferred', name: from.name, content: to.name, at: Date.now() });
            append(session, 'ChatTransferred', {
                name: to.name,
                userId: to.userId,
                sneakPeekEnabled: false,
                chasitorIdleTimeout: { isEnabled: false }
            });
            transcript(session, { OwnerId: to.userId });
        },
        end: (conversationId) => {
            const session = control(conversationId);
            if (session.state === 'ended') return;
            append(session, 'ChatEnded', { reason: 'agent', attachedRecords: [] });
            endChat(session, 'Agent');
        },
        routingFailure: (conversationId, reason) => {
            const session = control(conversationId);
            if (session.state === 'ended') return;
            append(session, 'ChatRequestFail', { reason: reason ?? 'Unavailable', postChatUrl: '' });
            endChat(session, 'System', 'Missed');
        },
        changeAffinity: (conversationId) => {
            const targets = conversationId === undefined ? [...byId.values()] : [control(conversationId)];
            for (const session of targets) {
                if (session.state === 'ended') continue;
                session.moved = true;
                for (const open of [...session.openPolls]) closePoll(session, open, 503, 'Affinity token changed');
            }
        },
        releasePolls: () => {
            for (const session of sessions.values()) {
                for (const open of [...session.openPolls]) closePoll(session, open, 204);
            }
        },
        failNext: (count, failure) => {
            for (let i = 0; i < count; i++) failures.push(failure);
        },
        conversations: () =>
            [...byId.values()]
                .filter((s) => s.state !== 'new')
                .map((s) => {
                    const routingAttributes = Object.fromEntries(s.prechatDetails.map((d) => [d.label, d.value]));
                    const key = s.prechatDetails.find((d) => d.label === HAPTIK_KEY_LABEL)?.value;
                    return {
                        conversationId: s.id,
                        sessionId: s.id,
                        routingAttributes,
                        status: statusOf(s),
                        ...(s.agent ? { agentName: s.agent.name } : {}),
                        ...(key === undefined ? {} : { conversationKey: key }),
                        transcriptId: s.transcriptId,
                        prechatDetails: s.prechatDetails.map((d) => ({ ...d })),
                        prechatEntities: structuredClone(s.prechatEntities),
                        visitorName: s.visitorName,
                        language: s.language,
                        ...(s.endedBy === undefined ? {} : { endedBy: s.endedBy }),
                        lastPosition: s.log.length
                    };
                }),
        messagesFrom: (conversationId) => control(conversationId).userMessages.map((m) => ({ ...m })),
        events: (conversationId) => control(conversationId).log.map((m) => structuredClone(m)),
        requests,
        stats,
        waitFor: (probe, timeoutMs) => waitUntil(() => probe(emulator), timeoutMs)
    };
    return emulator;
}
