/**
 * One handover's Enhanced Chat event stream: `GET /eventrouter/v1/sse` with the end user's token,
 * `X-Org-Id` and `Last-Event-Id`, parsed with eventsource-parser. It reconnects for ever with backoff
 * (Salesforce's sample: 1 s × 1.5ⁿ up to 30 s; it gives up after 10 tries, a server must not), treats
 * 90 s without a byte as a dead connection, renews the token on 401, and hands each mapped event to the
 * sink, waiting for it before reading on, so the core can persist the cursor before the next event.
 */
import { createParser } from 'eventsource-parser';
import type { EventSourceMessage } from 'eventsource-parser';
import { BridgeError, isBridgeError } from '../../core/errors';
import type { ChatEventSink, ChatSessionState } from '../../core/handover/chat-port';
import type { Logger } from '../../observability/logger';
import { mapEnhancedChatEvent } from './event-mapping';
import type { ConversationView } from './event-mapping';
import type { FetchLike } from './scrt-client';

export interface ReconnectPolicy {
    baseMs: number;
    factor: number;
    maxMs: number;
}

/** The adapter-specific part of ChatSessionState.data. */
export interface EnhancedChatData {
    accessToken: string;
    conversationId: string;
    /** ISO time the token expires (from its `exp` claim), or null when unknown. */
    tokenExpiresAt: string | null;
    /** The MessagingSession record id, once a routing result named it. */
    messagingSessionId?: string;
}

/** What the adapter and the stream share about one handover. */
export interface HandoverSession {
    readonly handoverId: string;
    data: EnhancedChatData;
    /** Last event handled (acknowledged by the sink, or skipped). */
    cursor: string | null;
    /** The data changed since the core last received it (new token, MessagingSession id). */
    stateChanged: boolean;
}

export interface StreamDependencies {
    scrtUrl: string;
    orgId: string;
    fetch: FetchLike;
    logger: Logger;
    reconnect: ReconnectPolicy;
    heartbeatTimeoutMs: number;
    sink: () => ChatEventSink | undefined;
    /** Gets a new token into `session.data` (continuation token, else a new guest token). */
    renewToken: (session: HandoverSession) => Promise<void>;
}

export function toState(session: HandoverSession): ChatSessionState {
    return { data: { ...session.data }, cursor: session.cursor };
}

/** Numeric SSE ids (the emulator's, and Salesforce's as far as seen) let a replayed event be dropped. */
function isAtOrBefore(id: string, cursor: string | null): boolean {
    if (cursor === null) return false;
    if (id === cursor) return true;
    if (!/^\d+$/.test(id) || !/^\d+$/.test(cursor)) return false;
    return BigInt(id) <= BigInt(cursor);
}

class HeartbeatTimeout extends Error {
    constructor() {
        super('no data on the event stream within the heartbeat timeout');
        this.name = 'HeartbeatTimeout';
    }
}

export class ChatStream {
    private stopped = false;
    private finished = false;
    private controller: AbortController | undefined;
    private wake: (() => void) | undefined;
    private loop: Promise<void> | undefined;
    private view: ConversationView = { finished: false };
    /** Connections opened (for logs and tests). */
    connections = 0;

    constructor(
        private readonly deps: StreamDependencies,
        readonly session: HandoverSession
    ) {}

    get running(): boolean {
        return this.loop !== undefined && !this.stopped && !this.finished;
    }

    start(): void {
        if (this.loop) return;
        this.loop = this.run();
    }

    /** Stops reading; resolves once the connection is closed. */
    async stop(): Promise<void> {
        this.stopped = true;
        this.controller?.abort();
        this.wake?.();
        await this.loop;
    }

    private get log(): Logger {
        return this.deps.logger;
    }

    private async run(): Promise<void> {
        let attempt = 0;
        let renewedInARow = 0;
        while (!this.stopped && !this.finished) {
            try {
                await this.connectOnce(() => {
                    attempt = 0;
                    renewedInARow = 0;
                });
            } catch (error) {
                if (this.stopped) break;
                if (isBridgeError(error, 'bridge_chat_unauthorized')) {
                    try {
                        await this.deps.renewToken(this.session);
                        renewedInARow += 1;
                        // A fresh token deserves one immediate try; a token that keeps failing backs off.
                        if (renewedInARow === 1) continue;
                    } catch (renewError) {
                        this.log.warn(
                            { handoverId: this.session.handoverId, code: (renewError as BridgeError).code },
                            'enhanced chat token renewal failed'
                        );
                    }
                } else {
                    this.log.warn(
                        {
                            handoverId: this.session.handoverId,
                            reason: error instanceof HeartbeatTimeout ? 'heartbeat_timeout' : (error as Error).name,
                            code: (error as { code?: unknown }).code
                        },
                        'enhanced chat event stream lost'
                    );
                }
            }
            if (this.stopped || this.finished) break;
            const { baseMs, factor, maxMs } = this.deps.reconnect;
            const delayMs = Math.min(maxMs, Math.round(baseMs * factor ** attempt));
            attempt += 1;
            this.log.info(
                { handoverId: this.session.handoverId, attempt, delayMs },
                'reconnecting the enhanced chat event stream'
            );
            await new Promise<void>((resolve) => {
                const timer = setTimeout(resolve, delayMs);
                this.wake = () => {
                    clearTimeout(timer);
                    resolve();
                };
            });
            this.wake = undefined;
        }
    }

