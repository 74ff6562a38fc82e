/**
 * HTTP calls to the legacy Chat REST API (salesforce.md §2.1–2.3) with the X-LIVEAGENT-* headers each
 * resource documents. It answers status and parsed body and leaves the protocol's meaning of 403, 409 and
 * 503 to the caller; only network errors and 500/502/504 are retried here, and only where a repeat is
 * harmless (GETs, and POSTs whose X-LIVEAGENT-SEQUENCE lets the server drop a repeat).
 *
 * Deadlines: an exchange ends at `requestTimeoutMs` (a long poll at its own `timeoutMs`), body included,
 * and a call with its retries ends at `deadlineMs` with `bridge_chat_timeout` (retryable).
 */
import { BridgeError } from '../../core/errors';
import type { Logger } from '../../observability/logger';

export type FetchLike = typeof fetch;

export interface RetryPolicy {
    /** Tries in all, first one included. */
    attempts: number;
    baseMs: number;
    maxMs: number;
}

export interface SessionHeaders {
    affinityToken: string | null;
    sessionKey?: string;
    sequence?: number;
}

export interface LiveAgentCall {
    method: 'GET' | 'POST' | 'DELETE';
    /** `System/Messages`, `Chasitor/ChatMessage`, … */
    resource: string;
    query?: Record<string, string>;
    session?: SessionHeaders;
    body?: unknown;
    /** Per-call abort (long polls: clientPollTimeout, or the loop stopping). */
    signal?: AbortSignal;
    /** Retry network errors and 5xx (other than 503) with the policy; default true. */
    retry?: boolean;
    /** This exchange's own deadline (a long poll is held longer than a request); default requestTimeoutMs. */
    timeoutMs?: number;
}

export interface LiveAgentAnswer {
    status: number;
    /** Parsed JSON, or undefined for an empty or non-JSON body (POSTs answer a short text). */
    body: unknown;
}

export interface LiveAgentClientOptions {
    /** The Chat API endpoint `https://<host>/chat` (SF_LIVEAGENT_URL). */
    endpoint: string;
    /** X-LIVEAGENT-API-VERSION, e.g. `64`. */
    apiVersion: string;
    logger: Logger;
    fetch: FetchLike;
    retry: RetryPolicy;
    requestTimeoutMs: number;
    /** Per call, retries and waits included (default 60 s). */
    deadlineMs?: number;
}

export interface LiveAgentClient {
    call(spec: LiveAgentCall): Promise<LiveAgentAnswer>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A retry needs at least this much of the call's deadline left (or the request timeout, if shorter). */
const MIN_TRY_MS = 1000;

export function backoffDelay(policy: { baseMs: number; maxMs: number }, attempt: number): number {
    return Math.min(policy.maxMs, Math.round(policy.baseMs * 2 ** attempt));
}

/** `64.0` → `64`: the header carries the major version (salesforce.md §2.2). */
export function liveAgentApiVersion(apiVersion: string): string {
    const major = /^(\d+)/.exec(apiVersion.trim())?.[1];
    return major ?? apiVersion;
}

function isAbort(error: unknown): boolean {
    return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

export function createLiveAgentClient(options: LiveAgentClientOptions): LiveAgentClient {
    const base = `${options.endpoint.replace(/\/+$/, '')}/rest/`;

    const deadlineMs = options.deadlineMs ?? 60_000;

    const once = async (spec: LiveAgentCall, leftMs: number): Promise<LiveAgentAnswer> => {
        const headers: Record<string, string> = {
            Accept: 'application/json',
            'X-LIVEAGENT-API-VERSION': options.apiVersion
        };
        if (spec.session !== undefined) {
            headers['X-LIVEAGENT-AFFINITY'] = spec.session.affinityToken ?? 'null';
            if (spec.session.sessionKey !== undefined) headers['X-LIVEAGENT-SESSION-KEY'] = spec.session.sessionKey;
            if (spec.session.sequence !== undefined) headers['X-LIVEAGENT-SEQUENCE'] = String(spec.session.sequence);
        }
        if (spec.body !== undefined) headers['Content-Type'] = 'application/json';
        const query = spec.query === undefined ? '' : `?${new URLSearchParams(spec.query).toString()}`;
        const timeout = AbortSignal.timeout(Math.max(1, Math.min(spec.timeoutMs ?? options.requestTimeoutMs, leftMs)));
        const response = await options.fetch(`${base}${spec.resource}${query}`, {
            method: spec.method,
            headers,
            ...(spec.body === undefined ? {} : { body: JSON.stringify(spec.body) }),
            signal: spec.signal === undefined ? timeout : AbortSignal.any([spec.signal, timeout])
        });
        const text = await response.text();
        let body: unknown;
        if (text !== '' && (response.headers.get('content-type') ?? '').includes('json')) {
            try {
                body = JSON.parse(text) as unknown;
            } catch {
                body = undefined;
            }
        }
        return { status: response.status, body };
    };

    return {
        async call(spec) {
            const attempts = spec.retry === false ? 1 : Math.max(1, options.retry.attempts);
            // A long poll is bounded by its own timeout; every other call by the call deadline too.
            const until = performance.now() + Math.max(deadlineMs, spec.timeoutMs ?? 0);
            let lastError: unknown;
            for (let attempt = 0; attempt < attempts; attempt++) {
                if (attempt > 0) {
                    const delayMs = backoffDelay(options.retry, attempt - 1);
                    if (until - performance.now() - delayMs < Math.min(options.requestTimeoutMs, MIN_TRY_MS)) {
                        throw new BridgeError(
                            'bridge_chat_timeout',
                            `${spec.resource}: no success within the call's ${deadlineMs} ms`,
                            {
                                cause: lastError,
                                details: { resource: spec.resource, retryable: true }
                            }
                        );
                    }
                    options.logger.warn(
                        { resource: spec.resource, attempt, delayMs },
                        'live agent call failed; retrying'
                    );
                    await sleep(delayMs);
                }
                if (spec.signal?.aborted) break;
                try {
                    const answer = await once(spec, until - performance.now());
                    if (answer.status === 500 || answer.status === 502 || answer.status === 504) {
                        lastError = new BridgeError(
                            'bridge_chat_unavailable',
                            `${spec.resource}: Salesforce answered ${answer.status}`,
                            { details: { resource: spec.resource, status: answer.status, retryable: true } }
                        );
                        continue;
                    }
                    return answer;
                } catch (error) {
                    if (spec.signal?.aborted) {
                        throw new BridgeError('bridge_chat_aborted', `${spec.resource}: aborted`, {
                            cause: error,
                            details: { resource: spec.resource, retryable: true }
                        });
                    }
                    lastError = new BridgeError(
                        isAbort(error) ? 'bridge_chat_timeout' : 'bridge_chat_unavailable',
                        `${spec.resource}: ${isAbort(error) ? 'no answer in time' : 'Salesforce unreachable'}`,
                        { cause: error, details: { resource: spec.resource, retryable: true } }
                    );
                }
            }
            throw lastError instanceof BridgeError
                ? lastError
                : new BridgeError('bridge_chat_unavailable', `${spec.resource}: no answer`, {
                      cause: lastError,
                      details: { resource: spec.resource, retryable: true }
                  });
        }
    };
}
