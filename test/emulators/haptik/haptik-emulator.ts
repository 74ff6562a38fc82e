import type { IncomingMessage, ServerResponse } from 'node:http';
import { serveOnLoopback } from '../loopback-server';
import { formatHaptikTimestamp } from '../../../bridge/src/haptik/chat-history';
import { hslToPlainText } from '../../../bridge/src/haptik/hsl';
import { createTractTokenIssuerEmulator } from './tract-token-issuer';
import type { TractIssuerOptions } from './tract-token-issuer';

/**
 * A Haptik stand-in for tests and the demo: a real HTTP server answering the calls the bridge makes
 * (contract §3) with Haptik's documented shapes (haptik.md §A2.4, §A3, docs/external-chat-tool/*),
 * recording every call the way Haptik sees it: every `message/send` it accepted is a message the user
 * sees, a re-sent one included (Haptik documents `metadata` as unused and deduplicates nothing).
 *
 * Auth: the integration APIs take `client-id` + `Authorization: Bearer <Business Manager token>`. TRACT
 * calls take the same when `tract` is not configured (HAPTIK_TRACT_* unset); with `tract`, they take only a
 * token issued by the signed `/tract/management/token/issue/` (tract-token-issuer.ts). Otherwise 401
 * `{"error_message": "invalid authorization details"}`.
 *
 * Thread control: each user's thread has the receivers `iva` (default, primary), `sac` (primary) and the
 * bridge's ECT (`ectReceiver`); the IVA is active until the ECT gets the chat (applyFinalResponse with
 * `callback_ops.tract_atc.receiver`, or giveToEct for the implicit handover of an incomplete conversation).
 * Only the active receiver or a primary one may pass, and only to the default or a primary receiver.
 *
 * Out-of-process control under `/__emulator/` (no auth): `GET calls`, `GET messages?user_id=`,
 * `GET hooks`, `POST reset`, `POST fail-next {count, status, body?}`,
 * `POST chat-history {userName, conversationNo, entries}`, `POST final-response {user_id, final_response}`.
 */
export interface HaptikEmulatorOptions {
    clientId: string;
    apiToken: string;
    businessId: number | string;
    port?: number;
    host?: string;
    /** TRACT's signed token issue; unset, TRACT calls take the Business Manager token. */
    tract?: TractIssuerOptions;
    /** The receiver id TRACT knows the bridge by; default `ect_salesforce_bridge`. */
    ectReceiver?: string;
}

export interface RecordedCall {
    method: string;
    /** Path without the query string. */
    path: string;
    query: Record<string, string>;
    /** Lower-case names. */
    headers: Record<string, string>;
    /** Parsed JSON, or the raw text when it was not JSON, or undefined when empty. */
    body: unknown;
    /** The status the emulator answered. */
    status: number;
    seq: number;
    /** Held (holdSendAnswers): the caller's connection closed before the answer, so it cannot know the outcome. */
    answerLost?: boolean;
}

export interface EmulatedMessage {
    userId: string;
    /** The parsed HSL (message_body as sent was a string). */
    hsl: unknown;
    /** hslToPlainText of the message. */
    text: string;
    sender: string;
    metadata: unknown;
}

export interface ChatHistoryScriptEntry {
    text: string;
    /** `user`, `bot` or an agent name. */
    sender: string;
    message_id?: number | string;
    /** A Date is formatted like Haptik ("06/22/20 07:24:25 AM UTC"); a string is sent as is. */
    at?: Date | string;
}

export interface RegisteredHook {
    category: string;
    subcategory: string;
    url: string;
}

