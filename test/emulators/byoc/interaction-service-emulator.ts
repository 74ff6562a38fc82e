/**
 * A Salesforce Bring Your Own Channel emulator: the Interaction Service API over HTTP on loopback (the SCRT2
 * host, `/api/v1/…`), whose rep-side answers go out as a custom platform event on the Pub/Sub emulator, as a
 * real org's Messaging channel of type Custom does. Tests and the demo play the Service Console agent
 * through the AgentConsole interface (or JSON routes under `/__emulator/`).
 *
 * Copied from the documentation (salesforce-misc/interaction-service-apis @ be9d014: README.md,
 * inbound-interaction-api.yaml, outbound-custom-event-payload.yaml, ERRORCODES.md; salesforce.md §3.3):
 * - every call needs `Authorization: Bearer`, `OrgId`, `AuthorizationContext` (the ConversationChannelDefinition
 *   developer name) and `RequestId` (a UUID); errors are `{code, message}` with the documented codes (10003
 *   scope missing, 10004 bad token, 10016 bad header, 10017 unknown channel address, 10057 history import only
 *   for CCaaS, 10073 a message id used before, 10071 session not found…);
 * - `POST /interactions` is multipart/form-data with a `json` part `{to, from, routingAttributes?,
 *   interactions:[one]}` → 202 `{conversationIdentifier, id, workItemIds, success}`; the first message of an end
 *   user with no open session starts a MessagingSession (Waiting) and routes it;
 * - `POST /conversationHistory` (JSON, CCaaS only), `POST /acknowledgement` (≤ 25, Read/Delivered),
 *   `POST /messagingSession` (operation End), `PATCH /capabilities`;
 * - outbound: the event's payload field holds the conversation entry as a JSON string, flat for a text message
 *   (the documented text example, no conversationIdentifier) and nested under `payload` next to
 *   `conversationIdentifier` otherwise; the event type field says `Interaction`.
 *
 * Choices where nothing is documented: HTTP statuses per code (400 input, 401 token, 403 scope/context/CCaaS,
 * 404 unknown path); one conversation per end user and channel, new sessions in it after an end; no agent
 * available leaves the session Waiting (Omni-Channel keeps it queued).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { serveOnLoopback } from '../loopback-server';
import { participantChangedPayload, routingResultPayload, textMessagePayload } from '../enhanced-chat/entries';
import type { ParticipantRole } from '../enhanced-chat/entries';
import { agentConsoleRoutes, waitUntil } from '../agent-console';
import type { AgentConsole, AgentChatStatus, SharedChatFailure } from '../agent-console';
import type { MessagingSessionStore } from '../enhanced-chat';
import type { PubSubEmulator } from './pubsub-emulator';

export interface InteractionServiceEmulatorOptions {
    orgId: string;
    /** The Messaging channel's channel address identifier (`to`). */
    channelAddress: string;
    /** ConversationChannelDefinition developer name (`AuthorizationContext`). */
    channelDefinition: string;
    /** The outbound platform event's topic and its fields. */
    event: { topicName: string; payloadField: string; eventTypeField: string };
    pubsub: PubSubEmulator;
    /** The org's token check: scopes of a valid token, undefined otherwise. */
    tokenScopes: (token: string) => string[] | undefined;
    salesforce?: MessagingSessionStore;
    /** BYOC for Messaging refuses history import (10057); BYOC for CCaaS takes it. Default `messaging`. */
    product?: 'messaging' | 'ccaas';
    port?: number;
    host?: string;
}

export interface ByocFailure {
    on?: 'interaction' | 'message' | 'history' | 'any';
    status: 500 | 503;
}

export interface ByocConversationView {
    conversationId: string;
    routingAttributes: Record<string, unknown>;
    status: AgentChatStatus;
    agentName?: string;
    conversationKey?: string;
    endUserId: string;
    messagingSessionId: string;
    sessionEndedByRole?: string;
    userTyping: boolean;
    /** Bot history imported through /conversationHistory into this session. */
    history: Array<{ role: string; text: string }>;
    acknowledgements: Array<{ type: string; entryId: string }>;
}

