import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Haptik signs every request it sends with the shared secret (contract §2, haptik.md §A4):
 * `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw body>`; the SHA-256 variant
 * `X-Hub-Signature-256: sha256=<hex>` is accepted too. Pure functions, so the check is testable
 * without HTTP and the emulator signs exactly the same way.
 */
export type HaptikSignatureAlgorithm = 'sha1' | 'sha256';

export const SIGNATURE_HEADERS: Readonly<Record<HaptikSignatureAlgorithm, string>> = {
    sha1: 'x-hub-signature',
    sha256: 'x-hub-signature-256'
};

const HEX_LENGTH: Readonly<Record<HaptikSignatureAlgorithm, number>> = { sha1: 40, sha256: 64 };

export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

/** `sha1=<hex>` (or `sha256=<hex>`) for a body: the header value Haptik sends. */
export function signHaptikBody(
    secret: string,
    body: string | Buffer,
    algorithm: HaptikSignatureAlgorithm = 'sha1'
): string {
    return `${algorithm}=${createHmac(algorithm, secret).update(body).digest('hex')}`;
}

/**
 * True when one of the signature headers holds the right HMAC of the raw body. Header names are
 * matched case-insensitively; the digests are compared in constant time.
 */
export function verifyHaptikSignature(input: {
    secret: string;
    rawBody: Buffer | string;
    headers: HeaderBag;
}): boolean {
    if (input.secret === '') return false;
    const headers = lowerCaseKeys(input.headers);
    let valid = false;
    for (const algorithm of ['sha256', 'sha1'] as const) {
        const value = headers[SIGNATURE_HEADERS[algorithm]];
        if (value === undefined) continue;
        // Every candidate is checked (no early exit), so timing does not tell which header matched.
        if (matches(algorithm, value, input.secret, input.rawBody)) valid = true;
    }
    return valid;
}

function matches(
    algorithm: HaptikSignatureAlgorithm,
    header: string,
    secret: string,
    rawBody: Buffer | string
): boolean {
    const prefix = `${algorithm}=`;
    const trimmed = header.trim();
    if (trimmed.slice(0, prefix.length).toLowerCase() !== prefix) return false;
    const hex = trimmed.slice(prefix.length);
    if (hex.length !== HEX_LENGTH[algorithm] || !/^[0-9a-f]+$/i.test(hex)) return false;
    const given = Buffer.from(hex, 'hex');
    const expected = createHmac(algorithm, secret).update(rawBody).digest();
    return given.length === expected.length && timingSafeEqual(given, expected);
}

function lowerCaseKeys(headers: HeaderBag): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
        if (value === undefined) continue;
        // A repeated header is ambiguous; only a single value counts.
        if (typeof value !== 'string') {
            if (value.length !== 1 || value[0] === undefined) continue;
            out[name.toLowerCase()] = value[0];
        } else {
            out[name.toLowerCase()] = value;
        }
    }
    return out;
}

/**
 * True when the request carried exactly one `key` and it is the hook token. Both sides are hashed first, so
 * the comparison takes the same time whatever the lengths; a repeated `key` is ambiguous and refused.
 */
export function verifyHookKey(token: string, given: readonly string[]): boolean {
    if (token === '' || given.length !== 1) return false;
    const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
    return timingSafeEqual(digest(given[0]!), digest(token));
}
