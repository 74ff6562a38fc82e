/**
 * One handover's Live Agent session: the single long-poll loop on `System/Messages` (salesforce.md §2.5),
 * ReconnectSession after a 503 or a restart, and the sequenced Chasitor POSTs.
 *
 * Never two polls at once: the loop is the only caller of Messages and waits for each answer (or aborts it
 * after clientPollTimeout) before the next, because a second concurrent poll makes Salesforce end the chat
 * (409). A reconnect first aborts the poll in flight.
 *
 * Positions and ids: each message's position in the session's stream is `offset - count + index + 1`; the
 * cursor the core stores is the position of the last message handled, which is what ReconnectSession's
 * offset asks for. An agent message's id is `<sessionId>:<position>`, so the same message delivered again
 * (a lost answer, a reconnect, a restart) has the same id and the core drops it as a duplicate.
 *
 * X-LIVEAGENT-SEQUENCE: Salesforce drops a POST whose sequence it has seen, so a network retry of one POST
 * reuses its number, and a message whose outcome was unknown keeps its number when the outbox retries it.
 * The counter lives in memory and goes into the state the core stores with each event; a stored value may
 * lag behind what was sent, and that is safe only because a restarted bridge never continues the old
 * numbering: a session rebuilt from a stored state (a restart, a takeover, a send before the stream is
 * resumed) calls ReconnectSession before it polls or posts, which resets the sequence on both sides
 * (`resetSequence` is always true), so a stale number can neither be dropped as a repeat (a skipped
 * message) nor reused for a different message. The one gap a reset opens (a message that reached the agent
 * just before a crash or an unanswered POST, sent again afterwards) is closed with the transcript that
 * ChasitorSessionData brings after the reconnect: when the first message sent after a reconnect is the
 * transcript's last visitor line, it is not sent again. (A user who really repeats their last line in that
 * instant loses the repeat; the alternative is the agent seeing most replays twice.)
 */
import { setTimeout as delay } from 'node:timers/promises';
import { BridgeError, isBridgeError } from '../../core/errors';
import type { ChatEvent, ChatEventSink, ChatSessionState } from '../../core/handover/chat-port';
import type { Logger } from '../../observability/logger';
import { mapLiveAgentMessage } from './event-mapping';
import type { LegacyChatView } from './event-mapping';
import { backoffDelay } from './live-agent-client';
import type { LiveAgentAnswer, LiveAgentClient } from './live-agent-client';

/** The adapter-specific part of ChatSessionState.data. */
export type LegacyChatData =
    | {
          /** Live Agent session id; also the LiveChatTranscript's ChatKey. */
          sessionId: string;
          sessionKey: string;
          affinityToken: string;
          /** Last X-LIVEAGENT-SEQUENCE used (0 after a reset). */
          sequence: number;
          /** `sequence` of the last Messages answer (the next poll's ack); -1 for none since the last connect. */
          ack: number;
          clientPollTimeout: number;
          /** An agent accepted: visitor messages may be sent. */
          established: boolean;
      }
    /** No agent was available when the chat was asked for; no session exists. */
    | { unavailable: true };

export type LiveSessionData = Exclude<LegacyChatData, { unavailable: true }>;

export interface SessionDependencies {
    client: LiveAgentClient;
    orgId: string;
    logger: Logger;
    sink: () => ChatEventSink | undefined;
    /** Backoff of the poll loop and reconnects after errors. */
    pollRetry: { baseMs: number; maxMs: number };
    /** How long a send waits for the agent to accept before the outbox retries it later. */
    establishWaitMs: number;
    /** Added to clientPollTimeout before a silent poll is aborted. */
    pollTimeoutMarginMs: number;
}

/** ReconnectSession tries of an end() (the loop is stopped; the outbox retries the end after these). */
const ENDING_RECONNECT_TRIES = 5;

