/**
 * The bridge's only door to the Salesforce REST API, behind the SalesforceClient interface. REST calls go straight
 * to the process's keep-alive undici pool (http-pool.ts): per call one request written and one answer read, no
 * jsforce request pipeline (which cost a lookup miss about a millisecond of CPU in streams, events and Blob reads).
 * jsforce's Connection is kept for the OAuth grants (JWT bearer, client credentials) only.
 *
 * It authorizes with the configured grant, re-authorizes on INVALID_SESSION_ID (concurrent 401s share one token
 * request; a token that Salesforce keeps rejecting ends the call), retries transient failures with exponential
 * backoff and jitter, maps every failure to a SalesforceError and records API usage (Sforce-Limit-Info).
 *
 * Retry policy: reads, updates and external-id upserts are idempotent and are retried on 500/502/503/504,
 * connection resets and timeouts. A create is retried only when Salesforce answered 500/503 itself or the
 * connection was refused (nothing was saved); after a timeout, a reset or a gateway's 502/504 it may have
 * been saved, so it fails with `outcomeUnknown: true, retryable: false` — use an upsert on an idempotency key
 * when a create must be repeatable.
 *
 * Deadlines: each exchange's deadline (`timeoutMs`) covers the body as well as the headers and aborts the request
 * (a server that sends headers and then stalls would otherwise hold the call, and the outbox slot waiting on it,
 * for good), and the whole call, retries and backoff included, ends at `deadlineMs` with
 * `bridge_salesforce_timeout` (retryable, unless a create's outcome is unknown).
 */
import { randomUUID } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { Connection } from '@jsforce/jsforce-node';
import type { HttpRequest, HttpResponse } from '@jsforce/jsforce-node';
import type { Dispatcher } from 'undici';
import type { SalesforceConfig } from '../config/env';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import { ExchangeTimeout, exchange, headerValue } from './http-pool';
import type { ExchangeRequest, ExchangeResponse } from './http-pool';
import { createJwtAssertion } from './jwt-assertion';
import { SalesforceError } from './salesforce-error';
import type { SalesforceErrorDetails } from './salesforce-error';
import { contentVersionBody } from './content-upload';
import type { NewFileVersion } from './content-upload';
import { assertApiName } from './soql';
import { COLLECTION_LIMIT, chunk, scrubSalesforceMessage, upsertResults } from './record-results';
import type { UpsertManyResult } from './record-results';

export { SalesforceError, isSalesforceError } from './salesforce-error';
export type { SalesforceErrorCode, SalesforceErrorDetails } from './salesforce-error';

export type SfFields = Record<string, unknown>;
export type { UpsertManyResult } from './record-results';
export type { NewFileVersion } from './content-upload';

export interface NewTextFile {
    title: string;
    /** File name with extension, e.g. `transcript.txt`. */
    pathOnClient: string;
    /** UTF-8 text content. */
    text: string;
    /** Record the file is shared with at once (a ContentDocumentLink is created for it). */
    firstPublishLocationId: string;
}

/**
 * Whether Salesforce runs the org's active assignment rules on a Case, Lead or Account write. The REST API runs
 * them when a request does not say (Sforce-Auto-Assign defaults to TRUE), which would hand a Case the bridge only
 * updates to a queue again; so every write says, and only a create whose case template asks runs them.
 */
export interface WriteOptions {
    assignmentRules?: boolean;
}

