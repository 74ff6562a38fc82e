import type { IncomingMessage, ServerResponse } from 'node:http';
import { serveOnLoopback } from '../loopback-server';
import { formatHaptikTimestamp } from '../../../bridge/src/haptik/chat-history';
import { hslToPlainText } from '../../../bridge/src/haptik/hsl';

/**
 * A Haptik stand-in for tests and the demo: a real HTTP server answering the calls the bridge makes
 * (contract §3) with Haptik's documented shapes (haptik.md §A2.4, §A3), recording every call.
 * Auth as documented for all Haptik APIs: `client-id` + `Authorization: Bearer <token>`, else
 * 401 `{"error_message": "invalid authorization details"}`.
 *
 * Out-of-process control under `/__emulator/` (no auth): `GET calls`, `GET messages?user_id=`,
 * `GET hooks`, `POST reset`, `POST fail-next {count, status, body?}`,
 * `POST chat-history {userName, conversationNo, entries}`.
 */
export interface HaptikEmulatorOptions {
    clientId: string;
    apiToken: string;
    businessId: number | string;
    port?: number;
    host?: string;
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
    /** Messages the emulator accepted (2xx) for this user, in order, as the user sees them (one per message_id). */
    messagesTo(userId: string): EmulatedMessage[];
    /** Accepted `/tract/events/send` bodies for this user. */
    eventsTo(userId: string): Array<{ category: string; subcategory: string; metadata: unknown }>;
    setChatHistory(userName: string, conversationNo: string | number, entries: readonly ChatHistoryScriptEntry[]): void;
    /** The next `count` authenticated calls answer `status` (with `body`, or Haptik's shape for it). */
    failNext(count: number, status: number, body?: unknown): void;
    /** Resolves with the first recorded call (past or future) that matches; rejects after timeoutMs. */
    waitFor(predicate: (call: RecordedCall) => boolean, timeoutMs?: number): Promise<RecordedCall>;
    reset(): void;
    close(): Promise<void>;
}

interface Failure {
    status: number;
    body: unknown;
}

const AUTH_ERROR = { error_message: 'invalid authorization details' };

export async function startHaptikEmulator(options: HaptikEmulatorOptions): Promise<HaptikEmulator> {
    const calls: RecordedCall[] = [];
    const hooks: RegisteredHook[] = [];
    const histories = new Map<string, ChatHistoryScriptEntry[]>();
    const failures: Failure[] = [];
    const waiters = new Set<{ predicate: (call: RecordedCall) => boolean; resolve: (call: RecordedCall) => void }>();
    let seq = 0;

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
        messagesTo(userId) {
            // As the user sees them: a retry carries the same metadata.message_id and shows once (contract §3).
            const seen = new Set<string>();
            return calls
                .filter(
                    (c) =>
                        c.path === '/tract/message/send/' && c.status < 300 && bodyField(c.body, 'user_id') === userId
                )
                .filter((c) => {
                    const id = bodyField(bodyField(c.body, 'metadata'), 'message_id');
                    if (typeof id !== 'string' && typeof id !== 'number') return true;
                    if (seen.has(String(id))) return false;
                    seen.add(String(id));
                    return true;
                })
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
        },
        close: () => Promise.resolve()
    };

    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
        const url = new URL(req.url ?? '/', 'http://emulator');
        const text = await readBody(req);
        const body = text === '' ? undefined : safeJson(text);
        const send = (status: number, payload: unknown): void => {
            res.writeHead(status, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify(payload));
        };

        if (url.pathname.startsWith('/__emulator/')) {
            control(url, body, send);
            return;
        }

        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers)) {
            if (typeof value === 'string') headers[name] = value;
            else if (Array.isArray(value)) headers[name] = value.join(', ');
        }
        const answer = (status: number, payload: unknown): void => {
            record({
                method: req.method ?? 'GET',
                path: url.pathname,
                query: Object.fromEntries(url.searchParams),
                headers,
                body,
                status,
                seq: (seq += 1)
            });
            send(status, payload);
        };

        if (headers['client-id'] !== options.clientId || headers.authorization !== `Bearer ${options.apiToken}`) {
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
                return answer(200, {});
            }
            case 'POST /tract/events/send': {
                if (!wantsJson) return answer(400, { error: 'Content-Type must be application/json' });
                const problem = missing(body, ['user_id', 'category', 'subcategory']);
                return problem ? answer(400, { error: problem }) : answer(200, {});
            }
            case 'POST /tract/thread_control/request': {
                if (!wantsJson) return answer(400, { error: 'Content-Type must be application/json' });
                const problem = missing(body, ['user_id', 'type', 'requester', 'receiver']);
                if (problem) return answer(400, { error: problem });
                const type = bodyField(body, 'type');
                if (type === 'pass' || type === 'request') return answer(200, { success: true, reason: '' });
                if (type === 'take') {
                    return answer(200, { success: false, reason: 'only primary receivers may take thread control' });
                }
                return answer(400, { error: 'type must be request, pass or take' });
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

function isHsl(value: unknown): boolean {
    return typeof value === 'object' && value !== null && typeof bodyField(value, 'type') === 'string';
}