export interface HaptikEmulator {
    readonly url: string;
    readonly port: number;
    /** Every call except /__emulator control calls, oldest first. */
    readonly calls: readonly RecordedCall[];
    /** TRACT hooks registered with `/tract/hooks/register/` (one per category/subcategory, the latest URL). */
    readonly hooks: readonly RegisteredHook[];
    /** The receiver id TRACT knows the bridge's ECT by. */
    readonly ectReceiver: string;
    /** Every message the emulator accepted (2xx) for this user, in order, as the user sees them: a resend twice. */
    messagesTo(userId: string): EmulatedMessage[];
    /**
     * From now on, `message/send` calls are accepted (the user sees them) but answered only at releaseSendAnswers():
     * a send in flight. A caller that goes away meanwhile never learns the outcome (`answerLost`).
     */
    holdSendAnswers(): void;
    /**
     * Stops holding and answers the held sends whose caller is still there. Closes of callers that just died
     * are let in first (they arrive as socket events), so a dead caller's send is marked `answerLost`.
     */
    releaseSendAnswers(): Promise<void>;
    /** Posts a payload to the hook URL registered for category/subcategory, as TRACT does (unsigned). */
    deliverHook(category: string, subcategory: string, payload: unknown): Promise<{ status: number; body: unknown }>;
    /** The receiver that holds the user's thread (`iva` until the chat is handed over). */
    activeReceiver(userId: string): string;
    /** The implicit handover: the bot marked the conversation incomplete and the single ECT gets it. */
    giveToEct(userId: string): void;
    /** What Haptik does with a Code node's `final_response`: `callback_ops.tract_atc.receiver` takes the thread. */
    applyFinalResponse(userId: string, finalResponse: unknown): boolean;
    /** TRACT's user directory (`/tract/user/`). */
    setUser(userId: string, user: { userName?: string; devicePlatform?: number }): void;
    /** Haptik's clock runs this far ahead of the machine's (negative: behind); for the 150 s tolerance. */
    setClockOffset(ms: number): void;
    /** Every issued TRACT token stops working: the next TRACT call gets 401. */
    revokeTractTokens(): void;
    /** TRACT tokens issued so far. */
    readonly tractTokensIssued: number;
    /** Accepted `/tract/events/send` bodies for this user. */
    eventsTo(userId: string): Array<{ category: string; subcategory: string; metadata: unknown }>;
    setChatHistory(userName: string, conversationNo: string | number, entries: readonly ChatHistoryScriptEntry[]): void;
    /** The next `count` authenticated calls answer `status` (with `body`, or Haptik's shape for it). */
    failNext(count: number, status: number, body?: unknown): void;
    /** Resolves with the first recorded call (past or future) that matches; rejects after timeoutMs. */
    waitFor(predicate: (call: RecordedCall) => boolean, timeoutMs?: number): Promise<RecordedCall>;
    reset(): void;
    close(): Promise<void>;
    /**
     * Puts a file on the emulator's asset host, as Haptik stores a user's upload (issue 18); returns its public
     * URL, `GET /assets/<name>` without authentication, like Haptik's asset hosts. `chunked`: served without a
     * Content-Length (chunked transfer), as a host that streams a file it transforms on the way.
     */
    addAsset(name: string, contentType: string, data: Buffer, options?: { chunked?: boolean }): string;
    /** How often each asset was downloaded. */
    assetDownloads(name: string): number;
    /** The asset is gone from the host (a CDN's expired object): its URL answers 404 from now on. */
    removeAsset(name: string): void;
}

interface Failure {
    status: number;
    body: unknown;
}

const AUTH_ERROR = { error_message: 'invalid authorization details' };
/** Events an ECT may send (appendix.md): `allocated` and `user_timeout` are `message` events. */
const ECT_EVENTS = new Set(['message/allocated', 'message/user_timeout', 'collection_state/complete']);
const SENDERS = new Set(['ceu', 'iva', 'haptik', 'ect', 'aeu']);
const TOKEN_ISSUE_PATH = '/tract/management/token/issue/';

interface Held {
    call: RecordedCall;
    res: ServerResponse;
}

