import { createHmac, createPublicKey, randomUUID, timingSafeEqual, verify, X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * TRACT's signed management requests as Haptik documents them (docs/external-chat-tool/security.md), for the
 * Haptik emulator: `POST /tract/management/token/issue/` with `{client_id, fqdn, timestamp}`, `Signature`
 * (base64 RSA/ECDSA signature with SHA-1 over the exact body) and `SignatureCertUUID` (a self-signed
 * certificate registered with Haptik) or `SignatureCertChainUrl` (https, the ECT's FQDN, port 443, path under
 * `/ect.api/`, a chain to a trusted root). The certificate must be within its dates and name the FQDN; the
 * timestamp within 150 s; every failure answers 400. Issued tokens are HS256 JWTs with `exp`.
 */
export interface TractIssuerOptions {
    /** TRACT client ids a token may be issued for. */
    clientIds: readonly string[];
    /** The ECT's FQDN as pre-shared with Haptik. */
    fqdn: string;
    /** Self-signed certificates (PEM; a bare public key is accepted and skips the date and name checks), by UUID. */
    certificates?: Readonly<Record<string, string>>;
    /** What each SignatureCertChainUrl serves (a PEM chain, leaf first). */
    chains?: Readonly<Record<string, string>>;
    /** Roots a chain must lead to (PEM). */
    trustedRoots?: readonly string[];
    /** Token life; default 3600 s. */
    tokenLifetimeSeconds?: number;
    /** `jwt` (default): `{token: <JWT with exp>}`; `opaque`: `{access_token, expires_in}`. */
    tokenStyle?: 'jwt' | 'opaque';
}

export type IssueOutcome = { status: 200; body: Record<string, unknown> } | { status: 400; body: { error: string } };

export const TRACT_TOLERANCE_MS = 150_000;

/** The test certificates next to this file (made once with openssl for bridge.example.test, valid 100 years). */
export const TRACT_TEST_FQDN = 'bridge.example.test';
export function testCertificate(name: string): string {
    return readFileSync(testCertificatePath(name), 'utf8');
}

/** Next to this file, or (compiled to dist/ for the demo) in the source tree it was built from. */
export function testCertificatePath(name: string): string {
    const folders = [
        path.join(__dirname, 'certificates'),
        path.resolve(__dirname, '../../../../test/emulators/haptik/certificates')
    ];
    const folder = folders.find((candidate) => existsSync(path.join(candidate, name))) ?? folders[0]!;
    return path.join(folder, name);
}

export interface TractTokenIssuerEmulator {
    /** Handles the issue request; `now` is Haptik's clock. */
    issue(rawBody: string, headers: Readonly<Record<string, string>>, now: Date): IssueOutcome;
    /** True for a token this issuer issued that has not expired or been revoked. */
    accepts(token: string, now: Date): boolean;
    /** Every issued token stops working (Haptik rotated its keys): the next TRACT call gets 401. */
    revokeAll(): void;
    /** How many tokens were issued. */
    readonly issued: number;
}

export function createTractTokenIssuerEmulator(options: TractIssuerOptions): TractTokenIssuerEmulator {
    const secret = randomUUID();
    const lifetime = options.tokenLifetimeSeconds ?? 3600;
    const opaque = new Map<string, number>();
    let generation = 0;
    let issued = 0;
    const bad = (error: string): IssueOutcome => ({ status: 400, body: { error } });

    function publicKeyOf(headers: Readonly<Record<string, string>>, now: Date): KeyObject | string {
        const uuid = headers['signaturecertuuid'];
        const chainUrl = headers['signaturecertchainurl'];
        if (uuid !== undefined && uuid !== '') {
            const pem = options.certificates?.[uuid];
            if (pem === undefined) return 'invalid SignatureCertUUID: no certificate with this id';
            if (!pem.includes('BEGIN CERTIFICATE')) return createPublicKey(pem);
            const certificate = new X509Certificate(pem);
            return certificateProblem(certificate, now) ?? certificate.publicKey;
        }
        if (chainUrl !== undefined && chainUrl !== '') {
            const urlProblem = chainUrlProblem(chainUrl, options.fqdn);
            if (urlProblem !== undefined) return `invalid SignatureCertChainUrl: ${urlProblem}`;
            const pem = options.chains?.[chainUrl];
            if (pem === undefined) return 'invalid SignatureCertChainUrl: the certificate chain could not be fetched';
            const chain = splitPem(pem).map((block) => new X509Certificate(block));
            const leaf = chain[0];
            if (leaf === undefined) return 'invalid SignatureCertChainUrl: the chain holds no certificate';
            for (const [i, certificate] of chain.entries()) {
                const problem = certificateProblem(certificate, now, i === 0);
                if (problem !== undefined) return problem;
                const issuer = chain[i + 1];
                if (issuer !== undefined && !certificate.verify(issuer.publicKey)) {
                    return 'certificate chain is broken: a certificate is not signed by the next one';
                }
            }
            const last = chain[chain.length - 1]!;
            const roots = (options.trustedRoots ?? []).map((root) => new X509Certificate(root));
            if (!roots.some((root) => root.fingerprint256 === last.fingerprint256 || last.verify(root.publicKey))) {
                return 'certificate chain does not lead to a trusted root CA';
            }
            return leaf.publicKey;
        }
        return 'SignatureCertUUID or SignatureCertChainUrl is required';
    }

    function certificateProblem(certificate: X509Certificate, now: Date, leaf = true): string | undefined {
        if (now < new Date(certificate.validFrom) || now > new Date(certificate.validTo)) {
            return 'certificate is expired or not yet valid';
        }
        if (leaf && certificate.checkHost(options.fqdn) === undefined) {
            return 'certificate does not name the ECT FQDN in its subject alternative names';
        }
        return undefined;
    }

    function jwt(clientId: string, now: Date): string {
        const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
        const iat = Math.floor(now.getTime() / 1000);
        const head = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ sub: clientId, iat, exp: iat + lifetime, gen: generation, jti: randomUUID() })}`;
        return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
    }

    return {
        get issued() {
            return issued;
        },
        issue(rawBody, headers, now) {
            const signature = headers['signature'];
            if (signature === undefined || signature === '') return bad('Signature header is required');
            const key = publicKeyOf(headers, now);
            if (typeof key === 'string') return bad(key);
            const valid = (() => {
                try {
                    return verify('sha1', Buffer.from(rawBody, 'utf8'), key, Buffer.from(signature, 'base64'));
                } catch {
                    return false;
                }
            })();
            if (!valid) return bad('Signature verification failed');
            let body: unknown;
            try {
                body = JSON.parse(rawBody) as unknown;
            } catch {
                return bad('body is not JSON');
            }
            const field = (name: string): string | undefined => {
                const value =
                    typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
                return typeof value === 'string' ? value : undefined;
            };
            const clientId = field('client_id');
            const fqdn = field('fqdn');
            const timestamp = field('timestamp');
            if (clientId === undefined || fqdn === undefined || timestamp === undefined) {
                return bad('client_id, fqdn and timestamp are required');
            }
            if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(timestamp)) {
                return bad('timestamp must be an ISO 8601 UTC time like 2019-05-13T12:34:56Z');
            }
            if (Math.abs(Date.parse(timestamp) - now.getTime()) > TRACT_TOLERANCE_MS) {
                return bad('request timestamp is outside the 150 second tolerance');
            }
            if (fqdn.toLowerCase() !== options.fqdn.toLowerCase()) return bad('fqdn does not match the registered ECT');
            if (!options.clientIds.includes(clientId)) return bad('unknown client_id');
            issued += 1;
            if (options.tokenStyle === 'opaque') {
                const token = randomUUID().replace(/-/g, '');
                opaque.set(token, now.getTime() + lifetime * 1000);
                return { status: 200, body: { access_token: token, expires_in: lifetime } };
            }
            return { status: 200, body: { token: jwt(clientId, now) } };
        },
        accepts(token, now) {
            const until = opaque.get(token);
            if (until !== undefined) return now.getTime() < until;
            const [head, payload, mac] = token.split('.');
            if (head === undefined || payload === undefined || mac === undefined) return false;
            const expected = createHmac('sha256', secret).update(`${head}.${payload}`).digest();
            const given = Buffer.from(mac, 'base64url');
            if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
            const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
                exp: number;
                gen: number;
            };
            return claims.gen === generation && now.getTime() < claims.exp * 1000;
        },
        revokeAll() {
            generation += 1;
            opaque.clear();
        }
    };
}

/** security.md: https, host = the ECT's FQDN, port 443 if given, path (normalised) starting with /ect.api/. */
function chainUrlProblem(raw: string, fqdn: string): string | undefined {
    if (!URL.canParse(raw)) return 'not a URL';
    const url = new URL(raw);
    if (url.protocol !== 'https:') return 'the protocol is not https';
    if (url.hostname.toLowerCase() !== fqdn.toLowerCase()) return 'the host is not the ECT FQDN';
    if (url.port !== '' && url.port !== '443') return 'the port is not 443';
    if (!url.pathname.startsWith('/ect.api/')) return 'the path does not begin with /ect.api/';
    return undefined;
}

function splitPem(pem: string): string[] {
    return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
