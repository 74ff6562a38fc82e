import { createPrivateKey, randomUUID, sign } from 'node:crypto';
import { hostname } from 'node:os';
import type { BridgeConfig, TractAuthConfig } from '../config/env';
import { BridgeError, isBridgeError } from '../core/errors';
import type { Logger } from '../observability/logger';
import { createMemoryTractTokenStore } from '../store/tract-tokens';
import type { TractTokenStore } from '../store/tract-tokens';

/**
 * TRACT authentication (contract §3, haptik.md Corrections): an access token issued by a signed
 * management request, `POST {HAPTIK_TRACT_URL}/tract/management/token/issue/` with the minified JSON
 * `{client_id, fqdn, timestamp}` and the headers `Signature` (base64 RSA/ECDSA signature with SHA-1 over
 * the exact body) and `SignatureCertUUID` or `SignatureCertChainUrl`. Haptik allows 150 s of clock skew
 * and answers 400 to a bad signature, certificate or timestamp.
 *
 * The token is shared by every instance on one database: it is kept in `tract_tokens`; the instance
 * that finds it due takes a short lease there and issues the next one, the others keep using the
 * current one (still valid: it is renewed before it expires) or wait briefly for the new one. Inside one
 * process the first caller issues and the others wait for it (single flight). A refused issue is not
 * repeated for a while, so a wrong key does not turn every outbox job into a signed request.
 */

/** Where the `Authorization: Bearer` of a family of calls comes from. */
export interface BearerSource {
    token(): Promise<string>;
    /** Haptik answered 401 to `token`: forget it. True when asking token() again may help (retry once). */
    rejected(token: string): Promise<boolean>;
    /** Haptik accepted a call with `token`. */
    accepted?(token: string): void;
    /** The settings to check when Haptik keeps refusing, for error messages. */
    readonly settings: string;
}

export function staticBearer(token: string, settings = 'HAPTIK_CLIENT_ID and HAPTIK_API_TOKEN'): BearerSource {
    return { token: () => Promise.resolve(token), rejected: () => Promise.resolve(false), settings };
}

export const TRACT_TOKEN_ISSUE_PATH = '/tract/management/token/issue/';
/** Haptik's tolerance for the request timestamp (security.md). */
export const TRACT_TIMESTAMP_TOLERANCE_MS = 150_000;
/** When the answer says nothing about the token's life: short, so a wrong guess costs little. */
export const DEFAULT_TOKEN_LIFETIME_MS = 10 * 60_000;

export interface TokenIssueRequest {
    url: string;
    /** The exact bytes that were signed and must be sent. */
    body: string;
    headers: Record<string, string>;
}

/** ISO 8601 UTC to the second, as Haptik's example: 2019-05-13T12:34:56Z. */
export function tractTimestamp(now: Date): string {
    return `${now.toISOString().slice(0, 19)}Z`;
}

/** The signed token-issue request; `now` is the timestamp that goes into the body. */
export function signTokenRequest(auth: TractAuthConfig, tractUrl: string, now: Date): TokenIssueRequest {
    const body = JSON.stringify({ client_id: auth.clientId, fqdn: auth.fqdn, timestamp: tractTimestamp(now) });
    // PKCS#1 v1.5 for RSA, DER-encoded ECDSA: what Haptik's sample (pyOpenSSL crypto.sign 'sha1') produces.
    const signature = sign('sha1', Buffer.from(body, 'utf8'), createPrivateKey(auth.privateKey)).toString('base64');
    return {
        url: `${tractUrl.replace(/\/+$/, '')}${TRACT_TOKEN_ISSUE_PATH}`,
        body,
        headers: {
            'Content-Type': 'application/json',
            Signature: signature,
            ...('uuid' in auth.certificate
                ? { SignatureCertUUID: auth.certificate.uuid }
                : { SignatureCertChainUrl: auth.certificate.chainUrl })
        }
    };
}

export interface IssuedTractToken {
    token: string;
    expiresAt: Date;
    /** When to issue the next one: before expiry, by a fifth of the life or two minutes, whichever is less. */
    refreshAt: Date;
    /** Where the expiry came from. */
    lifetimeFrom: 'jwt' | 'expires_in' | 'default';
}

/**
 * The token of an issue answer. The field is not documented: `token`, `access_token` or `jwt` (also one
 * level down in `data`). Its life: the JWT's `exp` when the token is a JWT, else `expires_in` seconds,
 * else DEFAULT_TOKEN_LIFETIME_MS.
 */