export async function startHaptikEmulator(options: HaptikEmulatorOptions): Promise<HaptikEmulator> {
    const calls: RecordedCall[] = [];
    const hooks: RegisteredHook[] = [];
    const histories = new Map<string, ChatHistoryScriptEntry[]>();
    const assets = new Map<string, { contentType: string; data: Buffer; downloads: number; chunked: boolean }>();
    const failures: Failure[] = [];
    const waiters = new Set<{ predicate: (call: RecordedCall) => boolean; resolve: (call: RecordedCall) => void }>();
    let seq = 0;
    const issuer = options.tract === undefined ? undefined : createTractTokenIssuerEmulator(options.tract);
    const ectReceiver = options.ectReceiver ?? 'ect_salesforce_bridge';
    const receivers = [
        { receiver: 'iva', name: 'Haptik IVA', is_default: true, is_primary: true },
        { receiver: 'sac', name: 'Smart Agent Chat', is_default: false, is_primary: true },
        { receiver: ectReceiver, name: 'External chat tool', is_default: false, is_primary: false }
    ];
    const active = new Map<string, string>();
    const users = new Map<string, { userName?: string; devicePlatform?: number }>();
    let holding = false;
    const held: Held[] = [];
    let clockOffsetMs = 0;
    const haptikNow = (): Date => new Date(Date.now() + clockOffsetMs);

    const historyKey = (userName: string, conversationNo: string | number): string =>
        `${userName}\u0000${conversationNo}`;

    const record = (call: RecordedCall): void => {
        calls.push(call);
        for (const waiter of waiters) {
            if (waiter.predicate(call)) {
                waiters.delete(waiter);
                waiter.resolve(call);
            }
        }
    };

    const emulator: HaptikEmulator = {
        url: '',
        port: 0,
        calls,
        hooks,
        ectReceiver,
        get tractTokensIssued() {
            return issuer?.issued ?? 0;
        },
        messagesTo(userId) {
            // Every accepted send is a message on the user's screen: Haptik does not deduplicate (contract §3).
            return calls
                .filter(
                    (c) =>
                        c.path === '/tract/message/send/' && c.status < 300 && bodyField(c.body, 'user_id') === userId
                )
                .map((c) => {
                    const raw = bodyField(c.body, 'message_body');
                    const hsl = typeof raw === 'string' ? safeJson(raw) : raw;
                    return {
                        userId,
                        hsl,
                        text: hslToPlainText(hsl),
                        sender: textField(c.body, 'sender'),
                        metadata: bodyField(c.body, 'metadata')
                    };
                });
        },
        eventsTo(userId) {
            return calls
                .filter(
                    (c) => c.path === '/tract/events/send' && c.status < 300 && bodyField(c.body, 'user_id') === userId
                )
                .map((c) => ({
                    category: textField(c.body, 'category'),
                    subcategory: textField(c.body, 'subcategory'),
                    metadata: bodyField(c.body, 'metadata')
                }));
        },
        holdSendAnswers() {
            holding = true;
        },
        async releaseSendAnswers() {
            holding = false;
            await new Promise((resolve) => setTimeout(resolve, 100));
            for (const { res } of held.splice(0)) sendJson(res, 200, {});
        },
        async deliverHook(category, subcategory, payload) {
            const hook = hooks.find((h) => h.category === category && h.subcategory === subcategory);
            if (hook === undefined)
                throw new Error(`Haptik emulator: no hook registered for ${category}/${subcategory}`);
            const response = await fetch(hook.url, {
                method: 'POST',
                headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify(payload)
            });
            const text = await response.text();
            return { status: response.status, body: safeJson(text) };
        },
        activeReceiver(userId) {
            return active.get(userId) ?? 'iva';
        },
        giveToEct(userId) {
            active.set(userId, ectReceiver);
        },
        applyFinalResponse(userId, finalResponse) {
            const receiver = bodyField(bodyField(bodyField(finalResponse, 'callback_ops'), 'tract_atc'), 'receiver');
            if (typeof receiver !== 'string' || !receivers.some((r) => r.receiver === receiver)) return false;
            active.set(userId, receiver);
            return true;
        },
        setUser(userId, user) {
            users.set(userId, user);
        },
        setClockOffset(ms) {
            clockOffsetMs = ms;
        },
        revokeTractTokens() {
            issuer?.revokeAll();
        },
        addAsset(name, contentType, data, options) {
            assets.set(name, { contentType, data, downloads: 0, chunked: options?.chunked === true });
            return `${emulator.url}/assets/${encodeURIComponent(name)}`;
        },
        assetDownloads: (name) => assets.get(name)?.downloads ?? 0,
        removeAsset: (name) => {
            assets.delete(name);
        },
        setChatHistory(userName, conversationNo, entries) {
            histories.set(historyKey(userName, conversationNo), [...entries]);
        },
        failNext(count, status, body) {
            for (let i = 0; i < count; i += 1) failures.push({ status, body: body ?? defaultErrorBody(status) });
        },
        waitFor(predicate, timeoutMs = 5000) {
            const seen = calls.find(predicate);
            if (seen) return Promise.resolve(seen);
            return new Promise<RecordedCall>((resolve, reject) => {
                const waiter = {
                    predicate,
                    resolve: (call: RecordedCall) => {
                        clearTimeout(timer);
                        resolve(call);
                    }
                };
                const timer = setTimeout(() => {
                    waiters.delete(waiter);
                    reject(new Error(`Haptik emulator: no matching call within ${timeoutMs} ms`));
                }, timeoutMs);
                waiters.add(waiter);
            });
        },
        reset() {
            calls.length = 0;
            hooks.length = 0;
            failures.length = 0;
            histories.clear();
            active.clear();
            holding = false;
            for (const { res } of held.splice(0)) sendJson(res, 200, {});
        },
        close: () => Promise.resolve()
    };

    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
        const url = new URL(req.url ?? '/', 'http://emulator');
        const text = await readBody(req);
        const body = text === '' ? undefined : safeJson(text);
        const send = (status: number, payload: unknown): void => sendJson(res, status, payload);

        if (url.pathname.startsWith('/__emulator/')) {
            control(url, body, send);
            return;
        }
        if (url.pathname.startsWith('/assets/') && req.method === 'GET') {
            // The asset host: public files, streamed in pieces like a CDN.
            const asset = assets.get(decodeURIComponent(url.pathname.slice('/assets/'.length)));
            if (asset === undefined) return send(404, { error: 'not found' });
            asset.downloads += 1;
            res.writeHead(200, {
                'Content-Type': asset.contentType,
                ...(asset.chunked ? {} : { 'Content-Length': asset.data.length })
            });
            for (let at = 0; at < asset.data.length; at += 64 * 1024)
                res.write(asset.data.subarray(at, at + 64 * 1024));
            res.end();
            return;
        }

        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers)) {
            if (typeof value === 'string') headers[name] = value;
            else if (Array.isArray(value)) headers[name] = value.join(', ');
        }
        const callOf = (status: number): RecordedCall => ({
            method: req.method ?? 'GET',
            path: url.pathname,
            query: Object.fromEntries(url.searchParams),
            headers,
            body,
            status,
            seq: (seq += 1)
        });
        const answer = (status: number, payload: unknown): void => {
            record(callOf(status));
            send(status, payload);
        };

        if (url.pathname === TOKEN_ISSUE_PATH && req.method === 'POST') {
            // Signed, not authenticated by a bearer (security.md); 404 where TRACT tokens are not set up.
            if (issuer === undefined) return answer(404, { error: 'not found' });
            const outcome = issuer.issue(text, headers, haptikNow());
            const dated = (): void => {
                record(callOf(outcome.status));
                res.writeHead(outcome.status, { 'Content-Type': 'application/json', Date: haptikNow().toUTCString() });
                res.end(JSON.stringify(outcome.body));
            };
            return dated();
        }
        const bearer = headers.authorization ?? '';
        const tractCall = url.pathname.startsWith('/tract/');
        const authorised =
            headers['client-id'] === options.clientId &&
            (tractCall && issuer !== undefined
                ? bearer.startsWith('Bearer ') && issuer.accepts(bearer.slice('Bearer '.length), haptikNow())
                : bearer === `Bearer ${options.apiToken}`);
        if (!authorised) {
            answer(401, AUTH_ERROR);
            return;
        }
        const failure = failures.shift();
        if (failure) {
            answer(failure.status, failure.body);
            return;
        }
        const route = `${req.method ?? 'GET'} ${url.pathname}`;
        const wantsJson = (headers['content-type'] ?? '').toLowerCase().startsWith('application/json');
        switch (route) {
            case 'POST /tract/message/send/': {
                if (!wantsJson) return answer(400, { error: 'Content-Type must be application/json' });
                const problem = missing(body, ['user_id', 'message_body', 'sender']);
                if (problem) return answer(400, { error: problem });
                const messageBody = bodyField(body, 'message_body');
                if (typeof messageBody !== 'string' || !isHsl(safeJson(messageBody))) {
                    return answer(400, { error: 'message_body must be a serialised HSL JSON string' });
                }
                const hslError = hslProblem(safeJson(messageBody));
                if (hslError !== undefined) return answer(400, { error: hslError });
                if (!SENDERS.has(textField(body, 'sender'))) return answer(400, { error: 'unknown sender' });
                const metadata = bodyField(body, 'metadata');
                if (
                    metadata !== undefined &&
                    (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
                ) {
                    return answer(400, { error: 'metadata must be a dict' });
                }
                if (holding) {
                    // Accepted now (the user sees it), answered later: a send in flight.
                    const call = callOf(200);
                    record(call);
                    held.push({ call, res });
                    res.on('close', () => {
                        if (!res.writableFinished) call.answerLost = true;
                    });
                    return;
                }
                return answer(200, {});
            }
            case 'POST /tract/events/send': {
                if (!wantsJson) return answer(400, { error: 'Content-Type must be application/json' });
                const problem = missing(body, ['user_id', 'category', 'subcategory']);
                if (problem) return answer(400, { error: problem });
                const metadata = bodyField(body, 'metadata');
                if (metadata !== undefined && typeof metadata !== 'string') {
                    return answer(400, { error: 'metadata must be a string' });
                }
                const event = `${textField(body, 'category')}/${textField(body, 'subcategory')}`;
                if (!ECT_EVENTS.has(event)) return answer(400, { error: `an external chat tool cannot send ${event}` });
                return answer(200, {});
            }
            case 'POST /tract/thread_control/listeners/': {
                if (!wantsJson) return answer(400, { error: 'Content-Type must be application/json' });
                const problem = missing(body, ['user_id']);
                if (problem) return answer(400, { error: problem });
                const current = emulator.activeReceiver(textField(body, 'user_id'));
                return answer(200, { listeners: receivers.map((r) => ({ ...r, active: r.receiver === current })) });
            }
            case 'POST /tract/user/': {
                if (!wantsJson) return answer(400, { error: 'Content-Type must be application/json' });
                const problem = missing(body, ['user_id']);
                if (problem) return answer(400, { error: problem });
                const userId = textField(body, 'user_id');
                const user = users.get(userId);
                if (user === undefined) return answer(404, { error: 'user not found' });
                return answer(200, {
                    user_id: userId,
                    ...(user.userName === undefined ? {} : { user_name: user.userName }),
                    ...(user.devicePlatform === undefined ? {} : { device_platform: String(user.devicePlatform) }),
                    details_available: []
                });
            }
            case 'POST /tract/thread_control/request': {
                if (!wantsJson) return answer(400, { error: 'Content-Type must be application/json' });
                const problem = missing(body, ['user_id', 'type', 'requester', 'receiver']);
                if (problem) return answer(400, { error: problem });
                const type = bodyField(body, 'type');
                const userId = textField(body, 'user_id');
                const requester = receivers.find((r) => r.receiver === textField(body, 'requester'));
                const receiver = receivers.find((r) => r.receiver === textField(body, 'receiver'));
                if (type === 'request') {
                    return answer(200, { success: false, reason: 'requesting thread control is not supported' });
                }
                if (type !== 'pass' && type !== 'take')
                    return answer(400, { error: 'type must be request, pass or take' });
                if (requester === undefined || receiver === undefined) {
                    return answer(200, { success: false, reason: 'unknown requester or receiver' });
                }
                if (type === 'take') {
                    if (!requester.is_primary) {
                        return answer(200, {
                            success: false,
                            reason: 'only primary receivers may take thread control'
                        });
                    }
                    active.set(userId, requester.receiver);
                    return answer(200, { success: true, reason: '' });
                }
                if (emulator.activeReceiver(userId) !== requester.receiver && !requester.is_primary) {
                    return answer(200, {
                        success: false,
                        reason: 'only the active or a primary receiver may pass thread control'
                    });
                }
                if (!receiver.is_default && !receiver.is_primary) {
                    return answer(200, {
                        success: false,
                        reason: 'thread control can only be passed to the default or a primary receiver'
                    });
                }
                active.set(userId, receiver.receiver);
                return answer(200, { success: true, reason: '' });
            }
            case 'POST /tract/hooks/register/': {
                if (!wantsJson) return answer(400, { error: 'Content-Type must be application/json' });
                const problem = missing(body, ['category', 'subcategory', 'url']);
                if (problem) return answer(400, { error: problem });
                if (!/^https?:\/\/[^\s/]+/i.test(textField(body, 'url'))) {
                    return answer(400, { error: 'url must be an http(s) URL' });
                }
                const hook = {
                    category: textField(body, 'category'),
                    subcategory: textField(body, 'subcategory'),
                    url: textField(body, 'url')
                };
                const existing = hooks.findIndex(
                    (h) => h.category === hook.category && h.subcategory === hook.subcategory
                );
                if (existing >= 0) hooks.splice(existing, 1, hook);
                else hooks.push(hook);
                return answer(200, {});
            }
            case 'GET /tract/hooks/list/': {
                const registered: Record<string, Record<string, string>> = {};
                for (const hook of hooks) (registered[hook.category] ??= {})[hook.subcategory] = hook.url;
                return answer(200, { registered_webhooks: registered });
            }
            case 'GET /integration/external/v2.0/get_chat_history/': {
                const q = url.searchParams;
                const businessId = q.get('business_id');
                const userName = q.get('user_name');
                const conversationNo = q.get('conversation_no');
                if (!businessId || !userName || !conversationNo) {
                    return answer(400, { error: 'business_id, user_name and conversation_no are required' });
                }
                if (businessId !== String(options.businessId)) return answer(400, { error: 'invalid business_id' });
                const entries = histories.get(historyKey(userName, conversationNo)) ?? [];
                const chatJson = entries.map((entry, index) => ({
                    text: entry.text,
                    sender: entry.sender,
                    message_id: entry.message_id ?? index + 1,
                    timestamp:
                        entry.at instanceof Date
                            ? formatHaptikTimestamp(entry.at)
                            : (entry.at ?? formatHaptikTimestamp(new Date(Date.UTC(2020, 5, 22, 7, 24, index))))
                }));
                if (q.get('response_type') === 'text') {
                    return answer(200, { chat_text: chatJson.map((e) => `${e.sender}: ${e.text}\n`).join('') });
                }
                return answer(200, { chat_json: chatJson });
            }
            default:
                return answer(404, { error: 'not found' });
        }
    };

    const control = (url: URL, body: unknown, send: (status: number, payload: unknown) => void): void => {
        const route = url.pathname.slice('/__emulator/'.length);
        switch (route) {
            case 'calls':
                return send(200, { calls });
            case 'messages':
                return send(200, { messages: emulator.messagesTo(url.searchParams.get('user_id') ?? '') });
            case 'hooks':
                return send(200, { hooks });
            case 'reset':
                emulator.reset();
                return send(200, { ok: true });
            case 'fail-next': {
                const count = Number(bodyField(body, 'count') ?? 1);
                const status = Number(bodyField(body, 'status') ?? 503);
                emulator.failNext(count, status, bodyField(body, 'body'));
                return send(200, { ok: true });
            }
            case 'final-response':
                return send(200, {
                    applied: emulator.applyFinalResponse(textField(body, 'user_id'), bodyField(body, 'final_response'))
                });
            case 'chat-history': {
                const entries = bodyField(body, 'entries');
                emulator.setChatHistory(
                    textField(body, 'userName'),
                    textField(body, 'conversationNo'),
                    Array.isArray(entries) ? (entries as ChatHistoryScriptEntry[]) : []
                );
                return send(200, { ok: true });
            }
            default:
                return send(404, { error: 'unknown emulator control route' });
        }
    };

    const server = await serveOnLoopback(
        handle,
        (res, error) => {
            res.writeHead(500, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify({ error: error instanceof Error ? error.message : 'emulator failure' }));
        },
        options
    );
    return Object.assign(emulator, { url: server.url, port: server.port, close: () => server.close() });
}

