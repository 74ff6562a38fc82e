/**
 * The access token of Bring Your Own Channel: the OAuth 2.0 JWT bearer flow of the integration user (a named
 * user, with the External Client App's scope `interaction_api` and "Issue JWT-based access tokens for named
 * users"), salesforce.md §3.3 and https://developer.salesforce.com/docs/service/interaction-service-api/guide/authorization.html.
 * One token serves the Interaction Service API (Bearer) and the Pub/Sub API (`accesstoken` metadata with the
 * instance URL and org id). Its own token, apart from the REST client's, so the chat never waits on CRM calls.
 */
import { BridgeError } from '../../core/errors';
import { createJwtAssertion } from '../jwt-assertion';

export interface ByocToken {
    accessToken: string;
    instanceUrl: string;
    /** Scopes the token carries, as the token endpoint says (`scope`). */
    scopes: string[];
}

export interface ByocAuth {
    /** A cached token, or a new one. */
    token(): Promise<ByocToken>;
    /** The token was refused (401, UNAUTHENTICATED): the next `token()` asks for a new one. */
    invalidate(refused: string): void;
}

export interface ByocAuthOptions {
    loginUrl: string;
    clientId: string;
    username: string;
    privateKey: string;
    fetch?: typeof fetch;
    now?: () => Date;
    requestTimeoutMs?: number;
}

export function createByocAuth(options: ByocAuthOptions): ByocAuth {
    const doFetch = options.fetch ?? fetch;
    let current: Promise<ByocToken> | undefined;

    const request = async (): Promise<ByocToken> => {
        const assertion = createJwtAssertion({
            clientId: options.clientId,
            username: options.username,
            audience: options.loginUrl,
            privateKey: options.privateKey,
            now: (options.now ?? (() => new Date()))()
        });
        let response: Response;
        try {
            response = await doFetch(`${options.loginUrl.replace(/\/+$/, '')}/services/oauth2/token`, {
                method: 'POST',
                headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
                body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
                signal: AbortSignal.timeout(options.requestTimeoutMs ?? 15_000)
            });
        } catch (error) {
            throw new BridgeError('bridge_chat_unavailable', 'the Salesforce token endpoint is unreachable', {
                cause: error,
                details: { operation: 'byoc_token', retryable: true }
            });
        }
        const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
        if (!response.ok || typeof body['access_token'] !== 'string') {
            const oauthError = typeof body['error'] === 'string' ? body['error'] : undefined;
            throw new BridgeError(
                response.status >= 500 ? 'bridge_chat_unavailable' : 'bridge_chat_unauthorized',
                `Salesforce refused the JWT bearer token for BYOC (${oauthError ?? `HTTP ${response.status}`}): check SF_CLIENT_ID, SF_USERNAME, SF_PRIVATE_KEY and that the app has the interaction_api scope`,
                { details: { operation: 'byoc_token', status: response.status, retryable: response.status >= 500 } }
            );
        }
        return {
            accessToken: body['access_token'],
            instanceUrl: typeof body['instance_url'] === 'string' ? body['instance_url'] : options.loginUrl,
            scopes: typeof body['scope'] === 'string' ? body['scope'].split(/\s+/).filter(Boolean) : []
        };
    };

    let cached: ByocToken | undefined;
    return {
        token() {
            if (cached !== undefined) return Promise.resolve(cached);
            if (current === undefined) {
                const pending = request().then((token) => {
                    cached = token;
                    return token;
                });
                current = pending;
                // Settled either way, the next caller starts from the cache (or, after a failure, asks again).
                void pending.then(
                    () => {
                        if (current === pending) current = undefined;
                    },
                    () => {
                        if (current === pending) current = undefined;
                    }
                );
            }
            return current;
        },
        invalidate(refused) {
            if (cached?.accessToken === refused) cached = undefined;
        }
    };
}