export interface SalesforceClient {
    /** Makes sure a token is held; cheap when one is cached (for /readyz). */
    authorize(): Promise<void>;
    /** Runs a SOQL query and follows nextRecordsUrl until done. Build it with soqlString()/assertApiName(). */
    query<T = SfFields>(soql: string, options?: { batchSize?: number }): Promise<T[]>;
    create(type: string, fields: SfFields, options?: WriteOptions): Promise<{ id: string }>;
    update(type: string, id: string, fields: SfFields): Promise<void>;
    /** Creates or updates by an external-id field; idempotent, so it is retried on transient failures. */
    upsert(
        type: string,
        externalIdField: string,
        externalId: string,
        fields: SfFields,
        options?: WriteOptions
    ): Promise<{ id: string; created: boolean }>;
    /**
     * Upserts many records of one type by an external-id field with sObject Collections: one call per
     * 200 records. Each record carries its external-id value. One result per record, in order; a record
     * Salesforce rejects is `{ok: false}` with a SalesforceError naming the fields (retryable only for
     * lock-type codes). A whole-call failure throws like every call (idempotent, so retried inside first).
     */
    upsertMany(
        type: string,
        externalIdField: string,
        records: SfFields[],
        options?: { allOrNone?: boolean } & WriteOptions
    ): Promise<UpsertManyResult[]>;
    /** Stores a UTF-8 text file (ContentVersion) linked to a record; returns its ids. */
    createContentVersion(file: NewTextFile): Promise<{ id: string; contentDocumentId: string }>;
    /**
     * Stores a file (ContentVersion) linked to a record, its bytes streamed as they come (multipart): one try, since
     * a stream is read once. A failure of the file's own stream is thrown as it is (its code says what happened);
     * a 401 renews the session and fails retryable, as does any failure that saved nothing; a gateway's 502/504,
     * a reset or a timeout may have saved it (`outcomeUnknown`). `timeoutMs` bounds the whole upload.
     */
    createFileVersion(file: NewFileVersion, options?: { timeoutMs?: number }): Promise<{ id: string }>;
    /** One record with the given fields, or null when it does not exist. */
    retrieve<T = SfFields>(type: string, id: string, fields: string[]): Promise<T | null>;
    /** Runs a SOSL search (build the term with escapeSoslTerm()); returns searchRecords. */
    search<T = SfFields>(sosl: string): Promise<T[]>;
    /** The object's describe (`sobjects/{type}/describe`): its fields as the integration user sees them. */
    describe(type: string): Promise<SObjectDescribe>;
    /** The latest Sforce-Limit-Info figures, if any call has returned them. */
    apiUsage(): { used: number; limit: number } | undefined;
    /**
     * How the last call that reached for Salesforce (token requests included) ended: ok when Salesforce
     * answered it, a rejection of the request itself (validation, not found) included; else its error.
     */
    lastOutcome(): SalesforceOutcome | undefined;
    /** One cheap call (`GET limits`), a token request first if none is held, with no retries: for readiness. */
    probe(): Promise<void>;
}

export type SalesforceOutcome = { ok: true; at: Date } | { ok: false; at: Date; error: SalesforceError };

/** The part of an sObject describe the bridge reads; a field the user cannot see is absent. */
export interface SObjectDescribe {
    name: string;
    fields: Array<{ name: string; type: string; createable: boolean; updateable: boolean }>;
}

export interface RetryPolicy {
    /** Total tries, the first included. */
    attempts: number;
    baseMs: number;
    maxMs: number;
}

export interface SalesforceClientDeps {
    logger: Logger;
    metrics: Metrics;
    clock?: { now(): Date };
    retry?: RetryPolicy;
    /** Per HTTP exchange, token requests included: until the whole answer, body and all, has arrived. */
    timeoutMs?: number;
    /** Per client call: every exchange, retry and backoff of it (default 60 s). */
    deadlineMs?: number;
    /** For tests; defaults to setTimeout. */
    sleep?: (ms: number) => Promise<void>;
    /** HTTP pool; defaults to the process's shared one (http-pool.ts). */
    dispatcher?: Dispatcher;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseMs: 250, maxMs: 8000 };
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_DEADLINE_MS = 60_000;
/** A retry needs at least this much of the call's deadline left (or the exchange timeout, if shorter). */
const MIN_RETRY_BUDGET_MS = 1000;
const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const OAUTH_ERRORS =
    /^(invalid_client|invalid_client_id|invalid_grant|unsupported_grant_type|invalid_request|inactive_user|inactive_org|invalid_scope|unauthorized_client)$/;
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);
const NETWORK_CODES = new Set([
    'ECONNRESET',
    'ETIMEDOUT',
    'EPIPE',
    'UND_ERR_SOCKET',
    'ECONNREFUSED',
    'EAI_AGAIN',
    'ENOTFOUND'
]);
const JSON_TYPE = /^application\/json(;|$)/;
/** 401 answers that are not an expired session (jsforce's list): re-authorizing would not help. */
const NOT_SESSION_EXPIRY = [
    'Connected app is not attached to Agent',
    'This session is not valid for use with the REST API'
];
const API_USAGE = /api-usage=(\d+)\/(\d+)/;
const RECORD_ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;
// A new token that Salesforce keeps rejecting would otherwise be refreshed forever.
const MAX_REFRESHES_WITHOUT_SUCCESS = 2;

