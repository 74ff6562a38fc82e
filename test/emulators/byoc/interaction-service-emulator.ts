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
 * - files (issue 18): an end user's file is an `AttachmentInteraction` `{timestamp, interactionType, id,
 *   attachmentIndex, contentLength, text?}` with one binary `attachments` part (README "Interaction request with
 *   file attachment"; the yaml's `InteractionRequest.attachments` maxItems 1); the developer guide's "File
 *   Attachment Interaction" page: at most 25 MB, its list of image/PDF/audio/video types; ERRORCODES.md 10007 (no
 *   id), 10008 (too large), 10009 (empty), 10010 (no contentLength), 10011 (interactions and files do not match),
 *   10051 (contentLength wrong), 10095 (MIME type). The body is read as it streams, the file only counted and
 *   hashed, and every answer waits for the whole body (a status sent mid-upload reaches a client as a broken
 *   connection). An agent's file goes out as the documented attachment example: a `Message` nested under
 *   `payload`, `staticContent {formatType: "Attachments", text, attachments: [{name, id, mimeType, url,
 *   referenceId, attachmentUploadResult}]}`, its url a Content Delivery link (`/sfc/dist/version/download/?oid=…
 *   &ids=068…&d=…&asPdf=false`) this server answers.
 *
 * Choices where nothing is documented: HTTP statuses per code (400 input, 401 token, 403 scope/context/CCaaS,
 * 404 unknown path); one conversation per end user and channel, new sessions in it after an end; no agent
 * available leaves the session Waiting (Omni-Channel keeps it queued); a type outside the documented list is
 * refused at once with 10095 (Salesforce may instead take it and report the failure later in `MessageUpdated`);
 * an agent's link needs no credentials (`attachmentAuth: 'bearer'` plays an org that wants the channel's token),
 * and once expired answers an HTML page, as a browser is shown, not the file.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import busboy from 'busboy';
import { serveOnLoopback } from '../loopback-server';
import {
    attachmentMessagePayload,
    participantChangedPayload,
    routingResultPayload,
    textMessagePayload
} from '../enhanced-chat/entries';
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
    files?: ByocFileSettings;
    port?: number;
    host?: string;
}

/** What the channel takes from end users, and how an agent's file is served. */
export interface ByocFileSettings {
    /** Largest end-user file (default 25 MB); larger: 400, code 10008. */
    maxBytes?: number;
    /** Types taken (default the developer guide's list); others: 400, code 10095. */
    allowedTypes?: readonly string[];
    /** Life of an agent attachment's link (default 1 h); after it the link answers an HTML page. */
    attachmentUrlTtlMs?: number;
    /** `public` (default; the documented Content Delivery link) or `bearer` (the link wants the channel's token). */
    attachmentAuth?: 'public' | 'bearer';
}

/** One injected failure of the next matching call: an error status, or the call handled and its answer lost. */
export type ByocFailure = { on?: 'interaction' | 'message' | 'attachment' | 'history' | 'any' } & (
    { status: 500 | 503 } | { dropResponse: true }
);

/** An end user's file as the agent would see it (its bytes are kept only as a digest). */
export interface ByocUploadedFile {
    id: string;
    name: string;
    contentType: string;
    size: number;
    sha256: string;
    text: string;
    at: number;
}

/** What an agent attachment became: the message's id, the attachment's id and its link. */
export interface ByocSentAttachment {
    messageId: string;
    attachmentId: string;
    url: string;
}

/** One request for an agent attachment's link, and whether it carried a token. */
export interface ByocAttachmentDownload {
    versionId: string;
    withToken: boolean;
    status: number;
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
    /** Files the end user sent to a conversation, in order, each interaction id once. */
    filesFrom(conversationId: string): ByocUploadedFile[];
    /** Everything the end user sent to a conversation, texts and files, in the order the service took it. */
    entriesFrom(conversationId: string): Array<{ kind: 'text' | 'file'; id: string }>;
    /** The agent sends a file (an `Attachments` message; `text` null as Salesforce sends a bare file). */
    agentAttachment(
        conversationId: string,
        file: { name: string; mimeType: string; data: Buffer },
        text?: string | null
    ): ByocSentAttachment;
    setAttachmentAuth(mode: 'public' | 'bearer'): void;
    /** Every agent attachment's link expires now (as the org's Content Delivery expiry would). */
    expireAttachmentLinks(): void;
    readonly attachmentDownloads: ReadonlyArray<ByocAttachmentDownload>;
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
    files: ByocUploadedFile[];
    entries: Array<{ kind: 'text' | 'file'; id: string }>;
    messageIds: Set<string>;
    acknowledgements: Array<{ type: string; entryId: string }>;
}

interface ReceivedFile {
    name: string;
    mimeType: string;
    size: number;
    sha256: string;
    truncated: boolean;
}

/** A multipart `/interactions` body: its `json` part and its files (counted and hashed, never held). */
interface InteractionBody {
    json?: string;
    files: ReceivedFile[];
    malformed: boolean;
}

interface Distribution {
    secret: string;
    name: string;
    mimeType: string;
    data: Buffer;
    expiresAt: number;
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
/** "Supported File Types for File Attachments" (developer guide, File Attachment Interaction). */
const DOCUMENTED_TYPES = [
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
const DISTRIBUTION_PATH = '/sfc/dist/version/download/';
const JSON_PART_LIMIT = 64 * 1024;
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
    const maxFileBytes = options.files?.maxBytes ?? 25 * 1024 * 1024;
    const fileTypes = new Set((options.files?.allowedTypes ?? DOCUMENTED_TYPES).map((t) => t.toLowerCase()));
    const attachmentTtlMs = options.files?.attachmentUrlTtlMs ?? 3600_000;
    let attachmentAuth = options.files?.attachmentAuth ?? 'public';
    const distributions = new Map<string, Distribution>();
    const attachmentDownloads: ByocAttachmentDownload[] = [];

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
        identifier: string = randomUUID(),
        /** The documented attachment example is nested; the text example flat. */
        nested = entryType !== 'Message'
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
        const body = !nested
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
                files: [],
                entries: [],
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

    /** The session an end user's entry goes to: the open one, or a new one it starts (and routes). */
    const sessionFor = (conv: Conversation, routingAttributes: Record<string, unknown>): void => {
        let session = conv.session;
        if (!session || session.status === 'Ended') session = newSession(conv, routingAttributes);
        else if (Object.keys(routingAttributes).length > 0 && !session.routed)
            session.routingAttributes = routingAttributes;
        if (!session.routed) {
            session.routed = true;
            emitStatus(conv, 'Waiting');
            emitRouting(conv, 'Initial');
            if (available && queuePosition !== undefined) {
                publish(conv, 'QueuePosition', { queuePosition }, ROUTER, 'Router');
            }
        }
    };

    const postInteraction = (json: Record<string, unknown>, files: ReceivedFile[]): [number, unknown] => {
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
        const routingAttributes = asRecord(json['routingAttributes']) ?? {};
        if (interaction?.['interactionType'] === 'AttachmentInteraction') {
            if (typeof interaction['timestamp'] !== 'number') {
                throw new ApiError(400, 10029, "The provided interaction list isn't valid.");
            }
            return postAttachment(conversationOf(from), interaction, files, routingAttributes);
        }
        if (files.length > 0) {
            throw new ApiError(
                400,
                10011,
                'The number of interactions of type AttachmentInteraction does not match the number of attachment files.'
            );
        }
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
        const answer = (): [number, unknown] => accepted(conv, id);
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
                sessionFor(conv, routingAttributes);
                conv.messages.push({ id, text: content['text'], at: Date.now() });
                conv.entries.push({ kind: 'text', id });
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

    const accepted = (conv: Conversation, id: string): [number, unknown] => [
        202,
        {
            conversationIdentifier: conv.id,
            id,
            workItemIds: conv.session ? [conv.session.messagingSessionId] : [],
            success: true
        }
    ];

    /** An `AttachmentInteraction` and its one `attachments` part, checked as ERRORCODES.md lists. */
    const postAttachment = (
        conv: Conversation,
        interaction: Record<string, unknown>,
        files: ReceivedFile[],
        routingAttributes: Record<string, unknown>
    ): [number, unknown] => {
        const id = interaction['id'];
        if (typeof id !== 'string' || id === '') throw new ApiError(400, 10007, 'The file ID field is empty.');
        const contentLength = interaction['contentLength'];
        if (typeof contentLength !== 'number') {
            throw new ApiError(400, 10010, 'The interaction contentLength field is empty.');
        }
        const file = files[0];
        if (files.length !== 1 || file === undefined || interaction['attachmentIndex'] !== 0) {
            throw new ApiError(
                400,
                10011,
                'The number of interactions of type AttachmentInteraction does not match the number of attachment files.'
            );
        }
        if (file.truncated) throw new ApiError(400, 10008, 'The file size exceeds the maximum limit of 25 MB.');
        if (file.size === 0) throw new ApiError(400, 10009, 'The file is empty or doesn’t exist.');
        if (file.size !== contentLength) {
            throw new ApiError(400, 10051, 'The file size (in bytes) of uploaded attachment is incorrect.');
        }
        if (!fileTypes.has(file.mimeType.toLowerCase())) {
            throw new ApiError(
                400,
                10095,
                'The MIME type of the uploaded file cannot be determined. Please check the file and try again.'
            );
        }
        if (conv.messageIds.has(id)) {
            throw new ApiError(400, 10073, 'Invalid message ID. Provide a unique ID for each message entry.');
        }
        conv.messageIds.add(id);
        sessionFor(conv, routingAttributes);
        conv.files.push({
            id,
            name: file.name,
            contentType: file.mimeType.toLowerCase(),
            size: file.size,
            sha256: file.sha256,
            text: text(interaction['text']),
            at: Date.now()
        });
        conv.entries.push({ kind: 'file', id });
        return accepted(conv, id);
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
            if (interaction?.['interactionType'] === 'AttachmentInteraction') return 'attachment';
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

    const emptyBody = (): ApiError =>
        new ApiError(
            400,
            10100,
            "A request body is required and can't be empty. Provide a valid payload and ensure data is included and correctly formatted."
        );

    /**
     * Reads a multipart `/interactions` body as it streams: the `json` part (a field, or a file part as a JSON
     * Blob arrives from FormData) and the `attachments` files, counted and hashed up to the size limit.
     */
    const parseMultipart = (req: IncomingMessage): Promise<InteractionBody> =>
        new Promise((resolve) => {
            const result: InteractionBody = { files: [], malformed: false };
            const drain = (): void => {
                result.malformed = true;
                req.once('end', () => resolve(result));
                req.once('close', () => resolve(result));
                req.resume();
            };
            if (!/^multipart\/form-data/i.test(req.headers['content-type'] ?? '')) return drain();
            let parser: busboy.Busboy;
            try {
                parser = busboy({
                    headers: req.headers,
                    limits: { files: 4, fileSize: maxFileBytes, fields: 4, fieldSize: JSON_PART_LIMIT }
                });
            } catch {
                return drain();
            }
            const pending: Array<Promise<void>> = [];
            parser.on('field', (name, value) => {
                if (name === 'json') result.json = value;
            });
            parser.on('file', (name, stream, info) => {
                if (name === 'json') {
                    const chunks: Buffer[] = [];
                    let size = 0;
                    stream.on('data', (chunk: Buffer) => {
                        size += chunk.length;
                        if (size <= JSON_PART_LIMIT) chunks.push(chunk);
                    });
                    pending.push(
                        new Promise((done) =>
                            stream.on('end', () => {
                                if (size <= JSON_PART_LIMIT) result.json = Buffer.concat(chunks).toString('utf8');
                                done();
                            })
                        )
                    );
                    return;
                }
                if (name !== 'attachments') {
                    stream.resume();
                    return;
                }
                const file: ReceivedFile = {
                    name: info.filename ?? '',
                    mimeType: info.mimeType,
                    size: 0,
                    sha256: '',
                    truncated: false
                };
                result.files.push(file);
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
                drain();
            });
            parser.on('close', () => {
                void Promise.all(pending).then(() => resolve(result));
            });
            req.pipe(parser);
        });

    /** The `json` part, parsed as the service does. */
    const jsonPart = (body: InteractionBody): Record<string, unknown> => {
        if (body.malformed || body.json === undefined) throw emptyBody();
        const parsed = asRecord(safeJson(body.json));
        if (!parsed) throw new ApiError(400, 10029, "The provided interaction list isn't valid.");
        return parsed;
    };

    /** GET an agent attachment's Content Delivery link: the link's own secret, until it expires. */
    const serveDistribution = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
        const versionId = url.searchParams.get('ids') ?? '';
        const stored = distributions.get(versionId);
        const auth = req.headers.authorization ?? '';
        const page = (status: number, message: string): number => {
            const html = `<!DOCTYPE html><html><body><p>${message}</p></body></html>`;
            res.writeHead(status, {
                'Content-Type': 'text/html;charset=UTF-8',
                'Content-Length': Buffer.byteLength(html)
            });
            res.end(html);
            return status;
        };
        let status: number;
        if (stored === undefined || url.searchParams.get('d') !== `/a/${stored.secret}`) {
            status = page(404, 'The requested file does not exist.');
        } else if (
            attachmentAuth === 'bearer' &&
            !(auth.startsWith('Bearer ') && options.tokenScopes(auth.slice(7)) !== undefined)
        ) {
            status = page(401, 'Authentication required.');
        } else if (stored.expiresAt <= Date.now()) {
            status = page(200, 'This link has expired.');
        } else {
            res.writeHead(200, {
                'Content-Type': stored.mimeType,
                'Content-Length': stored.data.length,
                'Content-Disposition': `attachment; filename="${stored.name.replace(/["\\]/g, '_')}"`
            });
            res.end(stored.data);
            status = 200;
        }
        attachmentDownloads.push({ versionId, withToken: auth !== '', status });
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
        if (method === 'GET' && url.pathname === DISTRIBUTION_PATH) return serveDistribution(req, res, url);
        // An interaction (a file, maybe) is read as it streams; the rest whole.
        const multipart =
            method === 'POST' && url.pathname === '/api/v1/interactions' ? await parseMultipart(req) : undefined;
        const raw = multipart === undefined ? await readBody(req) : Buffer.alloc(0);
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
                multipart !== undefined
                    ? jsonPart(multipart)
                    : raw.length === 0
                      ? {}
                      : (asRecord(safeJson(raw.toString('utf8'))) ?? undefined);
            if (json === undefined) throw new ApiError(400, 10100, "A request body is required and can't be empty.");
            const kind = classify(path, json);
            const index = failures.findIndex((f) => (f.on ?? 'any') === 'any' || f.on === kind);
            const failure = index >= 0 ? failures.splice(index, 1)[0] : undefined;
            if (failure && 'status' in failure)
                throw new ApiError(
                    failure.status,
                    500,
                    'An internal server error occurred. Please contact Salesforce Support.'
                );
            let answer: [number, unknown];
            if (path === '/interactions' && method === 'POST') answer = postInteraction(json, multipart?.files ?? []);
            else if (path === '/conversationHistory' && method === 'POST') answer = postHistory(json);
            else if (path === '/acknowledgement' && method === 'POST') answer = postAcknowledgement(json);
            else if (path === '/messagingSession' && method === 'POST') answer = postMessagingSession(json);
            else if (path === '/capabilities' && method === 'PATCH') {
                capabilities.push(json['capabilities'] ?? json);
                answer = [200, { success: true }];
            } else throw new ApiError(404, 404, 'Resource not found');
            if (failure && 'dropResponse' in failure) {
                // Handled; the client never hears so (it must send again, under the same id).
                record(-1);
                req.socket.destroy();
                return;
            }
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
            (verb, { what, id, action }, data) => {
                if (verb === 'POST' && what === 'fail-next') {
                    const status = data['status'] === 500 ? 500 : 503;
                    const on = typeof data['on'] === 'string' ? (data['on'] as ByocFailure['on']) : undefined;
                    const scope = on === undefined ? {} : { on };
                    emulator.failNext(
                        typeof data['count'] === 'number' ? data['count'] : 1,
                        data['dropResponse'] === true ? { ...scope, dropResponse: true } : { ...scope, status }
                    );
                    return [200, {}];
                }
                if (verb === 'POST' && what === 'conversations' && id !== undefined && action === 'attachment') {
                    const name = data['name'];
                    const mimeType = data['mimeType'];
                    const base64 = data['data'];
                    if (typeof name !== 'string' || typeof mimeType !== 'string' || typeof base64 !== 'string') {
                        throw new Error('name, mimeType and data (base64) are required');
                    }
                    const caption = typeof data['text'] === 'string' ? data['text'] : null;
                    return [
                        200,
                        emulator.agentAttachment(id, { name, mimeType, data: Buffer.from(base64, 'base64') }, caption)
                    ];
                }
                if (verb === 'POST' && what === 'attachment-auth') {
                    emulator.setAttachmentAuth(data['mode'] === 'bearer' ? 'bearer' : 'public');
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
        filesFrom: (conversationId) => byId(conversationId).files.map((f) => ({ ...f })),
        entriesFrom: (conversationId) => byId(conversationId).entries.map((e) => ({ ...e })),
        agentAttachment: (conversationId, file, caption = null) => {
            const conv = byId(conversationId);
            const agent = conv.agent;
            if (!agent) throw new Error('no agent in this conversation');
            const messageId = randomUUID();
            const attachmentId = randomUUID();
            const versionId = `068${randomBytes(8).toString('hex').slice(0, 12).toUpperCase()}`;
            const secret = randomBytes(24).toString('base64url');
            distributions.set(versionId, {
                secret,
                name: file.name,
                mimeType: file.mimeType,
                data: file.data,
                expiresAt: Date.now() + attachmentTtlMs
            });
            const link = new URL(`${server.url}${DISTRIBUTION_PATH}`);
            link.searchParams.set('oid', options.orgId.slice(0, 15));
            link.searchParams.set('ids', versionId);
            link.searchParams.set('d', `/a/${secret}`);
            link.searchParams.set('asPdf', 'false');
            publish(
                conv,
                'Message',
                attachmentMessagePayload(messageId, caption, [
                    { name: file.name, id: attachmentId, mimeType: file.mimeType, url: link.toString() }
                ]),
                agentSender(agent),
                agent.name,
                messageId,
                true
            );
            return { messageId, attachmentId, url: link.toString() };
        },
        setAttachmentAuth: (mode) => {
            attachmentAuth = mode;
        },
        expireAttachmentLinks: () => {
            for (const stored of distributions.values()) stored.expiresAt = 0;
        },
        attachmentDownloads,
        requests,
        capabilities,
        waitFor: (probe, timeoutMs) => waitUntil(() => probe(emulator), timeoutMs)
    };
    return emulator;
}