/**
 * Waits `ms`, or less when `signal` aborts. Node's own timer removes its abort listener when it fires: the
 * loop's signal lives as long as the chat, and one listener left per backoff (a long outage) would pile up.
 */
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    delay(ms, undefined, signal === undefined ? {} : { signal }).catch(() => undefined);

const asRecord = (value: unknown): Record<string, unknown> =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

export function readLegacyData(handoverId: string, state: ChatSessionState): LegacyChatData {
    const d = state.data;
    if (d['unavailable'] === true) return { unavailable: true };
    const { sessionId, sessionKey, affinityToken, sequence, ack, clientPollTimeout, established } = d;
    if (typeof sessionId !== 'string' || typeof sessionKey !== 'string' || typeof affinityToken !== 'string') {
        throw new BridgeError('bridge_chat_state', 'the saved chat state has no Live Agent session', {
            details: { handoverId, retryable: false }
        });
    }
    return {
        sessionId,
        sessionKey,
        affinityToken,
        sequence: typeof sequence === 'number' ? sequence : 0,
        ack: typeof ack === 'number' ? ack : -1,
        clientPollTimeout: typeof clientPollTimeout === 'number' && clientPollTimeout > 0 ? clientPollTimeout : 40,
        established: established === true
    };
}

function ended(message: string, retryable = false): BridgeError {
    return new BridgeError('bridge_chat_ended', message, { details: { retryable } });
}

interface Deferred {
    promise: Promise<void>;
    resolve: () => void;
}

function deferred(): Deferred {
    let resolve: () => void = () => undefined;
    const promise = new Promise<void>((r) => {
        resolve = r;
    });
    return { promise, resolve };
}

export class LegacyChatSession {
    data: LegacyChatData;
    /** Position of the last message handled. */
    cursor: number;
    /** The data changed since the core last stored it. */
    private stateChanged = false;
    private view: LegacyChatView;
    private loop: Promise<void> | undefined;
    private stopped = false;
    /**
     * end() is posting ChatEnd: the loop is stopped, but a reconnect must still run (bounded), because a
     * session rebuilt from a stored state has a stale sequence that only ReconnectSession resets.
     */
    private ending = false;
    private finished = false;
    /** Salesforce said 403 to a reconnect: the next poll will find out and say so. */
    private gone = false;
    private pollController: AbortController | undefined;
    private readonly stopController = new AbortController();
    private reconnecting: Promise<void> | undefined;
    /**
     * Built from a stored state (a restart, or a send before the stream is resumed): its sequence and
     * affinity may be stale, so nothing is sent or polled before a ReconnectSession.
     */
    private needsReconnect: boolean;
    private resync: Deferred | undefined;
    /** The transcript's last visitor line, from the latest ChasitorSessionData. */
    private lastVisitorLine: string | undefined;
    /** The next send compares itself with lastVisitorLine (after a restart or an unanswered POST). */
    private checkRepeat = false;
    private readonly sentIds = new Set<string>();
    /** A message whose POST got no answer: its retry keeps the sequence while the affinity is the same. */
    private uncertain: { messageId: string; sequence: number; affinityToken: string } | undefined;
    private readonly establishWaiters = new Set<{ resolve: () => void; reject: (error: Error) => void }>();
    /** Sends of this handover, one after the other, in call order. */
    private sendTail: Promise<void> = Promise.resolve();

    constructor(
        private readonly deps: SessionDependencies,
        readonly handoverId: string,
        state: ChatSessionState,
        origin: 'opened' | 'stored'
    ) {
        this.data = readLegacyData(handoverId, state);
        this.cursor = Number(state.cursor ?? '0') || 0;
        this.view = { finished: false, ...(this.live()?.established ? { agentName: 'Agent' } : {}) };
        this.needsReconnect = origin === 'stored' && this.live() !== undefined;
        this.checkRepeat = this.needsReconnect;
    }

    get running(): boolean {
        return this.loop !== undefined && !this.stopped && !this.finished;
    }

