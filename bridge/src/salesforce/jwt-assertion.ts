/** The RS256 JWT bearer assertion for Salesforce's OAuth 2.0 JWT bearer flow. */
import { createPrivateKey, sign } from 'node:crypto';
import { BridgeError } from '../core/errors';

export interface JwtAssertionInput {
    /** Consumer key of the External Client App / Connected App. */
    clientId: string;
    /** Integration user's username. */
    username: string;
    /** Login URL (`https://login.salesforce.com`, `https://test.salesforce.com` or My Domain). */
    audience: string;
    /** PEM private key matching the certificate uploaded to the app. */
    privateKey: string;
    /** Current time; injected so tests control expiry. */
    now: Date;
    /** Lifetime in seconds; Salesforce wants a short one (default 3 minutes). */
    lifetimeSeconds?: number;
}

const b64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url');

export function createJwtAssertion(input: JwtAssertionInput): string {
    const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
    const claims = b64url(
        JSON.stringify({
            iss: input.clientId,
            sub: input.username,
            aud: input.audience.replace(/\/+$/, ''),
            exp: Math.floor(input.now.getTime() / 1000) + (input.lifetimeSeconds ?? 180)
        })
    );
    let key;
    try {
        key = createPrivateKey(input.privateKey);
    } catch (error) {
        throw new BridgeError('bridge_salesforce_auth_failed', 'SF_PRIVATE_KEY is not a readable PEM private key', {
            cause: error
        });
    }
    const signature = sign('RSA-SHA256', Buffer.from(`${header}.${claims}`), key);
    return `${header}.${claims}.${b64url(signature)}`;
}