export interface InteractionServiceEmulator extends AgentConsole {
    conversations(): ByocConversationView[];
    failNext(count: number, failure: ByocFailure | SharedChatFailure): void;
    /** Sets the product: `ccaas` accepts /conversationHistory. */
    setProduct(product: 'messaging' | 'ccaas'): void;
    readonly capabilities: unknown[];
    waitFor<T>(probe: (emulator: InteractionServiceEmulator) => T | undefined | false, timeoutMs?: number): Promise<T>;
}

interface Session {
    messagingSessionId: string;
    status: AgentChatStatus;
    routingAttributes: Record<string, unknown>;
    history: Array<{ role: string; text: string }>;
    endedByRole?: string;
    routed: boolean;
}

interface Conversation {
    id: string;
    endUserId: string;
    session?: Session;
    agent?: { name: string; subject: string };
    userTyping: boolean;
    messages: Array<{ id: string; text: string; at: number }>;
    messageIds: Set<string>;
    acknowledgements: Array<{ type: string; entryId: string }>;
}

class ApiError extends Error {
    constructor(
        readonly status: number,
        readonly code: number,
        message: string
    ) {
        super(message);
    }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const agentSubject = (name: string): string =>
    `005${createHash('sha1').update(name).digest('hex').slice(0, 12).toUpperCase()}`;
const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const asRecord = (value: unknown): Record<string, unknown> | undefined =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : undefined;

export async function startInteractionServiceEmulator(
    options: InteractionServiceEmulatorOptions
): Promise<InteractionServiceEmulator> {
    let product = options.product ?? 'messaging';
    let available = true;
    let waitSeconds: number | undefined = 30;
    let queuePosition: number | undefined;
    let sessionCounter = 0;
    const conversations = new Map<string, Conversation>();
    const failures: Array<ByocFailure | SharedChatFailure> = [];
    const requests: Array<{ method: string; path: string; status: number; at: number }> = [];
    const capabilities: unknown[] = [];

    const byId = (id: string): Conversation => {
        const conv = [...conversations.values()].find((c) => c.id === id.toLowerCase());
        if (!conv) throw new Error(`unknown conversation ${id}`);
        return conv;
    };

    /** Publishes one conversation entry as the org's outbound platform event. */
    const publish = (
        conv: Conversation,
        entryType: string,
        entryPayload: Record<string, unknown>,
        sender: { role: ParticipantRole; subject: string; appType: string },
        senderDisplayName: string,
        identifier: string = randomUUID()
    ): string => {
        const at = Date.now();
        const entry = {
            senderDisplayName,
            identifier,
            entryType,
            entryPayload: { entryType, id: identifier, ...entryPayload },
            sender,
            transcriptedTimestamp: at,
            clientTimestamp: at,
            clientDuration: 0
        };
        const recipient = { appType: 'custom', subject: conv.endUserId, role: 'EndUser' };
        const body =
            entryType === 'Message'
                ? { channelAddressIdentifier: options.channelAddress, recipient, ...entry }
                : {
                      conversationIdentifier: conv.id,
                      channelAddressIdentifier: options.channelAddress,
                      recipient,
                      payload: entry
                  };
        options.pubsub.publish(options.event.topicName, {
            [options.event.payloadField]: JSON.stringify(body),
            [options.event.eventTypeField]: 'Interaction'
        });
        return identifier;
    };

    const SYSTEM = { role: 'System' as ParticipantRole, subject: 'system', appType: 'conversation' };
    const ROUTER = { role: 'Router' as ParticipantRole, subject: 'router', appType: 'conversation' };
    const agentSender = (agent: { subject: string }) => ({
        role: 'Agent' as ParticipantRole,
        subject: agent.subject,
        appType: 'agent'
    });

    const setRecord = (session: Session, fields: Record<string, unknown>): void => {
        options.salesforce?.update?.('MessagingSession', session.messagingSessionId, fields);
    };

    const emitStatus = (conv: Conversation, status: AgentChatStatus, endedBy?: string): void => {
        const session = conv.session;
        if (!session) return;
        session.status = status;
        if (endedBy !== undefined) session.endedByRole = endedBy;
        publish(
            conv,
            'SessionStatusChanged',
            {
                conversationIdentifier: conv.id,
                channelAddressIdentifier: options.channelAddress,
                sessionStatus: status,
                ...(endedBy === undefined ? {} : { sessionEndedByRole: endedBy })
            },
            SYSTEM,
            'System'
        );
        const now = new Date().toISOString();
        if (status === 'Active') setRecord(session, { Status: 'Active', AcceptTime: now });
        if (status === 'Ended') setRecord(session, { Status: 'Ended', EndTime: now, EndedByType: endedBy ?? 'System' });
    };

    const emitRouting = (conv: Conversation, routingType: 'Initial' | 'Transfer', failure?: string): void => {
        const session = conv.session;
        if (!session) return;
        publish(
            conv,
            'RoutingResult',
            routingResultPayload({
                routingType,
                failureType: failure === undefined ? 'None' : 'RoutingError',
                ...(failure === undefined ? {} : { failureReason: failure }),
                ...(available && waitSeconds !== undefined && failure === undefined
                    ? { estimatedWaitSeconds: waitSeconds }
                    : {}),
                recordId: session.messagingSessionId,
                ...(conv.agent ? { workOwnerId: conv.agent.subject } : {})
            }),
            ROUTER,
            'Router'
        );
    };

    const emitParticipant = (
        conv: Conversation,
        operation: 'add' | 'remove',
        agent: { name: string; subject: string }
    ) =>
        publish(
            conv,
            'ParticipantChanged',
            participantChangedPayload(operation, 'Agent', agent.subject, agent.name),
            agentSender(agent),
            agent.name
        );

    const endSession = (conv: Conversation, by: string): void => {
        if (!conv.session || conv.session.status === 'Ended') return;
        const agent = conv.agent;
        emitStatus(conv, 'Ended', by);
        if (agent) {
            emitParticipant(conv, 'remove', agent);
            delete conv.agent;
        }
    };

    const conversationOf = (endUserId: string): Conversation => {
        let conv = conversations.get(endUserId);
        if (!conv) {
            conv = {
                id: randomUUID(),
                endUserId,
                userTyping: false,
                messages: [],
                messageIds: new Set(),
                acknowledgements: []
            };
            conversations.set(endUserId, conv);
        }
        return conv;
    };

    const newSession = (conv: Conversation, routingAttributes: Record<string, unknown>): Session => {
        sessionCounter += 1;
        const record = options.salesforce?.insert('MessagingSession', {
            Name: `MS-${String(sessionCounter).padStart(6, '0')}`,
            Status: 'Waiting',
            ConversationId: conv.id,
            ChannelType: 'Custom',
            ChannelName: options.channelDefinition,
            Origin: 'InboundInitiated',
            AgentType: 'Agent',
            StartTime: new Date().toISOString()
        });
        const session: Session = {
            messagingSessionId:
                typeof record?.['Id'] === 'string' ? record['Id'] : `0Mw${String(sessionCounter).padStart(15, '0')}`,
            status: 'Waiting',
            routingAttributes,
            history: [],
            routed: false
        };
        conv.session = session;
        return session;
    };

    // ---- the API ------------------------------------------------------------------------------

    const checkHeaders = (req: IncomingMessage): void => {
        const header = (name: string): string | undefined => {
            const value = req.headers[name];
            return typeof value === 'string' && value !== '' ? value : undefined;
        };
        const requestId = header('requestid');
        const orgId = header('orgid');
        const context = header('authorizationcontext');
        if (requestId === undefined || !UUID.test(requestId) || orgId === undefined || context === undefined) {
            throw new ApiError(400, 10016, 'Enter a valid header.');
        }
        const auth = header('authorization') ?? '';
        const scopes = auth.startsWith('Bearer ') ? options.tokenScopes(auth.slice(7)) : undefined;
        if (scopes === undefined || orgId.slice(0, 15) !== options.orgId.slice(0, 15)) {
            throw new ApiError(401, 10004, 'The supplied Authorization access token is not valid.');
        }
        if (!scopes.includes('interaction_api')) {
            throw new ApiError(
                403,
                10003,
                'The supplied Authorization access token is missing the required Connected App scope. Required value: interaction_api.'
            );
        }
        if (context !== options.channelDefinition) {
            throw new ApiError(
                403,
                10005,
                "The AuthorizationContext for the request isn't valid based on the supplied Authorization access token."
            );
        }
    };

    const checkChannel = (address: unknown, code = 10017): void => {
        if (address !== options.channelAddress) {
            throw new ApiError(400, code, 'The channelAddressIdentifier provided does not exist.');
        }
    };

    const postInteraction = (json: Record<string, unknown>): [number, unknown] => {
        checkChannel(json['to']);
        const from = json['from'];
        if (typeof from !== 'string' || from === '' || from.length > 255) {
            throw new ApiError(400, 10028, 'The provided "from" field isn\'t valid.');
        }
        const interactions = json['interactions'];
        if (!Array.isArray(interactions) || interactions.length !== 1) {
            throw new ApiError(400, 10029, "The provided interaction list isn't valid.");
        }
        const interaction = asRecord(interactions[0]);
        const payload = asRecord(interaction?.['payload']);
        if (
            interaction?.['interactionType'] !== 'EntryInteraction' ||
            typeof interaction['timestamp'] !== 'number' ||
            !payload
        ) {
            throw new ApiError(400, 10029, "The provided interaction list isn't valid.");
        }
        const id = payload['id'];
        if (typeof id !== 'string' || id === '')
            throw new ApiError(400, 10059, 'Interaction ID or Message ID is empty.');
        const conv = conversationOf(from);
        const routingAttributes = asRecord(json['routingAttributes']) ?? {};
        const answer = (): [number, unknown] => [
            202,
            {
                conversationIdentifier: conv.id,
                id,
                workItemIds: conv.session ? [conv.session.messagingSessionId] : [],
                success: true
            }
        ];
        switch (payload['entryType']) {
            case 'Message': {
                const message = asRecord(payload['abstractMessage']);
                if (message?.['messageType'] !== 'StaticContentMessage') {
                    throw new ApiError(
                        400,
                        10062,
                        'Invalid message type. Only StaticContentMessage, ChoicesResponseMessage, and FormResponseMessage types are supported for messages sent from an end user.'
                    );
                }
                if (message['id'] !== id)
                    throw new ApiError(400, 10060, 'Interaction ID and Message ID are mismatched.');
                const content = asRecord(message['staticContent']);
                if (content?.['formatType'] !== 'Text' || typeof content['text'] !== 'string') {
                    throw new ApiError(400, 10045, 'Provide a valid message entry format.');
                }
                if (conv.messageIds.has(id)) {
                    throw new ApiError(400, 10073, 'Invalid message ID. Provide a unique ID for each message entry.');
                }
                conv.messageIds.add(id);
                let session = conv.session;
                if (!session || session.status === 'Ended') session = newSession(conv, routingAttributes);
                else if (Object.keys(routingAttributes).length > 0 && !session.routed)
                    session.routingAttributes = routingAttributes;
                conv.messages.push({ id, text: content['text'], at: Date.now() });
                if (!session.routed) {
                    session.routed = true;
                    emitStatus(conv, 'Waiting');
                    emitRouting(conv, 'Initial');
                    if (available && queuePosition !== undefined) {
                        publish(conv, 'QueuePosition', { queuePosition }, ROUTER, 'Router');
                    }
                }
                return answer();
            }
            case 'TypingStartedIndicator':
            case 'TypingStoppedIndicator':
                if (!conv.session || conv.session.status === 'Ended') {
                    throw new ApiError(400, 10071, 'Session is not found.');
                }
                conv.userTyping = payload['entryType'] === 'TypingStartedIndicator';
                return answer();
            case 'MessageDeliveryFailed': {
                const recipient = asRecord(payload['recipient']);
                if (recipient?.['appType'] !== 'custom' || recipient['role'] !== 'EndUser') {
                    throw new ApiError(400, 10045, 'Provide a valid message entry format.');
                }
                return answer();
            }
            default:
                throw new ApiError(400, 10045, 'Provide a valid message entry format.');
        }
    };

    const postHistory = (body: Record<string, unknown>): [number, unknown] => {
        if (product !== 'ccaas') {
            throw new ApiError(
                403,
                10057,
                "Looks like you don't have access to the ConversationHistory API. Only Bring Your Own Channel for CCaaS partners can access them. Your Salesforce admin can help with that."
            );
        }
        checkChannel(body['channelAddressIdentifier']);
        const participants = Array.isArray(body['conversationParticipants']) ? body['conversationParticipants'] : [];
        const entries = Array.isArray(body['conversationEntries']) ? body['conversationEntries'] : [];
        if (participants.length < 1 || participants.length > 3) {
            throw new ApiError(400, 10039, 'Add participants to your conversation.');
        }
        if (entries.length < 1 || entries.length > 25)
            throw new ApiError(400, 10078, 'An error occurred due to an invalid payload parameter.');
        const endUsers = participants.filter((p) => asRecord(asRecord(p)?.['participant'])?.['role'] === 'EndUser');
        if (endUsers.length !== 1)
            throw new ApiError(400, 10042, 'Include one end user participant in the conversation.');
        for (const p of participants) {
            const role = asRecord(asRecord(p)?.['participant'])?.['role'];
            if (role === 'Chatbot' && typeof asRecord(p)?.['leftTime'] !== 'number') {
                throw new ApiError(
                    400,
                    10066,
                    'Invalid chatbot participant details. leftTime is required for conversations with chatbots when the conversation is ended.'
                );
            }
            if (role !== 'Chatbot' && role !== 'EndUser') {
                throw new ApiError(
                    400,
                    10043,
                    'Invalid participant role. Specify a Chatbot or EndUser role for all participants.'
                );
            }
        }
        const endUserId = text(asRecord(asRecord(endUsers[0])?.['participant'])?.['subject']);
        const dayAgo = Date.now() - 24 * 3600_000;
        const history: Array<{ role: string; text: string }> = [];
        for (const raw of entries) {
            const entry = asRecord(raw);
            const at = entry?.['clientTimestamp'];
            if (typeof at !== 'number' || at < dayAgo || at > Date.now() + 60_000) {
                throw new ApiError(
                    400,
                    10046,
                    'Invalid clientTimestamp. Send messages within the allowed response time frame.'
                );
            }
            const content = asRecord(
                asRecord(asRecord(entry?.['entryPayload'])?.['abstractMessage'])?.['staticContent']
            )?.['text'];
            history.push({ role: text(asRecord(entry?.['sender'])?.['role']), text: text(content) });
        }
        const conv = conversationOf(endUserId);
        if (conv.session && conv.session.status !== 'Ended') {
            throw new ApiError(400, 10055, 'Conversation precondition failed. Please retry.');
        }
        const session = newSession(conv, {});
        session.history = history;
        return [
            202,
            { success: true, conversationIdentifier: conv.id, messagingSessionId: session.messagingSessionId }
        ];
    };

    const postAcknowledgement = (body: Record<string, unknown>): [number, unknown] => {
        const conv = [...conversations.values()].find((c) => c.id === body['conversationIdentifier']);
        if (!conv) throw new ApiError(400, 10018, 'The conversation identifier is not valid.');
        const acks = Array.isArray(body['acknowledgements']) ? body['acknowledgements'] : [];
        if (acks.length < 1 || acks.length > 25 || asRecord(body['sender'])?.['role'] !== 'EndUser') {
            throw new ApiError(400, 10089, 'Invalid parameters passed to API.');
        }
        for (const raw of acks) {
            const ack = asRecord(raw);
            const type = ack?.['acknowledgementType'];
            if (
                (type !== 'Read' && type !== 'Delivered') ||
                typeof ack?.['acknowledgedConversationEntryIdentifier'] !== 'string'
            ) {
                throw new ApiError(400, 10089, 'Invalid parameters passed to API.');
            }
            conv.acknowledgements.push({ type, entryId: ack['acknowledgedConversationEntryIdentifier'] });
        }
        return [200, { success: true }];
    };

    const postMessagingSession = (body: Record<string, unknown>): [number, unknown] => {
        checkChannel(body['channelAddressIdentifier']);
        const conv = conversations.get(text(body['endUserClientId']));
        if (!conv) throw new ApiError(400, 10105, 'End User not found.');
        if (conv.id !== body['conversationIdentifier'])
            throw new ApiError(400, 10018, 'The conversation identifier is not valid.');
        if (body['operation'] !== 'End' && body['operation'] !== 'Inactivate') {
            throw new ApiError(400, 10102, 'Invalid operation type value for POST messaging session request.');
        }
        if (!conv.session || conv.session.status === 'Ended') throw new ApiError(400, 10071, 'Session is not found.');
        endSession(conv, body['operationBy'] === 'System' ? 'System' : 'EndUser');
        return [200, { success: true }];
    };

    const classify = (path: string, json: Record<string, unknown> | undefined): NonNullable<ByocFailure['on']> => {
        if (path.endsWith('/conversationHistory')) return 'history';
        if (path.endsWith('/interactions')) {
            const interaction = asRecord((json?.['interactions'] as unknown[] | undefined)?.[0]);
            return asRecord(interaction?.['payload'])?.['entryType'] === 'Message' ? 'message' : 'interaction';
        }
        return 'any';
    };

    const readBody = async (req: IncomingMessage): Promise<Buffer> => {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks);
    };