    toState(): ChatSessionState {
        return { data: { ...this.data }, cursor: String(this.cursor) };
    }

    private live(): LiveSessionData | undefined {
        return 'unavailable' in this.data ? undefined : this.data;
    }

    private liveOrThrow(): LiveSessionData {
        const live = this.live();
        if (live === undefined) throw ended('the chat never started: no agent was available');
        return live;
    }

    private update(change: Partial<LiveSessionData>): void {
        this.data = { ...this.liveOrThrow(), ...change };
        this.stateChanged = true;
    }

    private get log(): Logger {
        return this.deps.logger;
    }

    get stoppedForGood(): boolean {
        return this.stopped;
    }

    /** Starts the loop (after a ReconnectSession when the session came from a stored state). */
    start(): void {
        if (this.loop) return;
        this.loop = this.run();
    }

    /** Stops the loop (aborting a held poll); sessions stay open in Salesforce. */
    async stop(): Promise<void> {
        this.stopped = true;
        this.stopController.abort();
        this.pollController?.abort();
        const error = new BridgeError('bridge_chat_detached', 'the chat stream was stopped', {
            details: { retryable: true }
        });
        for (const waiter of this.establishWaiters) waiter.reject(error);
        this.establishWaiters.clear();
        this.resync?.resolve();
        await this.loop;
    }

    // --------------------------------------------------------------------------------------------
    // The loop

    private async run(): Promise<void> {
        // Let the core store the open() result before the first event arrives.
        await new Promise((resolve) => setImmediate(resolve));
        if (this.live() === undefined) {
            await this.emit([{ type: 'failed', reason: 'no_agents', detail: 'no agent available' }], this.cursor);
            this.finished = true;
            return;
        }
        let failures = 0;
        while (!this.stopped && !this.finished) {
            try {
                if (this.needsReconnect) await this.ensureReconnected(this.liveOrThrow().affinityToken);
                await this.pollOnce();
                failures = 0;
            } catch (error) {
                if (this.stopped) break;
                if (this.reconnecting) {
                    // A send started a reconnect and aborted this poll.
                    await this.reconnecting.catch(() => undefined);
                    continue;
                }
                this.log.warn(
                    { handoverId: this.handoverId, code: (error as { code?: unknown }).code, attempt: failures },
                    'live agent poll failed'
                );
                await sleep(backoffDelay(this.deps.pollRetry, failures), this.stopController.signal);
                failures += 1;
            }
        }
    }

    private async pollOnce(): Promise<void> {
        const live = this.liveOrThrow();
        const controller = new AbortController();
        this.pollController = controller;
        const timer = setTimeout(
            () => controller.abort(),
            live.clientPollTimeout * 1000 + this.deps.pollTimeoutMarginMs
        );
        let answer: LiveAgentAnswer;
        try {
            answer = await this.deps.client.call({
                method: 'GET',
                resource: 'System/Messages',
                query: { ack: String(live.ack) },
                session: { affinityToken: live.affinityToken, sessionKey: live.sessionKey },
                signal: controller.signal,
                retry: false,
                // Salesforce holds a poll up to clientPollTimeout: the request timeout would abandon it early.
                timeoutMs: live.clientPollTimeout * 1000 + this.deps.pollTimeoutMarginMs
            });
        } finally {
            clearTimeout(timer);
            if (this.pollController === controller) this.pollController = undefined;
        }
        switch (answer.status) {
            case 200:
                await this.deliverBatch(answer.body);
                return;
            case 204:
                return;
            case 403:
            case 409:
                if (answer.status === 409) {
                    this.log.error({ handoverId: this.handoverId }, 'live agent ended the chat: duplicate long poll');
                }
                this.log.info({ handoverId: this.handoverId, status: answer.status }, 'live agent session is over');
                await this.emit([{ type: 'ended', by: 'system' }], this.cursor);
                this.finished = true;
                return;
            case 503:
                await this.ensureReconnected(live.affinityToken);
                return;
            default:
                throw new BridgeError('bridge_chat_unavailable', `Messages answered ${answer.status}`, {
                    details: { status: answer.status, retryable: true }
                });
        }
    }