    private async connectOnce(onOpen: () => void): Promise<void> {
        const controller = new AbortController();
        this.controller = controller;
        const headers: Record<string, string> = {
            Accept: 'text/event-stream',
            Authorization: `Bearer ${this.session.data.accessToken}`,
            'X-Org-Id': this.deps.orgId
        };
        if (this.session.cursor !== null) headers['Last-Event-Id'] = this.session.cursor;
        let delivering = false;
        const heartbeat = setTimeout(function onSilence() {
            // Time spent in the sink (the core's database) is not silence on the wire.
            if (delivering) heartbeat.refresh();
            else controller.abort(new HeartbeatTimeout());
        }, this.deps.heartbeatTimeoutMs);
        try {
            const response = await this.deps.fetch(`${this.deps.scrtUrl.replace(/\/+$/, '')}/eventrouter/v1/sse`, {
                method: 'GET',
                headers,
                signal: controller.signal
            });
            if (response.status === 401) {
                await response.body?.cancel().catch(() => undefined);
                throw new BridgeError('bridge_chat_unauthorized', 'event stream: access token rejected', {
                    details: { status: 401, retryable: true }
                });
            }
            if (!response.ok || !response.body) {
                await response.body?.cancel().catch(() => undefined);
                throw new BridgeError('bridge_chat_unavailable', `event stream answered ${response.status}`, {
                    details: { status: response.status, retryable: true }
                });
            }
            this.connections += 1;
            onOpen();
            heartbeat.refresh();
            const pending: EventSourceMessage[] = [];
            const parser = createParser({ onEvent: (message) => pending.push(message) });
            const decoder = new TextDecoder();
            for await (const chunk of response.body) {
                heartbeat.refresh();
                parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
                if (pending.length === 0) continue;
                delivering = true;
                try {
                    while (pending.length > 0 && !this.stopped && !this.finished) {
                        await this.deliver(pending.shift() as EventSourceMessage);
                    }
                } finally {
                    delivering = false;
                    heartbeat.refresh();
                }
                if (this.stopped || this.finished) return;
            }
        } catch (error) {
            const reason: unknown = controller.signal.reason;
            if (controller.signal.aborted && reason instanceof HeartbeatTimeout) throw reason;
            throw error;
        } finally {
            clearTimeout(heartbeat);
            controller.abort();
        }
    }

    private async deliver(message: EventSourceMessage): Promise<void> {
        const type = message.event ?? 'message';
        if (type === 'ping') return;
        const id = message.id ?? null;
        if (id !== null && isAtOrBefore(id, this.session.cursor)) return;
        const mapped = mapEnhancedChatEvent(type, message.data, this.view, this.session.data.conversationId);
        if (
            mapped.messagingSessionId !== undefined &&
            mapped.messagingSessionId !== this.session.data.messagingSessionId
        ) {
            this.session.data = { ...this.session.data, messagingSessionId: mapped.messagingSessionId };
            this.session.stateChanged = true;
        }
        if (mapped.events.length > 0) {
            const sink = this.deps.sink();
            if (!sink) {
                throw new BridgeError('bridge_chat_nosink', 'no event sink registered; events wait for one', {
                    details: { retryable: true }
                });
            }
            const before = this.session.cursor;
            for (let i = 0; i < mapped.events.length; i++) {
                const event = mapped.events[i];
                if (event === undefined) continue;
                const last = i === mapped.events.length - 1;
                // Only the last event of an entry moves the cursor past it, so a crash in between replays the rest.
                const cursor = last ? (id ?? before) : before;
                const withState = this.session.stateChanged;
                this.session.stateChanged = false;
                try {
                    await sink({
                        handoverId: this.session.handoverId,
                        event,
                        cursor,
                        ...(withState ? { state: { data: { ...this.session.data }, cursor } } : {})
                    });
                } catch (error) {
                    if (withState) this.session.stateChanged = true;
                    throw new BridgeError('bridge_chat_sink', 'the event sink failed; the event is redelivered', {
                        cause: error,
                        details: { retryable: true, eventType: event.type }
                    });
                }
            }
        } else if (mapped.ignored !== undefined && mapped.ignored !== 'not_from_agent') {
            this.log.debug(
                { handoverId: this.session.handoverId, eventType: type, ignored: mapped.ignored },
                'event ignored'
            );
        }
        this.view = mapped.view;
        if (id !== null) this.session.cursor = id;
        if (mapped.view.finished) this.finished = true;
    }
}
