/**
 * The bridge's one keep-alive HTTP pool (undici) for Salesforce: REST calls, and the chat APIs' calls and event
 * streams. Sharing one dispatcher keeps one set of idle connections per origin for the whole process, instead of a
 * request pipeline, a stream stack and an agent per call or chat.
 *
 * `exchange` sends one request and reads the whole answer under one deadline that covers the headers and the body:
 * a server that sends headers and then stalls is cut off like one that never answers (ExchangeTimeout).
 * Network failures keep undici's or the socket's `code` (ECONNRESET, UND_ERR_SOCKET, ECONNREFUSED…), which the
 * callers' retry policies read.
 */
import type { Readable } from 'node:stream';
import { Agent, fetch as undiciFetch } from 'undici';
import type { Dispatcher } from 'undici';

let shared: Agent | undefined;

/**
 * The process-wide dispatcher. Idle connections are kept for a while (the server's Keep-Alive hint caps it) and do
 * not hold the process open. No cap on connections per origin: each chat's event stream holds one for its life
 * (11,000 idle handovers are 11,000 streams), and REST calls are bounded by their callers' concurrency and deadlines.
 */
export function sharedDispatcher(): Dispatcher {
    shared ??= new Agent({
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 120_000,
        // The callers' deadlines cover headers and body; an event stream is quiet for long stretches by design.
        headersTimeout: 0,
        bodyTimeout: 0
    });
    return shared;
}

/**
 * `fetch` on the shared pool, for the chat APIs' REST calls: the same keep-alive connections as the REST transport
 * and the event streams, instead of Node's global dispatcher (a second pool per origin).
 */
export const sharedFetch: typeof fetch = ((input: string | URL, init?: RequestInit) =>
    undiciFetch(input, {
        ...(init as Parameters<typeof undiciFetch>[1]),
        dispatcher: sharedDispatcher()
    })) as unknown as typeof fetch;

/** Raised when an exchange passed its deadline (headers or body). */
export class ExchangeTimeout extends Error {
    override readonly name = 'ExchangeTimeout';
    constructor(readonly timeoutMs: number) {
        super(`no complete answer within ${timeoutMs} ms`);
    }
}

export interface ExchangeRequest {
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
    /** Absolute URL. */
    url: string;
    headers: Record<string, string>;
    /** A stream is sent as it comes (chunked), once. */
    body?: string | Readable;
}

export interface ExchangeResponse {
    status: number;
    /** Lower-case names, as undici gives them. */
    headers: Record<string, string | string[] | undefined>;
    body: string;
}

/** One header's value; a repeated header's values joined with ", ". */
export function headerValue(response: ExchangeResponse, name: string): string | undefined {
    const value = response.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
}

/** A network failure with the code the retry policies read. */
export function connectionFailure(error: unknown): Error & { code: string } {
    const own = (error as { code?: unknown }).code;
    const cause = (error as { cause?: { code?: unknown } }).cause;
    const code = typeof own === 'string' ? own : typeof cause?.code === 'string' ? cause.code : 'ECONNRESET';
    return Object.assign(new Error(`Salesforce connection failed (${code})`), { name: 'FetchError', code });
}

/**
 * One request and its whole answer within `timeoutMs`. `onStatus` learns the status as soon as the headers arrive
 * (so a failure while reading the body still knows it).
 */
export async function exchange(
    request: ExchangeRequest,
    timeoutMs: number,
    options: { dispatcher?: Dispatcher; onStatus?: (status: number) => void } = {}
): Promise<ExchangeResponse> {
    const ms = Math.max(1, Math.round(timeoutMs));
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), ms);
    try {
        const url = new URL(request.url);
        const answer = await (options.dispatcher ?? sharedDispatcher()).request({
            origin: url.origin,
            path: `${url.pathname}${url.search}`,
            method: request.method,
            headers: request.headers,
            ...(request.body === undefined ? {} : { body: request.body }),
            signal: controller.signal
        });
        options.onStatus?.(answer.statusCode);
        const body = await answer.body.text();
        return { status: answer.statusCode, headers: answer.headers, body };
    } catch (error) {
        if (controller.signal.aborted) throw new ExchangeTimeout(ms);
        throw connectionFailure(error);
    } finally {
        clearTimeout(timer);
    }
}