export function tokenFromAnswer(
    answer: unknown,
    now: Date,
    defaultLifetimeMs = DEFAULT_TOKEN_LIFETIME_MS
): IssuedTractToken {
    const root = isRecord(answer) ? answer : {};
    const record = isRecord(root.data) ? { ...root.data, ...root } : root;
    const token = [record.token, record.access_token, record.jwt].find(
        (value): value is string => typeof value === 'string' && value.trim() !== ''
    );
    if (token === undefined) {
        throw new BridgeError(
            'bridge_haptik_tract_token_unreadable',
            'Haptik issued no token (no token, access_token or jwt in its answer)',
            {
                details: { operation: 'token/issue', retryable: false }
            }
        );
    }
    let expiresAt: number | undefined;
    let lifetimeFrom: IssuedTractToken['lifetimeFrom'] = 'default';
    const exp = jwtExpiry(token);
    const expiresIn = Number(record.expires_in);
    if (exp !== undefined) {
        expiresAt = exp;
        lifetimeFrom = 'jwt';
    } else if (Number.isFinite(expiresIn) && expiresIn > 0) {
        expiresAt = now.getTime() + expiresIn * 1000;
        lifetimeFrom = 'expires_in';
    }
    const end = expiresAt ?? now.getTime() + defaultLifetimeMs;
    const life = Math.max(0, end - now.getTime());
    const margin = Math.min(120_000, life / 5);
    return { token: token.trim(), expiresAt: new Date(end), refreshAt: new Date(end - margin), lifetimeFrom };
}

/** `exp` (ms) of a JWT, read without verifying it (only Haptik can); undefined for anything else. */
export function jwtExpiry(token: string): number | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    try {
        const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown;
        const exp = isRecord(payload) ? Number(payload.exp) : NaN;
        return Number.isFinite(exp) && exp > 0 ? exp * 1000 : undefined;
    } catch {
        return undefined;
    }
}

/** What a refused issue request most likely got wrong, for the operator (doctor, logs). */
export type TokenRefusal = 'timestamp' | 'certificate' | 'signature' | 'client' | 'unknown';

export function refusalOf(haptikError: string | undefined, skewMs: number | undefined): TokenRefusal {
    if (skewMs !== undefined && Math.abs(skewMs) > TRACT_TIMESTAMP_TOLERANCE_MS) return 'timestamp';
    const text = (haptikError ?? '').toLowerCase();
    if (/cert|uuid|chain|fqdn|san\b|subject alternative/.test(text)) return 'certificate';
    if (/timestamp|time|clock|skew|replay|stale/.test(text)) return 'timestamp';
    if (/signature|signed|verif/.test(text)) return 'signature';
    if (/client/.test(text)) return 'client';
    return 'unknown';
}

const REFUSAL_HINTS: Record<TokenRefusal, string> = {
    timestamp:
        "the request's timestamp is more than 150 s away from Haptik's clock: synchronise this host's clock (NTP)",
    certificate:
        'Haptik does not accept the certificate: check HAPTIK_TRACT_CERT_UUID (the id Haptik returned for your self-signed certificate) or HAPTIK_TRACT_CERT_CHAIN_URL, and that the certificate names HAPTIK_TRACT_FQDN and has not expired',
    signature:
        'the signature does not verify: HAPTIK_TRACT_PRIVATE_KEY must be the key of the certificate Haptik holds (the one HAPTIK_TRACT_CERT_UUID / HAPTIK_TRACT_CERT_CHAIN_URL names)',
    client: 'check HAPTIK_TRACT_CLIENT_ID and HAPTIK_TRACT_FQDN (as pre-shared with Haptik)',
    unknown:
        "check HAPTIK_TRACT_CLIENT_ID, HAPTIK_TRACT_FQDN, HAPTIK_TRACT_PRIVATE_KEY, HAPTIK_TRACT_CERT_UUID / HAPTIK_TRACT_CERT_CHAIN_URL and this host's clock"
};

export function refusalHint(refusal: TokenRefusal): string {
    return REFUSAL_HINTS[refusal];
}

export interface TractTokenIssuer {
    issue(): Promise<IssuedTractToken>;
}