    const send = (res: ServerResponse, status: number, body: unknown): void => {
        const text = JSON.stringify(body);
        res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
    };

    /** The `json` part of a multipart body, parsed as the service does (WHATWG FormData). */
    const jsonPart = async (req: IncomingMessage, raw: Buffer): Promise<Record<string, unknown>> => {
        const type = req.headers['content-type'] ?? '';
        if (!type.startsWith('multipart/form-data')) {
            throw new ApiError(
                400,
                10100,
                "A request body is required and can't be empty. Provide a valid payload and ensure data is included and correctly formatted."
            );
        }
        let part: string | Blob | null;
        try {
            part = (await new Response(raw, { headers: { 'content-type': type } }).formData()).get('json');
        } catch {
            throw new ApiError(
                400,
                10100,
                "A request body is required and can't be empty. Provide a valid payload and ensure data is included and correctly formatted."
            );
        }
        const text = typeof part === 'string' ? part : part === null ? undefined : await part.text();
        const parsed = text === undefined ? undefined : asRecord(safeJson(text));
        if (!parsed) throw new ApiError(400, 10029, "The provided interaction list isn't valid.");
        return parsed;
    };

    const safeJson = (text: string): unknown => {
        try {
            return JSON.parse(text) as unknown;
        } catch {
            return undefined;
        }
    };

    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
        const url = new URL(req.url ?? '/', 'http://emulator');
        const method = req.method ?? 'GET';
        const raw = await readBody(req);
        const record = (status: number): void => {
            requests.push({ method, path: url.pathname, status, at: Date.now() });
        };
        if (url.pathname.startsWith('/__emulator/')) {
            try {
                const body = raw.length === 0 ? {} : (asRecord(safeJson(raw.toString('utf8'))) ?? {});
                const [status, answer] = handleControl(method, url.pathname.slice(12).split('/'), body);
                return send(res, status, answer);
            } catch (error) {
                return send(res, 400, { code: 10089, message: (error as Error).message });
            }
        }
        try {
            const path = url.pathname.replace(/^\/api\/v1/, '');
            if (!url.pathname.startsWith('/api/v1/')) throw new ApiError(404, 404, 'Resource not found');
            checkHeaders(req);
            const json =
                path === '/interactions' && method === 'POST'
                    ? await jsonPart(req, raw)
                    : raw.length === 0
                      ? {}
                      : (asRecord(safeJson(raw.toString('utf8'))) ?? undefined);
            if (json === undefined) throw new ApiError(400, 10100, "A request body is required and can't be empty.");
            const kind = classify(path, json);
            const index = failures.findIndex((f) => (f.on ?? 'any') === 'any' || f.on === kind);
            const failure = index >= 0 ? failures.splice(index, 1)[0] : undefined;
            if (failure)
                throw new ApiError(
                    failure.status,
                    500,
                    'An internal server error occurred. Please contact Salesforce Support.'
                );
            let answer: [number, unknown];
            if (path === '/interactions' && method === 'POST') answer = postInteraction(json);
            else if (path === '/conversationHistory' && method === 'POST') answer = postHistory(json);
            else if (path === '/acknowledgement' && method === 'POST') answer = postAcknowledgement(json);
            else if (path === '/messagingSession' && method === 'POST') answer = postMessagingSession(json);
            else if (path === '/capabilities' && method === 'PATCH') {
                capabilities.push(json['capabilities'] ?? json);
                answer = [200, { success: true }];
            } else throw new ApiError(404, 404, 'Resource not found');
            record(answer[0]);
            send(res, answer[0], answer[1]);
        } catch (error) {
            const e = error instanceof ApiError ? error : new ApiError(500, 500, String(error));
            record(e.status);
            send(res, e.status, { code: e.code, message: e.message });
        }
    };

    const handleControl = (method: string, path: string[], body: Record<string, unknown>): [number, unknown] =>
        agentConsoleRoutes(
            emulator,
            () => ({ conversations: conversations.size, pubsub: options.pubsub.stats }),
            (verb, { what }, data) => {
                if (verb === 'POST' && what === 'fail-next') {
                    const status = data['status'] === 500 ? 500 : 503;
                    const on = typeof data['on'] === 'string' ? (data['on'] as ByocFailure['on']) : undefined;
                    emulator.failNext(typeof data['count'] === 'number' ? data['count'] : 1, {
                        status,
                        ...(on === undefined ? {} : { on })
                    });
                    return [200, {}];
                }
                if (verb === 'POST' && what === 'product') {
                    emulator.setProduct(data['product'] === 'ccaas' ? 'ccaas' : 'messaging');
                    return [200, {}];
                }
                if (verb === 'POST' && what === 'drop-subscriptions') {
                    options.pubsub.dropSubscriptions();
                    return [200, {}];
                }
                return undefined;
            }
        )(method, path, body);

    const server = await serveOnLoopback(
        handle,
        (res, error) => send(res, 500, { code: 500, message: String(error) }),
        options
    );

    const emulator: InteractionServiceEmulator = {
        url: server.url,
        close: () => server.close(),
        setAvailability: (value) => {
            available = value;
        },
        setWaitTime: (seconds, position) => {
            waitSeconds = seconds;
            queuePosition = position;
            if (position === undefined) return;
            for (const conv of conversations.values()) {
                if (conv.session?.status === 'Waiting' && !conv.agent) {
                    publish(conv, 'QueuePosition', { queuePosition: position }, ROUTER, 'Router');
                }
            }
        },
        setProduct: (value) => {
            product = value;
        },
        accept: (conversationId, agentName) => {
            const conv = byId(conversationId);
            if (!conv.session || conv.session.status === 'Ended') throw new Error('the session has ended');
            const agent = { name: agentName, subject: agentSubject(agentName) };
            conv.agent = agent;
            emitParticipant(conv, 'add', agent);
            if (conv.session.status !== 'Active') emitStatus(conv, 'Active');
        },
        agentMessage: (conversationId, text) => {
            const conv = byId(conversationId);
            const agent = conv.agent;
            if (!agent) throw new Error('no agent in this conversation');
            const id = randomUUID();
            return publish(conv, 'Message', textMessagePayload(id, text), agentSender(agent), agent.name, id);
        },
        agentTyping: (conversationId, on) => {
            const conv = byId(conversationId);
            const agent = conv.agent;
            if (!agent) throw new Error('no agent in this conversation');
            publish(conv, on ? 'TypingStartedIndicator' : 'TypingStoppedIndicator', {}, agentSender(agent), agent.name);
        },
        transfer: (conversationId, toAgentName) => {
            const conv = byId(conversationId);
            const from = conv.agent;
            if (!from) throw new Error('no agent in this conversation');
            emitParticipant(conv, 'remove', from);
            delete conv.agent;
            emitRouting(conv, 'Transfer');
            const to = { name: toAgentName, subject: agentSubject(toAgentName) };
            conv.agent = to;
            emitParticipant(conv, 'add', to);
        },
        end: (conversationId) => endSession(byId(conversationId), 'Agent'),
        routingFailure: (conversationId, reason) => {
            const conv = byId(conversationId);
            emitRouting(conv, 'Initial', reason ?? 'No route found for this work item');
            endSession(conv, 'System');
        },
        failNext: (count, failure) => {
            for (let i = 0; i < count; i++) failures.push(failure);
        },
        conversations: () =>
            [...conversations.values()].map((c) => {
                const key = c.session?.routingAttributes['Haptik_Conversation'];
                return {
                    conversationId: c.id,
                    routingAttributes: { ...(c.session?.routingAttributes ?? {}) },
                    status: c.session?.status ?? 'Waiting',
                    ...(c.agent ? { agentName: c.agent.name } : {}),
                    ...(typeof key === 'string' ? { conversationKey: key } : {}),
                    endUserId: c.endUserId,
                    messagingSessionId: c.session?.messagingSessionId ?? '',
                    ...(c.session?.endedByRole === undefined ? {} : { sessionEndedByRole: c.session.endedByRole }),
                    userTyping: c.userTyping,
                    history: [...(c.session?.history ?? [])],
                    acknowledgements: [...c.acknowledgements]
                };
            }),
        messagesFrom: (conversationId) => byId(conversationId).messages.map((m) => ({ ...m })),
        requests,
        capabilities,
        waitFor: (probe, timeoutMs) => waitUntil(() => probe(emulator), timeoutMs)
    };
    return emulator;
}