interface ThrownShape {
    name?: unknown;
    message?: unknown;
    errorCode?: unknown;
    code?: unknown;
    data?: unknown;
}

type Failure =
    | { kind: 'auth' }
    | { kind: 'limit' }
    | { kind: 'transient'; network: 'refused' | 'lost' | 'none'; timedOut?: boolean }
    | { kind: 'api' };

/** The shape of jsforce's transports (used for token requests only): a promise of the whole response with a stream. */
interface JsforceTransport {
    httpRequest(req: HttpRequest, options?: object): Promise<HttpResponse> & { stream(): NodeJS.ReadWriteStream };
}

/**
 * jsforce's OAuth2 token requests on the shared pool, under the exchange deadline, with no hidden retries.
 */
function tokenTransport(timeoutMs: number, dispatcher: Dispatcher | undefined): JsforceTransport {
    return {
        httpRequest(req) {
            const result = exchange(
                {
                    method: req.method as ExchangeRequest['method'],
                    url: req.url,
                    headers: req.headers ?? {},
                    ...(req.body === undefined || req.body === null ? {} : { body: req.body as string })
                },
                timeoutMs,
                dispatcher === undefined ? {} : { dispatcher }
            ).then((res) => {
                const headers: Record<string, string> = {};
                for (const name of Object.keys(res.headers)) headers[name] = headerValue(res, name) ?? '';
                return { statusCode: res.status, headers, body: res.body };
            });
            // jsforce asks for the stream only to pipe it on; the response is read whole above.
            return Object.assign(result, { stream: () => new PassThrough() });
        }
    };
}

/** A REST error as jsforce raised it (name = errorCode), so the mapping below reads one shape. */
/**
 * A streamed request met an expired session: the session is renewed, but the body is spent and cannot be sent
 * again, so the call fails (nothing was saved: Salesforce refused the request) and its caller tries anew.
 */
class StreamSessionRenewed extends Error {
    override readonly name = 'StreamSessionRenewed';
}

/** A streamed body's source failed: Salesforce is not to blame (no retry, no outcome recorded); its error is thrown. */
class StreamSourceFailed extends Error {
    override readonly name = 'StreamSourceFailed';
    constructor(readonly source: unknown) {
        super('the streamed body failed');
    }
}

class RestApiError extends Error {
    readonly errorCode: string;
    constructor(
        message: string,
        errorCode: string | undefined,
        readonly data: unknown
    ) {
        super(message);
        this.name = errorCode ?? 'Error';
        this.errorCode = this.name;
    }
}

function parseBody(response: ExchangeResponse): unknown {
    const type = headerValue(response, 'content-type') ?? '';
    if (!JSON_TYPE.test(type)) return response.body;
    try {
        return JSON.parse(response.body) as unknown;
    } catch {
        return response.body;
    }
}

/** Salesforce's error body (`[{message, errorCode, fields}]`) as one error; several become MULTIPLE_API_ERRORS. */
function restError(response: ExchangeResponse): RestApiError {
    let error: unknown = parseBody(response);
    if (Array.isArray(error)) {
        if (error.length !== 1) {
            return new RestApiError(
                'Multiple errors returned. Check `error.data` for the error details',
                'MULTIPLE_API_ERRORS',
                error
            );
        }
        error = error[0];
    }
    const shaped =
        typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string'
            ? (error as { message: string; errorCode?: unknown })
            : { errorCode: `ERROR_HTTP_${response.status}`, message: response.body };
    const code = typeof shaped.errorCode === 'string' ? shaped.errorCode : undefined;
    if (headerValue(response, 'content-type') === 'text/html') {
        return new RestApiError(
            `HTTP response contains html content (status ${response.status}): check that the org exists and can be reached.`,
            code,
            shaped.message
        );
    }
    return new RestApiError(shaped.message, code, shaped);
}

interface CallSpec {
    operation: string;
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
    url: string;
    body?: unknown;
    /** A body sent as it streams, once (its `content-type` in `headers`); instead of `body`. */
    stream?: Readable;
    /** The error of the stream's own source, if it failed (then the call failed because of it, not of Salesforce). */
    streamFailure?: () => unknown;
    /** This call's exchange timeout and deadline, when not the client's. */
    timeoutMs?: number;
    headers?: Record<string, string>;
    idempotent: boolean;
    noContent?: unknown;
}