export function createTractTokenIssuer(options: {
    auth: TractAuthConfig;
    tractUrl: string;
    clock: { now(): Date };
    logger: Logger;
    fetch?: typeof fetch | undefined;
    timeoutMs?: number | undefined;
}): TractTokenIssuer {
    const doFetch = options.fetch ?? fetch;
    const timeoutMs = options.timeoutMs ?? 10_000;
    return {
        async issue() {
            const now = options.clock.now();
            const request = signTokenRequest(options.auth, options.tractUrl, now);
            let response: Response;
            try {
                response = await doFetch(request.url, {
                    method: 'POST',
                    headers: request.headers,
                    body: request.body,
                    signal: AbortSignal.timeout(timeoutMs)
                });
            } catch (error) {
                throw new BridgeError(
                    'bridge_haptik_unavailable',
                    `Haptik could not be reached for token/issue at ${request.url}`,
                    {
                        cause: error,
                        details: { operation: 'token/issue', retryable: true }
                    }
                );
            }
            const text = await response.text().catch(() => '');
            const answer = parseJson(text);
            const dateHeader = response.headers.get('date');
            const haptikTime = dateHeader === null ? NaN : Date.parse(dateHeader);
            // Haptik's clock minus ours, from its Date header (to the second): tells a skewed clock apart.
            const skewMs = Number.isFinite(haptikTime) ? haptikTime - now.getTime() : undefined;
            if (!response.ok) {
                const haptikError = errorText(answer);
                const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
                if (retryable) {
                    throw new BridgeError(
                        'bridge_haptik_unavailable',
                        `Haptik is unavailable for token/issue (HTTP ${response.status})`,
                        {
                            details: { operation: 'token/issue', status: response.status, retryable: true }
                        }
                    );
                }
                const refusal = refusalOf(haptikError, skewMs);
                throw new BridgeError(
                    'bridge_haptik_tract_token_refused',
                    `Haptik refused to issue a TRACT token (HTTP ${response.status}${haptikError === undefined ? '' : `: ${haptikError}`}): ${refusalHint(refusal)}`,
                    {
                        details: {
                            operation: 'token/issue',
                            status: response.status,
                            retryable: false,
                            refusal,
                            ...(haptikError === undefined ? {} : { haptikError }),
                            ...(skewMs === undefined ? {} : { skewMs })
                        }
                    }
                );
            }
            const issued = tokenFromAnswer(answer, now);
            options.logger.info(
                { expiresAt: issued.expiresAt.toISOString(), lifetimeFrom: issued.lifetimeFrom },
                'TRACT token issued'
            );
            return issued;
        }
    };
}

export interface TractTokenProviderOptions {
    issuer: TractTokenIssuer;
    store: TractTokenStore;
    /** One row per TRACT client. */
    key: string;
    clock: { now(): Date };
    logger: Logger;
    /** How long the issuing instance holds the lease; default 30 s. */
    leaseMs?: number;
    /** How often a waiting instance looks for the new token; default 200 ms. */
    pollMs?: number;
    /** After a refused issue, no new attempt for this long (the error is repeated); default 30 s. */
    refusalBackoffMs?: number;
    /**
     * A token issued for a `401` and refused too, before any call succeeded with it, is not renewed again
     * for this long (default 30 s): the token is not the problem (a wrong client id is), and the 401 stands
     * instead of one issue per call.
     */
    renewalBackoffMs?: number;
}

const SETTINGS = 'the HAPTIK_TRACT_* settings';