function sendJson(res: ServerResponse, status: number, payload: unknown): void {
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(payload));
}

function defaultErrorBody(status: number): unknown {
    if (status === 401) return AUTH_ERROR;
    return { error: status >= 500 ? 'internal server error' : 'bad request' };
}

function readBody(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        req.on('error', reject);
    });
}

function safeJson(text: string): unknown {
    try {
        return JSON.parse(text) as unknown;
    } catch {
        return text;
    }
}

function bodyField(body: unknown, name: string): unknown {
    return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

function textField(body: unknown, name: string): string {
    const value = bodyField(body, name);
    return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

function missing(body: unknown, fields: readonly string[]): string | undefined {
    const absent = fields.filter((field) => {
        const value = bodyField(body, field);
        return value === undefined || value === null || value === '';
    });
    return absent.length === 0 ? undefined : `missing ${absent.join(', ')}`;
}

const isHttpUrl = (value: unknown): boolean =>
    typeof value === 'string' && /^https?:\/\//i.test(value) && URL.canParse(value);

/**
 * What Haptik's HSL rules refuse in the elements a file travels in (haptik.md §A6): a CAROUSEL needs items, each
 * thumbnail image a URL; a `LINK` actionable needs `payload.url`, a URL; a BUTTON needs items.
 */
function hslProblem(hsl: unknown): string | undefined {
    const type = String(bodyField(hsl, 'type')).toUpperCase();
    const data = bodyField(hsl, 'data');
    const items = bodyField(data, 'items');
    const actionables: unknown[] = [];
    if (type === 'CAROUSEL' || type === 'BUTTON') {
        if (!Array.isArray(items) || items.length === 0) return `a ${type} needs data.items`;
        for (const item of items) {
            if (type === 'CAROUSEL') {
                const thumbnail = bodyField(item, 'thumbnail');
                if (thumbnail !== undefined && !isHttpUrl(bodyField(thumbnail, 'image'))) {
                    return 'a carousel thumbnail.image must be an http(s) URL';
                }
                const own = bodyField(item, 'actionables');
                if (Array.isArray(own)) actionables.push(...(own as unknown[]));
            } else actionables.push(item);
        }
    }
    for (const actionable of actionables) {
        if (bodyField(actionable, 'uri') === 'LINK' && !isHttpUrl(bodyField(bodyField(actionable, 'payload'), 'url'))) {
            return 'a LINK actionable needs payload.url, an http(s) URL';
        }
    }
    return undefined;
}

function isHsl(value: unknown): boolean {
    return typeof value === 'object' && value !== null && typeof bodyField(value, 'type') === 'string';
}