    private async deliverBatch(raw: unknown): Promise<void> {
        const body = asRecord(raw);
        const messages = Array.isArray(body.messages) ? body.messages.map(asRecord) : [];
        const offset = typeof body.offset === 'number' ? body.offset : this.cursor + messages.length;
        const first = offset - messages.length + 1;
        for (let i = 0; i < messages.length && !this.finished && !this.stopped; i++) {
            const position = first + i;
            if (position <= this.cursor) continue;
            const { type, message } = messages[i] as { type?: unknown; message?: unknown };
            const kind = typeof type === 'string' ? type : '';
            if (kind === 'ChasitorSessionData') {
                this.readSessionData(message);
            } else {
                const live = this.liveOrThrow();
                const mapped = mapLiveAgentMessage(kind, message, this.view, `${live.sessionId}:${position}`);
                if ((kind === 'ChatEstablished' || kind === 'ChatTransferred') && !live.established) {
                    this.update({ established: true });
                    for (const waiter of this.establishWaiters) waiter.resolve();
                    this.establishWaiters.clear();
                }
                if (mapped.events.length > 0) await this.emit(mapped.events, position);
                else this.log.debug({ handoverId: this.handoverId, type: kind, ignored: mapped.ignored }, 'ignored');
                this.view = mapped.view;
                if (mapped.view.finished) this.finished = true;
            }
            this.cursor = position;
        }
        // Only a batch handled to its end is acknowledged: otherwise the next poll gets the rest again.
        if (typeof body.sequence === 'number' && !this.stopped) this.update({ ack: body.sequence });
    }

    private readSessionData(raw: unknown): void {
        const lines = Array.isArray(asRecord(raw).chatMessages) ? (asRecord(raw).chatMessages as unknown[]) : [];
        const visitor = lines.map(asRecord).filter((l) => l.type === 'Chasitor');
        const last = visitor.at(-1)?.content;
        this.lastVisitorLine = typeof last === 'string' ? last : undefined;
        this.resync?.resolve();
        this.resync = undefined;
    }

    /** Hands events to the sink in order; the last one carries the message's position as the cursor. */
    private async emit(events: ChatEvent[], position: number): Promise<void> {
        const sink = this.deps.sink();
        if (!sink) {
            throw new BridgeError('bridge_chat_nosink', 'no event sink registered; events wait for one', {
                details: { retryable: true }
            });
        }
        for (let i = 0; i < events.length; i++) {
            const event = events[i] as ChatEvent;
            const cursor = String(i === events.length - 1 ? position : this.cursor);
            const withState = this.stateChanged;
            this.stateChanged = false;
            try {
                await sink({
                    handoverId: this.handoverId,
                    event,
                    cursor,
                    ...(withState ? { state: { data: { ...this.data }, cursor } } : {})
                });
            } catch (error) {
                if (withState) this.stateChanged = true;
                throw new BridgeError('bridge_chat_sink', 'the event sink failed; the event is redelivered', {
                    cause: error,
                    details: { retryable: true, eventType: event.type }
                });
            }
        }
    }

    // --------------------------------------------------------------------------------------------
    // Reconnect (salesforce.md §2.5: 503 → ReconnectSession with the last offset, new affinity, reset sequence)

    private async ensureReconnected(staleToken: string): Promise<void> {
        if (this.liveOrThrow().affinityToken !== staleToken && !this.needsReconnect) return;
        if (!this.reconnecting) {
            this.reconnecting = this.reconnect().finally(() => {
                this.reconnecting = undefined;
            });
        }
        await this.reconnecting;
    }