/** The shared, renewed TRACT token (see the module comment). */
export function createTractTokenProvider(options: TractTokenProviderOptions): BearerSource {
    const { issuer, store, key, clock } = options;
    const logger = options.logger.child({ component: 'tract-token' });
    const leaseMs = options.leaseMs ?? 30_000;
    const pollMs = options.pollMs ?? 200;
    const refusalBackoffMs = options.refusalBackoffMs ?? 30_000;
    const renewalBackoffMs = options.renewalBackoffMs ?? 30_000;
    /** The token a 401 renewal gave, until a call succeeds with it, and when. */
    let renewed: { token: string | undefined; at: number } | undefined;
    const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

    let memo: { token: string; refreshAt: number } | undefined;
    let pending: Promise<string> | undefined;
    let refused: { error: unknown; until: number } | undefined;
    let lastRejected: string | undefined;

    async function acquire(): Promise<string> {
        const deadline = clock.now().getTime() + leaseMs + 5_000;
        for (;;) {
            const now = clock.now().getTime();
            if (refused !== undefined && now < refused.until) throw refused.error;
            const row = await store.read(key);
            const usable = row?.token != null && row.token !== lastRejected ? row.token : undefined;
            if (usable !== undefined && row?.refreshAt != null && now < row.refreshAt.getTime()) {
                memo = { token: usable, refreshAt: row.refreshAt.getTime() };
                return usable;
            }
            if (await store.tryLease(key, owner, leaseMs, clock.now())) {
                try {
                    const issued = await issuer.issue();
                    await store.save(key, owner, issued);
                    memo = { token: issued.token, refreshAt: issued.refreshAt.getTime() };
                    refused = undefined;
                    return issued.token;
                } catch (error) {
                    await store.release(key, owner).catch(() => undefined);
                    if (isBridgeError(error) && error.details['retryable'] === false) {
                        refused = { error, until: clock.now().getTime() + refusalBackoffMs };
                        logger.error(
                            { code: error.code, refusal: error.details['refusal'], status: error.details['status'] },
                            'TRACT token issue refused'
                        );
                    }
                    throw error;
                }
            }
            // Another instance is issuing; until it is done, the current token is still good.
            if (usable !== undefined && row?.expiresAt != null && now < row.expiresAt.getTime()) return usable;
            if (now > deadline) {
                throw new BridgeError(
                    'bridge_haptik_unavailable',
                    'No TRACT token: another instance holds the issue lease and issued none',
                    {
                        details: { operation: 'token/issue', retryable: true }
                    }
                );
            }
            await new Promise((resolve) => setTimeout(resolve, pollMs));
        }
    }

    const provider: BearerSource = {
        settings: SETTINGS,
        token() {
            if (memo !== undefined && clock.now().getTime() < memo.refreshAt) return Promise.resolve(memo.token);
            pending ??= acquire().finally(() => {
                pending = undefined;
            });
            return pending;
        },
        async rejected(token) {
            // Calls that were in flight with the token just renewed: their retry takes the new one.
            if (token === lastRejected) return true;
            const now = clock.now().getTime();
            if (renewed !== undefined && renewed.token === token && now - renewed.at < renewalBackoffMs) return false;
            lastRejected = token;
            if (memo?.token === token) memo = undefined;
            await store.invalidate(key, token);
            logger.warn('Haptik refused the TRACT token; issuing a new one');
            renewed = { token: undefined, at: now };
            renewed.token = await provider.token().catch(() => undefined);
            return true;
        },
        accepted(token) {
            if (renewed?.token === token) renewed = undefined;
        }
    };
    return provider;
}

/**
 * The bearer of TRACT calls for a configuration: the shared issued token when the HAPTIK_TRACT_*
 * variables are set, else HAPTIK_API_TOKEN (contract §3).
 */
export function tractBearerFor(
    haptik: BridgeConfig['haptik'],
    deps: {
        store: TractTokenStore;
        clock: { now(): Date };
        logger: Logger;
        fetch?: typeof fetch | undefined;
        timeoutMs?: number | undefined;
    }
): BearerSource {
    const auth = haptik.tract.auth;
    if (auth === undefined) return staticBearer(haptik.apiToken);
    return createTractTokenProvider({
        issuer: createTractTokenIssuer({
            auth,
            tractUrl: haptik.tract.url,
            clock: deps.clock,
            logger: deps.logger,
            fetch: deps.fetch,
            timeoutMs: deps.timeoutMs
        }),
        store: deps.store,
        key: `${haptik.tract.url}|${auth.clientId}`,
        clock: deps.clock,
        logger: deps.logger
    });
}

/**
 * How the operator tools (register-hooks, doctor) call TRACT: its base URL, the client id and the bearer of
 * the configuration, with the token kept in memory (they do not open the bridge's database).
 */
export function tractCallOptions(
    haptik: BridgeConfig['haptik'],
    deps: { logger: Logger; fetch?: typeof fetch | undefined; timeoutMs?: number | undefined; clock?: { now(): Date } }
): {
    baseUrl: string;
    clientId: string;
    bearer: BearerSource;
    logger: Logger;
    fetch?: typeof fetch;
    timeoutMs?: number;
} {
    const clock = deps.clock ?? { now: () => new Date() };
    return {
        baseUrl: haptik.tract.url,
        clientId: haptik.clientId,
        bearer: tractBearerFor(haptik, {
            store: createMemoryTractTokenStore(() => clock.now()),
            clock,
            logger: deps.logger,
            fetch: deps.fetch,
            timeoutMs: deps.timeoutMs
        }),
        logger: deps.logger,
        ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
        ...(deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs })
    };
}

function parseJson(text: string): unknown {
    try {
        return text.trim() === '' ? {} : (JSON.parse(text) as unknown);
    } catch {
        return { unparsed: true };
    }
}

function errorText(body: unknown): string | undefined {
    if (!isRecord(body)) return undefined;
    const value = body.error ?? body.error_message ?? body.message ?? body.detail;
    if (typeof value !== 'string' || value.trim() === '') return undefined;
    return value.replace(/\s+/g, ' ').slice(0, 200);
}

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}