function errorFields(data: unknown): string[] {
    const items = Array.isArray(data) ? data : [data];
    const out = new Set<string>();
    for (const item of items) {
        const fields = (item as { fields?: unknown } | null)?.fields;
        if (Array.isArray(fields)) for (const f of fields) if (typeof f === 'string') out.add(f);
    }
    return [...out];
}

function sfCode(e: ThrownShape): string | undefined {
    if (e.errorCode === 'MULTIPLE_API_ERRORS' && Array.isArray(e.data)) {
        const first = e.data[0] as { errorCode?: unknown } | undefined;
        if (typeof first?.errorCode === 'string') return first.errorCode;
    }
    if (typeof e.errorCode === 'string') return e.errorCode;
    return typeof e.name === 'string' && e.name !== 'Error' ? e.name : undefined;
}

function classify(error: unknown, status: number | undefined): Failure {
    // Its 401 was answered by a new session: nothing was saved, and the next try may go through.
    if (error instanceof StreamSessionRenewed) return { kind: 'transient', network: 'refused' };
    const e = (error ?? {}) as ThrownShape;
    const name = typeof e.name === 'string' ? e.name : '';
    const message = typeof e.message === 'string' ? e.message : '';
    const code = sfCode(e);
    if (
        message.startsWith('Unable to refresh session') ||
        OAUTH_ERRORS.test(name) ||
        code === 'INVALID_SESSION_ID' ||
        status === 401
    ) {
        return { kind: 'auth' };
    }
    if (code === 'REQUEST_LIMIT_EXCEEDED') return { kind: 'limit' };
    // A gateway's 502/504 says nothing of whether Salesforce behind it did the work: a create may be saved.
    if (status === 502 || status === 504) return { kind: 'transient', network: 'lost' };
    if (status !== undefined && TRANSIENT_STATUS.has(status)) return { kind: 'transient', network: 'none' };
    if (/^ERROR_HTTP_5\d\d$/.test(name) && TRANSIENT_STATUS.has(Number(name.slice(-3))))
        return { kind: 'transient', network: 'none' };
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) {
        return {
            kind: 'transient',
            network: e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' ? 'refused' : 'lost'
        };
    }
    if (error instanceof ExchangeTimeout) return { kind: 'transient', network: 'lost', timedOut: true };
    if (name === 'AbortError' || message === 'Request Timeout') return { kind: 'transient', network: 'lost' };
    if (name === 'FetchError') return { kind: 'transient', network: 'lost' };
    return { kind: 'api' };
}

function authHint(config: SalesforceConfig): string {
    return config.auth.kind === 'jwt'
        ? 'Check SF_CLIENT_ID and SF_USERNAME, that the certificate uploaded to the External Client App / Connected App matches SF_PRIVATE_KEY, that the user is pre-authorized (admin-approved users via profile or permission set), and that SF_LOGIN_URL is https://login.salesforce.com, https://test.salesforce.com or the My Domain URL.'
        : "Check SF_CLIENT_ID and SF_CLIENT_SECRET, that the External Client App / Connected App has the client credentials flow enabled with a run-as user, and that SF_LOGIN_URL is the org's My Domain URL.";
}

function autoAssign(options: WriteOptions): Record<string, string> {
    return { 'Sforce-Auto-Assign': options.assignmentRules === true ? 'TRUE' : 'FALSE' };
}