    private async reconnect(): Promise<void> {
        // Cancel the poll in flight: the old affinity is gone and a held poll must not overlap the next one.
        this.pollController?.abort();
        for (let attempt = 0; !this.stopped || (this.ending && attempt < ENDING_RECONNECT_TRIES); attempt++) {
            const live = this.liveOrThrow();
            let answer: LiveAgentAnswer | undefined;
            try {
                answer = await this.deps.client.call({
                    method: 'GET',
                    resource: 'System/ReconnectSession',
                    query: { 'ReconnectSession.offset': String(this.cursor) },
                    session: { affinityToken: live.affinityToken, sessionKey: live.sessionKey }
                });
            } catch (error) {
                this.log.warn({ handoverId: this.handoverId, code: (error as BridgeError).code }, 'reconnect failed');
            }
            if (answer?.status === 200) {
                const reply = (
                    Array.isArray(asRecord(answer.body).messages) ? (asRecord(answer.body).messages as unknown[]) : []
                )
                    .map(asRecord)
                    .find((m) => m.type === 'ReconnectSession');
                const message = asRecord(reply?.message);
                if (typeof message.affinityToken === 'string' && message.affinityToken !== '') {
                    this.update({
                        affinityToken: message.affinityToken,
                        ...(message.resetSequence === false ? {} : { sequence: 0 }),
                        ack: -1
                    });
                    // A POST that got no answer may have arrived: its resend is checked against the transcript.
                    if (this.uncertain !== undefined) this.checkRepeat = true;
                    this.uncertain = undefined;
                    this.needsReconnect = false;
                    this.resync = deferred();
                    this.log.info({ handoverId: this.handoverId }, 'live agent session reconnected');
                    await this.resyncState();
                    return;
                }
            }
            if (answer?.status === 403) {
                this.gone = true;
                this.needsReconnect = false;
                return;
            }
            await sleep(
                backoffDelay(this.deps.pollRetry, attempt),
                this.ending ? undefined : this.stopController.signal
            );
        }
    }

    private async resyncState(): Promise<void> {
        const live = this.liveOrThrow();
        try {
            await this.deps.client.call({
                method: 'POST',
                resource: 'Chasitor/ChasitorResyncState',
                session: { affinityToken: live.affinityToken, sessionKey: live.sessionKey },
                body: { organizationId: this.deps.orgId }
            });
        } catch (error) {
            // The resync only refreshes the agent side's view; the chat goes on without it.
            this.log.warn({ handoverId: this.handoverId, code: (error as BridgeError).code }, 'resync state failed');
        }
    }

    // --------------------------------------------------------------------------------------------
    // Sends

    /** Resolves once an agent accepted; rejects (retryable) after establishWaitMs so the outbox tries later. */
    private waitEstablished(): Promise<void> {
        const live = this.liveOrThrow();
        if (live.established) return Promise.resolve();
        if (this.finished || this.gone) return Promise.reject(ended('the chat is over'));
        return new Promise<void>((resolve, reject) => {
            const waiter = {
                resolve: () => {
                    clearTimeout(timer);
                    resolve();
                },
                reject: (error: Error) => {
                    clearTimeout(timer);
                    reject(error);
                }
            };
            const timer = setTimeout(() => {
                this.establishWaiters.delete(waiter);
                reject(
                    new BridgeError('bridge_chat_not_established', 'no agent has accepted the chat yet', {
                        details: { retryable: true }
                    })
                );
            }, this.deps.establishWaitMs);
            this.establishWaiters.add(waiter);
        });
    }

    /** After a reconnect, waits (bounded) for ChasitorSessionData so the repeat check can see the transcript. */
    private async waitResync(): Promise<void> {
        const pending = this.resync;
        if (pending === undefined) return;
        const live = this.liveOrThrow();
        await Promise.race([pending.promise, sleep(live.clientPollTimeout * 1000, this.stopController.signal)]);
    }

    private turn<T>(work: () => Promise<T>): Promise<T> {
        const next = this.sendTail.then(work);
        this.sendTail = next.then(
            () => undefined,
            () => undefined
        );
        return next;
    }

