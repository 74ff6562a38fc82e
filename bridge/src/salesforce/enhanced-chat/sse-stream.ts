/**
 * One handover's Enhanced Chat event stream: `GET /eventrouter/v1/sse` with the end user's token,
 * `X-Org-Id` and `Last-Event-Id`, parsed with eventsource-parser. It reconnects for ever with backoff
 * (Salesforce's sample: 1 s × 1.5ⁿ up to 30 s; it gives up after 10 tries, a server must not), treats
 * 90 s without a byte as a dead connection, renews the token on 401, and hands each mapped event to the
 * sink, waiting for it before reading on, so the core can persist the cursor before the next event.
 */
import { createParser } from 'eventsource-parser';
import type { Dispatcher } from 'undici';
import type { EventSourceMessage } from 'eventsource-parser';
import { BridgeError, isBridgeError } from '../../core/errors';
import type { ChatEventSink, ChatSessionState } from '../../core/handover/chat-port';
import type { Logger } from '../../observability/logger';
import { mapEnhancedChatEvent } from './event-mapping';
import type { ConversationView } from './event-mapping';
import { sharedDispatcher } from '../http-pool';

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
    /** HTTP pool; defaults to the process's shared one (http-pool.ts). */
    dispatcher?: Dispatcher;
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

/** Why the bridge itself closed a connection (stopped, or the chat finished): not a failure, never thrown on. */
class StreamStopped extends Error {
    constructor() {
        super('event stream closed by the bridge');
        this.name = 'StreamStopped';
    }
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
    /** Cuts the current connection (set while one is open). */
    private abort: (() => void) | undefined;
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
        this.abort?.();
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

    /**
     * One connection, read with undici's dispatch callbacks on the shared pool: chunks go straight into the SSE
     * parser, with no fetch Response, web stream or reader per chat (an idle chat holds only its socket, this
     * closure and its timer). While the sink works the socket is paused, so events are read no faster than they
     * are handled. Resolves when the stream ends or the chat finished or was stopped; rejects with why it broke.
     */
    private connectOnce(onOpen: () => void): Promise<void> {
        const url = new URL(`${this.deps.scrtUrl.replace(/\/+$/, '')}/eventrouter/v1/sse`);
        const headers: Record<string, string> = {
            accept: 'text/event-stream',
            authorization: `Bearer ${this.session.data.accessToken}`,
            'x-org-id': this.deps.orgId
        };
        if (this.session.cursor !== null) headers['last-event-id'] = this.session.cursor;
        return new Promise<void>((resolve, reject) => {
            let settled = false;
            let delivering = false;
            let ended = false;
            let dispatch: Dispatcher.DispatchController | undefined;
            const pending: EventSourceMessage[] = [];
            // Pings only keep the connection alive (the heartbeat saw their bytes): they never reach the sink.
            const parser = createParser({
                onEvent: (message) => {
                    if (message.event !== 'ping') pending.push(message);
                }
            });
            const decoder = new TextDecoder();
            const finish = (error?: Error): void => {
                if (settled) return;
                settled = true;
                clearTimeout(heartbeat);
                this.abort = undefined;
                if (error === undefined) resolve();
                else reject(error);
            };
            /** Closes the connection; the promise resolves (`reason` undefined: stopped or finished) or rejects. */
            const cut = (reason?: Error): void => {
                if (dispatch !== undefined && !dispatch.aborted) dispatch.abort(reason ?? new StreamStopped());
                finish(reason);
            };
            const heartbeat = setTimeout(function onSilence() {
                // Time spent in the sink (the core's database) is not silence on the wire.
                if (delivering) heartbeat.refresh();
                else cut(new HeartbeatTimeout());
            }, this.deps.heartbeatTimeoutMs);
            this.abort = () => cut();
            const drain = async (): Promise<void> => {
                delivering = true;
                try {
                    while (pending.length > 0 && !this.stopped && !this.finished) {
                        await this.deliver(pending.shift() as EventSourceMessage);
                    }
                } finally {
                    delivering = false;
                    heartbeat.refresh();
                }
            };
            const afterDrain = (): void => {
                if (this.stopped || this.finished) cut();
                else if (ended) finish();
                else dispatch?.resume();
            };
            const handler: Dispatcher.DispatchHandler = {
                onRequestStart: (controller) => {
                    dispatch = controller;
                    if (settled) controller.abort(new StreamStopped());
                },
                onResponseStart: (controller, status) => {
                    if (status === 401) {
                        cut(
                            new BridgeError('bridge_chat_unauthorized', 'event stream: access token rejected', {
                                details: { status: 401, retryable: true }
                            })
                        );
                        return;
                    }
                    if (status < 200 || status >= 300) {
                        cut(
                            new BridgeError('bridge_chat_unavailable', `event stream answered ${status}`, {
                                details: { status, retryable: true }
                            })
                        );
                        return;
                    }
                    dispatch = controller;
                    this.connections += 1;
                    onOpen();
                    heartbeat.refresh();
                },
                onResponseData: (controller, chunk) => {
                    if (settled) return;
                    heartbeat.refresh();
                    parser.feed(decoder.decode(chunk, { stream: true }));
                    if (pending.length === 0 || delivering) return;
                    controller.pause();
                    drain().then(afterDrain, (error: unknown) =>
                        cut(error instanceof Error ? error : new Error(String(error)))
                    );
                },
                onResponseEnd: () => {
                    ended = true;
                    if (!delivering) finish();
                },
                onResponseError: (_controller, error) => {
                    finish(error);
                }
            };
            (this.deps.dispatcher ?? sharedDispatcher()).dispatch(
                { origin: url.origin, path: `${url.pathname}${url.search}`, method: 'GET', headers },
                handler
            );
        });
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