export function createSalesforceClient(config: SalesforceConfig, deps: SalesforceClientDeps): SalesforceClient {
    const { logger, metrics } = deps;
    const clock = deps.clock ?? { now: () => new Date() };
    const retry = deps.retry ?? DEFAULT_RETRY;
    const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const deadlineMs = deps.deadlineMs ?? DEFAULT_DEADLINE_MS;
    const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const auth = config.auth;
    const base = `/services/data/v${config.apiVersion}`;
    let refreshesWithoutSuccess = 0;
    let lastOutcome: SalesforceOutcome | undefined;

    const grantParams = (): { grant_type: string; assertion?: string } =>
        auth.kind === 'jwt'
            ? {
                  grant_type: JWT_GRANT,
                  assertion: createJwtAssertion({
                      clientId: auth.clientId,
                      username: auth.username,
                      audience: config.loginUrl,
                      privateKey: auth.privateKey,
                      now: clock.now()
                  })
              }
            : { grant_type: 'client_credentials' };

    const conn = new Connection({
        version: config.apiVersion,
        loginUrl: config.loginUrl,
        oauth2:
            auth.kind === 'client_credentials'
                ? { loginUrl: config.loginUrl, clientId: auth.clientId, clientSecret: auth.clientSecret }
                : { loginUrl: config.loginUrl }
    });

    // Token requests get the same deadline and no hidden jsforce retries (this transport never retries).
    conn.oauth2._transport = tokenTransport(timeoutMs, deps.dispatcher) as unknown as typeof conn.oauth2._transport;

    let apiUsage: { used: number; limit: number } | undefined;
    const readUsage = (header: string | undefined): void => {
        const match = header === undefined ? null : API_USAGE.exec(header);
        if (match) apiUsage = { used: Number(match[1]), limit: Number(match[2]) };
    };

    /**
     * Neither grant returns a refresh token: on INVALID_SESSION_ID the grant runs again. Calls that were sent with
     * the same token share one token request; a call sent after a newer token arrived just tries again.
     */
    let tokenGeneration = 0;
    let refreshing: Promise<void> | undefined;
    const refreshSession = async (sentWith: number): Promise<void> => {
        if (sentWith !== tokenGeneration) return;
        refreshing ??= (async () => {
            try {
                refreshesWithoutSuccess += 1;
                if (refreshesWithoutSuccess > MAX_REFRESHES_WITHOUT_SUCCESS) {
                    throw new Error('Salesforce keeps rejecting newly issued access tokens (INVALID_SESSION_ID)');
                }
                logger.info({ event: 'salesforce_reauthorize' }, 'Salesforce session expired; re-authorizing');
                const token = await conn.oauth2.requestToken(grantParams());
                conn.accessToken = token.access_token;
                if (typeof token.instance_url === 'string' && token.instance_url !== '') {
                    conn.instanceUrl = token.instance_url;
                }
            } catch (error) {
                // The shape jsforce gave this failure, which the mapping reads as an authorization failure.
                throw new Error(`Unable to refresh session due to: ${(error as Error).message}`, { cause: error });
            } finally {
                tokenGeneration += 1;
                refreshing = undefined;
            }
        })();
        await refreshing;
    };

    /** One exchange; a streamed body whose source failed fails with that (StreamSourceFailed). */
    const sendOnce = async (
        spec: CallSpec,
        ...args: Parameters<typeof exchange>
    ): Promise<Awaited<ReturnType<typeof exchange>>> => {
        try {
            return await exchange(...args);
        } catch (error) {
            const source = spec.streamFailure?.();
            if (source !== undefined) throw new StreamSourceFailed(source);
            throw error;
        }
    };

    /** One REST call on the keep-alive pool: a 401 re-authorizes and sends again; other failures are thrown. */
    const rest = async <T>(spec: CallSpec, observed: { status?: number }, budgetMs: () => number): Promise<T> => {
        const headers: Record<string, string> = {
            ...(spec.body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(spec.headers ?? {})
        };
        const body = spec.stream ?? (spec.body === undefined ? undefined : JSON.stringify(spec.body));
        const onStatus = (status: number): void => {
            observed.status = status;
        };
        for (;;) {
            if (refreshing !== undefined) await refreshing;
            const sentWith = tokenGeneration;
            headers['authorization'] = `Bearer ${conn.accessToken}`;
            const response = await sendOnce(
                spec,
                {
                    method: spec.method,
                    url: spec.url.startsWith('/') ? `${conn.instanceUrl}${spec.url}` : spec.url,
                    headers,
                    ...(body === undefined ? {} : { body })
                },
                budgetMs(),
                deps.dispatcher === undefined ? { onStatus } : { onStatus, dispatcher: deps.dispatcher }
            );
            readUsage(headerValue(response, 'sforce-limit-info'));
            if (response.status === 401 && !NOT_SESSION_EXPIRY.some((text) => response.body.includes(text))) {
                await refreshSession(sentWith);
                if (spec.stream !== undefined) throw new StreamSessionRenewed('the session expired during an upload');
                continue;
            }
            if (response.status >= 400) throw restError(response);
            if (response.status === 204) return spec.noContent as T;
            const parsed = parseBody(response);
            if (response.status === 300) throw new RestApiError('Multiple records found', 'MULTIPLE_CHOICES', parsed);
            return parsed as T;
        }
    };

    const recordUsage = (): void => {
        const usage = apiUsage;
        if (usage) {
            metrics.salesforceApiUsed.set(usage.used);
            metrics.salesforceApiLimit.set(usage.limit);
        }
    };

    const toError = (
        error: unknown,
        failure: Failure,
        status: number | undefined,
        operation: string,
        extra: Partial<SalesforceErrorDetails> = {}
    ): SalesforceError => {
        const e = (error ?? {}) as ThrownShape;
        const sfErrorCode = sfCode(e);
        const fields = errorFields(e.data);
        const sfMessage = scrubSalesforceMessage(typeof e.message === 'string' ? e.message : String(error));
        const details: SalesforceErrorDetails = { sfErrorCode, fields, status, retryable: false, operation, ...extra };
        switch (failure.kind) {
            case 'auth':
                return new SalesforceError(
                    'bridge_salesforce_auth_failed',
                    `Salesforce refused to authorize the bridge (${auth.kind}: ${sfErrorCode ?? 'error'}: ${sfMessage}). ${authHint(config)}`,
                    { ...details, retryable: false },
                    error
                );
            case 'limit':
                return new SalesforceError(
                    'bridge_salesforce_limit_exceeded',
                    'The org has used up its daily Salesforce API requests (REQUEST_LIMIT_EXCEEDED); calls resume when usage drops below the limit.',
                    { ...details, retryable: true },
                    error
                );
            case 'transient':
                if (failure.timedOut === true || extra.deadlinePassed === true) {
                    return new SalesforceError(
                        'bridge_salesforce_timeout',
                        `Salesforce did not finish ${operation} in time (no complete answer within ${extra.deadlinePassed === true ? `the call's deadline of ${deadlineMs}` : timeoutMs} ms).`,
                        { ...details, retryable: extra.outcomeUnknown !== true },
                        error
                    );
                }
                return new SalesforceError(
                    'bridge_salesforce_unavailable',
                    `Salesforce did not answer ${operation} successfully (${sfErrorCode ?? (status === undefined ? 'no response' : `HTTP ${status}`)}).`,
                    { ...details, retryable: extra.outcomeUnknown !== true },
                    error
                );
            case 'api':
                return new SalesforceError(
                    'bridge_salesforce_api_error',
                    `Salesforce rejected ${operation}: ${sfErrorCode ?? 'error'}: ${sfMessage}${fields.length ? ` (fields: ${fields.join(', ')})` : ''}`,
                    { ...details, retryable: false },
                    error
                );
        }
    };

    const backoff = (attempt: number): number => {
        const ceiling = Math.min(retry.maxMs, retry.baseMs * 2 ** (attempt - 1));
        return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    };

    /** Runs `once` with the retry policy; `mayRetry` decides per failure. */
    const withRetry = async <T>(
        operation: string,
        once: (observed: { status?: number }, budgetMs: () => number) => Promise<T>,
        mayRetry: (failure: Failure) => boolean,
        idempotent: boolean,
        limitMs?: number
    ): Promise<T> => {
        // Token requests are not REST calls; bridge_salesforce_calls_total counts REST calls only.
        const counted = operation !== 'authorize';
        const until = performance.now() + (limitMs ?? deadlineMs);
        const left = (): number => until - performance.now();
        // An exchange may take timeoutMs, but never past the call's deadline.
        const budgetMs = (): number => Math.min(limitMs ?? timeoutMs, left());
        for (let attempt = 1; ; attempt++) {
            const observed: { status?: number } = {};
            try {
                const result = await once(observed, budgetMs);
                refreshesWithoutSuccess = 0;
                lastOutcome = { ok: true, at: clock.now() };
                recordUsage();
                if (counted) metrics.salesforceCalls.inc({ outcome: 'ok' });
                return result;
            } catch (error) {
                recordUsage();
                if (error instanceof SalesforceError) throw error;
                if (error instanceof StreamSourceFailed) throw error.source;
                const failure = classify(error, observed.status);
                const status = observed.status;
                const wait = backoff(attempt);
                // No retry that could not get a fair try before the deadline.
                const deadlinePassed = left() - wait < Math.min(timeoutMs, MIN_RETRY_BUDGET_MS);
                if (failure.kind === 'transient' && mayRetry(failure) && attempt < retry.attempts && !deadlinePassed) {
                    if (counted) metrics.salesforceCalls.inc({ outcome: 'retry' });
                    logger.warn(
                        { operation, attempt, status, sfErrorCode: sfCode(error as ThrownShape), waitMs: wait },
                        'Salesforce call failed; retrying'
                    );
                    await sleep(wait);
                    continue;
                }
                if (counted) metrics.salesforceCalls.inc({ outcome: 'error' });
                const outcomeUnknown = failure.kind === 'transient' && !idempotent && failure.network === 'lost';
                const mapped = toError(error, failure, status, operation, {
                    ...(outcomeUnknown ? { outcomeUnknown: true } : {}),
                    ...(failure.kind === 'transient' && mayRetry(failure) && deadlinePassed
                        ? { deadlinePassed: true }
                        : {})
                });
                logger.warn(
                    {
                        operation,
                        code: mapped.code,
                        status,
                        sfErrorCode: mapped.details.sfErrorCode,
                        attempts: attempt
                    },
                    'Salesforce call failed'
                );
                lastOutcome =
                    mapped.code === 'bridge_salesforce_api_error'
                        ? { ok: true, at: clock.now() }
                        : { ok: false, at: clock.now(), error: mapped };
                throw mapped;
            }
        }
    };

    let authorizing: Promise<void> | undefined;
    const authorize = (): Promise<void> => {
        if (conn.accessToken) return Promise.resolve();
        authorizing ??= withRetry(
            'authorize',
            async () => {
                await conn.authorize(grantParams());
                logger.info({ event: 'salesforce_authorized', grant: auth.kind }, 'Authorized with Salesforce');
            },
            () => true,
            true
        ).finally(() => {
            authorizing = undefined;
        });
        return authorizing;
    };

    const call = async <T>(spec: CallSpec, retries = true): Promise<T> => {
        await authorize();
        return withRetry(
            spec.operation,
            (observed, budgetMs) => rest<T>(spec, observed, budgetMs),
            (failure) => retries && failure.kind === 'transient' && (spec.idempotent || failure.network !== 'lost'),
            spec.idempotent,
            spec.timeoutMs
        );
    };

    const checkId = (id: string): string => {
        if (!RECORD_ID.test(id)) {
            throw new SalesforceError('bridge_salesforce_api_error', 'Not a Salesforce record id', {
                sfErrorCode: 'MALFORMED_ID',
                fields: [],
                status: undefined,
                retryable: false
            });
        }
        return id;
    };

    return {
        authorize,

        async query<T>(soql: string, options: { batchSize?: number } = {}): Promise<T[]> {
            const headers = options.batchSize
                ? { 'Sforce-Query-Options': `batchSize=${options.batchSize}` }
                : undefined;
            const records: T[] = [];
            let url: string | undefined = `${base}/query?q=${encodeURIComponent(soql)}`;
            while (url !== undefined) {
                const page: { records?: T[]; done?: boolean; nextRecordsUrl?: string } = await call({
                    operation: 'query',
                    method: 'GET',
                    url,
                    idempotent: true,
                    ...(headers ? { headers } : {})
                });
                records.push(...(page.records ?? []));
                url = page.done === false && page.nextRecordsUrl ? page.nextRecordsUrl : undefined;
            }
            return records;
        },

        async create(type, fields, options = {}) {
            const result = await call<{ id: string }>({
                operation: 'create',
                method: 'POST',
                url: `${base}/sobjects/${assertApiName(type)}`,
                headers: autoAssign(options),
                body: fields,
                idempotent: false
            });
            return { id: result.id };
        },

        async update(type, id, fields) {
            await call({
                operation: 'update',
                method: 'PATCH',
                url: `${base}/sobjects/${assertApiName(type)}/${checkId(id)}`,
                headers: autoAssign({}),
                body: fields,
                idempotent: true,
                noContent: {}
            });
        },

        async upsert(type, externalIdField, externalId, fields, options = {}) {
            const result = await call<{ id?: string; created?: boolean }>({
                operation: 'upsert',
                method: 'PATCH',
                url: `${base}/sobjects/${assertApiName(type)}/${assertApiName(externalIdField)}/${encodeURIComponent(externalId)}`,
                headers: autoAssign(options),
                body: fields,
                idempotent: true,
                noContent: { created: false }
            });
            return { id: result.id ?? '', created: result.created === true };
        },

        async upsertMany(type, externalIdField, records, options = {}) {
            const sobject = assertApiName(type);
            const field = assertApiName(externalIdField);
            const results: UpsertManyResult[] = [];
            for (const part of chunk(records, COLLECTION_LIMIT)) {
                const answer = await call<unknown>({
                    operation: 'upsertMany',
                    method: 'PATCH',
                    url: `${base}/composite/sobjects/${sobject}/${field}`,
                    headers: autoAssign(options),
                    body: {
                        allOrNone: options.allOrNone === true,
                        records: part.map((fields) => ({ attributes: { type: sobject }, ...fields }))
                    },
                    idempotent: true
                });
                results.push(...upsertResults('upsertMany', answer, part.length));
            }
            return results;
        },

        async createContentVersion(file) {
            const created = await call<{ id: string }>({
                operation: 'createContentVersion',
                method: 'POST',
                url: `${base}/sobjects/ContentVersion`,
                body: {
                    Title: file.title,
                    PathOnClient: file.pathOnClient,
                    VersionData: Buffer.from(file.text, 'utf8').toString('base64'),
                    FirstPublishLocationId: checkId(file.firstPublishLocationId)
                },
                idempotent: false
            });
            const version = await call<{ ContentDocumentId?: unknown }>({
                operation: 'retrieve',
                method: 'GET',
                url: `${base}/sobjects/ContentVersion/${checkId(created.id)}?fields=ContentDocumentId`,
                idempotent: true
            });
            return {
                id: created.id,
                contentDocumentId: typeof version.ContentDocumentId === 'string' ? version.ContentDocumentId : ''
            };
        },

        async createFileVersion(file, options = {}) {
            const boundary = `haptik-bridge-${randomUUID()}`;
            const fields: Record<string, string> = {
                Title: file.title,
                PathOnClient: file.pathOnClient,
                FirstPublishLocationId: checkId(file.firstPublishLocationId),
                ...(file.description === undefined ? {} : { Description: file.description })
            };
            let sourceError: unknown;
            const stream = Readable.from(
                contentVersionBody(boundary, fields, file, (error) => {
                    sourceError = error;
                })
            );
            try {
                const created = await call<{ id: string }>(
                    {
                        operation: 'createContentVersion',
                        method: 'POST',
                        url: `${base}/sobjects/ContentVersion`,
                        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
                        stream,
                        // The file's stream broke (too large on the way, its host timed out): nothing was saved,
                        // and that error says why better than the cut connection does.
                        streamFailure: () => sourceError,
                        idempotent: false,
                        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs })
                    },
                    false
                );
                return { id: created.id };
            } finally {
                stream.destroy();
            }
        },

        async retrieve<T>(type: string, id: string, fields: string[]): Promise<T | null> {
            const list = fields.map(assertApiName).join(',');
            try {
                return await call<T>({
                    operation: 'retrieve',
                    method: 'GET',
                    url: `${base}/sobjects/${assertApiName(type)}/${checkId(id)}${list ? `?fields=${list}` : ''}`,
                    idempotent: true
                });
            } catch (error) {
                if (error instanceof SalesforceError && error.details.sfErrorCode === 'NOT_FOUND') return null;
                throw error;
            }
        },

        async search<T>(sosl: string): Promise<T[]> {
            const result = await call<{ searchRecords?: T[] } | T[]>({
                operation: 'search',
                method: 'GET',
                url: `${base}/search?q=${encodeURIComponent(sosl)}`,
                idempotent: true
            });
            return Array.isArray(result) ? result : (result.searchRecords ?? []);
        },

        async describe(type: string): Promise<SObjectDescribe> {
            const answer = await call<{ name?: unknown; fields?: unknown }>({
                operation: 'describe',
                method: 'GET',
                url: `${base}/sobjects/${assertApiName(type)}/describe`,
                idempotent: true
            });
            const fields = Array.isArray(answer.fields) ? (answer.fields as Array<Record<string, unknown>>) : [];
            return {
                name: typeof answer.name === 'string' ? answer.name : type,
                fields: fields
                    .filter((f) => typeof f.name === 'string')
                    .map((f) => ({
                        name: f.name as string,
                        type: typeof f.type === 'string' ? f.type : 'unknown',
                        createable: f.createable === true,
                        updateable: f.updateable === true
                    }))
            };
        },

        apiUsage() {
            return apiUsage ? { ...apiUsage } : undefined;
        },

        lastOutcome: () => lastOutcome,

        async probe() {
            if (!conn.accessToken) {
                await withRetry(
                    'authorize',
                    () => conn.authorize(grantParams()),
                    () => false,
                    true
                );
            }
            await call({ operation: 'probe', method: 'GET', url: `${base}/limits`, idempotent: true }, false);
        }
    };
}