    sendMessage(messageId: string, text: string): Promise<void> {
        return this.turn(async () => {
            if (this.live() === undefined || this.sentIds.has(messageId)) return;
            await this.waitEstablished();
            // The repeat check needs the transcript of a reconnect, so a stale session reconnects first.
            if (this.needsReconnect) await this.ensureReconnected(this.liveOrThrow().affinityToken);
            if (this.reconnecting) await this.reconnecting;
            await this.waitResync();
            if (this.checkRepeat) {
                this.checkRepeat = false;
                if (this.lastVisitorLine !== undefined && this.lastVisitorLine === text) {
                    this.log.info({ handoverId: this.handoverId }, 'message reached the agent before the reconnect');
                    this.sentIds.add(messageId);
                    return;
                }
            }
            await this.post('Chasitor/ChatMessage', { text }, messageId);
            this.sentIds.add(messageId);
        });
    }

    sendTyping(typing: boolean): Promise<void> {
        return this.turn(async () => {
            const live = this.live();
            // Typing before an agent accepted is an error in Salesforce and means nothing to anyone.
            if (live === undefined || !live.established || this.finished) return;
            await this.post(typing ? 'Chasitor/ChasitorTyping' : 'Chasitor/ChasitorNotTyping', undefined);
        });
    }

    /** Ends the chat in Salesforce (`ChatEnd`, reason client); a session already over is fine. */
    async end(): Promise<void> {
        await this.stop();
        if (this.live() === undefined) return;
        this.ending = true;
        try {
            await this.post('Chasitor/ChatEnd', { reason: 'client' });
        } catch (error) {
            if (isBridgeError(error, 'bridge_chat_ended')) return;
            throw error;
        } finally {
            this.ending = false;
        }
    }

    /** One sequenced POST: network retries keep the sequence, a 503 reconnects and sends with a new one. */
    private async post(resource: string, body: unknown, messageId?: string): Promise<void> {
        for (let attempt = 0; attempt < 5; attempt++) {
            if (this.needsReconnect) await this.ensureReconnected(this.liveOrThrow().affinityToken);
            if (this.gone) throw ended('the Live Agent session is over');
            // A stale sequence would be dropped by Salesforce as a repeat, silently (200): never post with one.
            if (this.needsReconnect) {
                throw new BridgeError('bridge_chat_unavailable', `${resource}: the session could not be reconnected`, {
                    details: { resource, retryable: true }
                });
            }
            const live = this.liveOrThrow();
            const reuse =
                messageId !== undefined &&
                this.uncertain?.messageId === messageId &&
                this.uncertain.affinityToken === live.affinityToken
                    ? this.uncertain.sequence
                    : undefined;
            const sequence = reuse ?? live.sequence + 1;
            if (reuse === undefined) this.update({ sequence });
            let answer: LiveAgentAnswer;
            try {
                answer = await this.deps.client.call({
                    method: 'POST',
                    resource,
                    session: { affinityToken: live.affinityToken, sessionKey: live.sessionKey, sequence },
                    ...(body === undefined ? {} : { body })
                });
            } catch (error) {
                if (messageId !== undefined) {
                    this.uncertain = { messageId, sequence, affinityToken: live.affinityToken };
                }
                throw error;
            }
            if (answer.status >= 200 && answer.status < 300) {
                this.uncertain = undefined;
                return;
            }
            if (answer.status === 503) {
                await this.ensureReconnected(live.affinityToken);
                if (this.gone) throw ended('the Live Agent session is over');
                continue;
            }
            if (answer.status === 403) throw ended('the Live Agent session is over');
            throw new BridgeError('bridge_chat_rejected', `${resource}: Salesforce answered ${answer.status}`, {
                details: { resource, status: answer.status, retryable: answer.status >= 500 }
            });
        }
        throw new BridgeError('bridge_chat_unavailable', `${resource}: the session kept moving`, {
            details: { resource, retryable: true }
        });
    }
}
