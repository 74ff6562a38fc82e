/**
 * The emulator's token endpoint (`POST /services/oauth2/token`): client_credentials and the RS256
 * JWT bearer grant, with Salesforce's OAuth error bodies `{error, error_description}`.
 */
import { createHmac, createPublicKey, randomBytes, verify } from 'node:crypto';

export interface OAuthSettings {
    clientId: string;
    clientSecret: string;
    username: string;
    jwtPublicKey: string | undefined;
    orgId: string;
    userId: string;
    /** Accepted JWT audiences. */
    audiences: string[];
    /** The granted scopes (`scope` of the answer), space-separated; default `api`. */
    scope?: string;
    baseUrl: () => string;
    now: () => number;
}

export type TokenOutcome =
    | { ok: true; body: Record<string, string>; accessToken: string }
    | { ok: false; status: number; body: { error: string; error_description: string } };

const fail = (error: string, description: string, status = 400): TokenOutcome => ({
    ok: false,
    status,
    body: { error, error_description: description }
});

function decodeJson(part: string): Record<string, unknown> | undefined {
    try {
        const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
        return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
    } catch {
        return undefined;
    }
}

function checkJwt(assertion: string, s: OAuthSettings): TokenOutcome | undefined {
    const parts = assertion.split('.');
    const [h, p, sig] = parts;
    if (parts.length !== 3 || h === undefined || p === undefined || sig === undefined) {
        return fail('invalid_grant', 'invalid assertion');
    }
    const header = decodeJson(h);
    const claims = decodeJson(p);
    if (!header || !claims || header.alg !== 'RS256') return fail('invalid_grant', 'invalid assertion');
    if (claims.iss !== s.clientId) return fail('invalid_client_id', 'client identifier invalid');
    if (!s.jwtPublicKey) return fail('invalid_grant', 'invalid assertion');
    const valid = verify(
        'RSA-SHA256',
        Buffer.from(`${h}.${p}`),
        createPublicKey(s.jwtPublicKey),
        Buffer.from(sig, 'base64url')
    );
    if (!valid) return fail('invalid_grant', 'invalid assertion');
    const aud = Array.isArray(claims.aud) ? (claims.aud as unknown[]) : [claims.aud];
    if (!aud.some((a) => typeof a === 'string' && s.audiences.includes(a.replace(/\/+$/, '')))) {
        return fail('invalid_grant', 'audience is invalid');
    }
    if (typeof claims.exp !== 'number' || claims.exp * 1000 <= s.now()) {
        return fail('invalid_grant', 'expired authorization code');
    }
    if (claims.sub !== s.username) return fail('invalid_grant', "user hasn't approved this consumer");
    return undefined;
}

/** Handles one token request body (already URL-decoded). */
export function issueToken(params: URLSearchParams, s: OAuthSettings): TokenOutcome {
    const grant = params.get('grant_type');
    if (grant === 'client_credentials') {
        if (params.get('client_id') !== s.clientId) return fail('invalid_client_id', 'client identifier invalid');
        if (params.get('client_secret') !== s.clientSecret) return fail('invalid_client', 'invalid client credentials');
    } else if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
        const problem = checkJwt(params.get('assertion') ?? '', s);
        if (problem) return problem;
    } else {
        return fail('unsupported_grant_type', 'grant type not supported');
    }
    const accessToken = `${s.orgId}!AQ${randomBytes(24).toString('base64url')}`;
    const issuedAt = String(s.now());
    const id = `${s.baseUrl()}/id/${s.orgId}/${s.userId}`;
    const signature = createHmac('sha256', s.clientSecret)
        .update(id + issuedAt)
        .digest('base64');
    return {
        ok: true,
        accessToken,
        body: {
            access_token: accessToken,
            signature,
            scope: s.scope ?? 'api',
            instance_url: s.baseUrl(),
            id,
            token_type: 'Bearer',
            issued_at: issuedAt
        }
    };
}
