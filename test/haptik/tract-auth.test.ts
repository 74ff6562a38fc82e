import { createPublicKey, verify, X509Certificate } from 'node:crypto';
import type { TractAuthConfig } from '../../bridge/src/config/env';
import { isBridgeError } from '../../bridge/src/core/errors';
import { createHaptikClient } from '../../bridge/src/haptik/haptik-client';
import {
    createTractTokenIssuer,
    createTractTokenProvider,
    signTokenRequest,
    tokenFromAnswer
} from '../../bridge/src/haptik/tract-auth';
import type { TractTokenIssuer } from '../../bridge/src/haptik/tract-auth';
import { silentLogger } from '../../bridge/src/observability/logger';
import type { Db } from '../../bridge/src/store/db';
import { createDbTractTokenStore, createMemoryTractTokenStore } from '../../bridge/src/store/tract-tokens';
import { startHaptikEmulator, testCertificate, TRACT_TEST_FQDN } from '../emulators/haptik';
import type { HaptikEmulator, TractIssuerOptions } from '../emulators/haptik';
import { databaseTargets } from '../support/databases';

/**
 * TRACT's signed token issue (contract §3, security.md) against the Haptik emulator, which verifies real
 * RSA and ECDSA signatures against registered certificates (self-signed by UUID, or a CA chain by URL),
 * the FQDN in the certificate, the 150 s timestamp tolerance and the client id.
 */
const CREDENTIALS = { clientId: 'client-42', apiToken: 'bm-token', businessId: 343 };
const CHAIN_URL = `https://${TRACT_TEST_FQDN}/ect.api/chain.pem`;
const ISSUER: TractIssuerOptions = {
    clientIds: ['tract-1'],
    fqdn: TRACT_TEST_FQDN,
    certificates: {
        'uuid-rsa': testCertificate('ect-rsa.crt'),
        'uuid-ec': testCertificate('ect-ec.crt'),
        'uuid-other-host': testCertificate('ect-rsa-other-host.crt')
    },
    chains: { [CHAIN_URL]: testCertificate('ect-chain.pem') },
    trustedRoots: [testCertificate('ca.crt')],
    tokenLifetimeSeconds: 60
};

function auth(overrides: Partial<TractAuthConfig> = {}): TractAuthConfig {
    return {
        clientId: 'tract-1',
        fqdn: TRACT_TEST_FQDN,
        privateKey: testCertificate('ect-rsa.key'),
        certificate: { uuid: 'uuid-rsa' },
        ...overrides
    };
}

/** Real time plus an offset the test moves: the emulator keeps real time. */
class OffsetClock {
    offsetMs = 0;
    now(): Date {
        return new Date(Date.now() + this.offsetMs);
    }
}

async function refusal(issuer: TractTokenIssuer): Promise<Record<string, unknown>> {
    try {
        await issuer.issue();
    } catch (error) {
        if (!isBridgeError(error, 'bridge_haptik_tract_token_refused')) throw error;
        return { ...error.details, message: error.message };
    }
    throw new Error('expected the issue to be refused');
}

describe('TRACT token issue', () => {
    let haptik: HaptikEmulator;
    const clock = new OffsetClock();
    const issuerWith = (overrides: Partial<TractAuthConfig> = {}): TractTokenIssuer =>
        createTractTokenIssuer({ auth: auth(overrides), tractUrl: haptik.url, clock, logger: silentLogger() });

    beforeAll(async () => {
        haptik = await startHaptikEmulator({ ...CREDENTIALS, tract: ISSUER });
    });

    afterAll(() => haptik.close());

    beforeEach(() => {
        clock.offsetMs = 0;
        haptik.setClockOffset(0);
    });

    it('signs the exact minified body with SHA-1, verifiable with the certificate', () => {
        const now = new Date('2026-12-03T12:34:56.789Z');
        for (const [key, cert] of [
            ['ect-rsa.key', 'ect-rsa.crt'],
            ['ect-ec.key', 'ect-ec.crt']
        ] as const) {
            const request = signTokenRequest(auth({ privateKey: testCertificate(key) }), 'https://tract.example/', now);
            expect(request.url).toBe('https://tract.example/tract/management/token/issue/');
            expect(request.body).toBe(
                `{"client_id":"tract-1","fqdn":"${TRACT_TEST_FQDN}","timestamp":"2026-12-03T12:34:56Z"}`
            );
            expect(request.headers).toMatchObject({
                'Content-Type': 'application/json',
                SignatureCertUUID: 'uuid-rsa'
            });
            const publicKey = new X509Certificate(testCertificate(cert)).publicKey;
            const signature = Buffer.from(request.headers['Signature']!, 'base64');
            expect(verify('sha1', Buffer.from(request.body), publicKey, signature)).toBe(true);
            expect(verify('sha1', Buffer.from(`${request.body} `), publicKey, signature)).toBe(false);
        }
    });

    it('gets a token for an RSA key, an ECDSA key and a CA-signed chain', async () => {
        const rsa = await issuerWith().issue();
        const ec = await issuerWith({
            privateKey: testCertificate('ect-ec.key'),
            certificate: { uuid: 'uuid-ec' }
        }).issue();
        const chained = await issuerWith({
            privateKey: testCertificate('ect-chain.key'),
            certificate: { chainUrl: CHAIN_URL }
        }).issue();

        for (const issued of [rsa, ec, chained]) {
            expect(issued.lifetimeFrom).toBe('jwt');
            const lifeMs = issued.expiresAt.getTime() - Date.now();
            expect(lifeMs).toBeGreaterThan(55_000);
            expect(lifeMs).toBeLessThanOrEqual(60_000);
            // Renewed a fifth of its life (the JWT's exp counts whole seconds) before it runs out.
            const marginMs = issued.expiresAt.getTime() - issued.refreshAt.getTime();
            expect(marginMs).toBeGreaterThan(11_000);
            expect(marginMs).toBeLessThanOrEqual(12_100);
        }
        const call = haptik.calls.find((c) => c.path === '/tract/management/token/issue/' && c.status === 200)!;
        expect(call.headers['signature']).toMatch(/^[A-Za-z0-9+/]+=*$/);
        expect(call.headers['authorization']).toBeUndefined();
    });

    it('says which part Haptik refused: certificate id, certificate name, signature, timestamp, client', async () => {
        expect(await refusal(issuerWith({ certificate: { uuid: 'no-such-uuid' } }))).toMatchObject({
            status: 400,
            refusal: 'certificate',
            haptikError: 'invalid SignatureCertUUID: no certificate with this id'
        });
        expect(await refusal(issuerWith({ certificate: { uuid: 'uuid-other-host' } }))).toMatchObject({
            refusal: 'certificate',
            haptikError: 'certificate does not name the ECT FQDN in its subject alternative names'
        });
        expect(await refusal(issuerWith({ certificate: { uuid: 'uuid-ec' } }))).toMatchObject({
            refusal: 'signature',
            haptikError: 'Signature verification failed'
        });
        expect(await refusal(issuerWith({ clientId: 'someone-else' }))).toMatchObject({ refusal: 'client' });
        expect(
            await refusal(
                issuerWith({
                    privateKey: testCertificate('ect-chain.key'),
                    certificate: { chainUrl: `https://${TRACT_TEST_FQDN}/certs/chain.pem` }
                })
            )
        ).toMatchObject({ refusal: 'certificate' });

        clock.offsetMs = 200_000;
        const skewed = await refusal(issuerWith());
        expect(skewed).toMatchObject({
            refusal: 'timestamp',
            haptikError: 'request timestamp is outside the 150 second tolerance'
        });
        // Haptik's clock (its Date header) is 200 s behind this host's.
        expect(Math.round(Number(skewed['skewMs']) / 1000)).toBeLessThanOrEqual(-199);
        expect(String(skewed['message'])).toContain('synchronise this host');
    });

    it('reads the token life from a JWT, else expires_in, else a short default', () => {
        const now = new Date('2026-12-03T12:00:00Z');
        const payload = Buffer.from(JSON.stringify({ exp: now.getTime() / 1000 + 3600 })).toString('base64url');
        const jwt = tokenFromAnswer({ jwt: `e30.${payload}.sig` }, now);
        const opaque = tokenFromAnswer({ access_token: 'abc', expires_in: 300 }, now);
        const unknown = tokenFromAnswer({ data: { token: 'abc' } }, now);

        expect(jwt).toMatchObject({ lifetimeFrom: 'jwt', expiresAt: new Date('2026-12-03T13:00:00Z') });
        expect(jwt.refreshAt).toEqual(new Date('2026-12-03T12:58:00Z'));
        expect(opaque).toMatchObject({
            token: 'abc',
            lifetimeFrom: 'expires_in',
            expiresAt: new Date('2026-12-03T12:05:00Z')
        });
        expect(unknown).toMatchObject({
            token: 'abc',
            lifetimeFrom: 'default',
            expiresAt: new Date('2026-12-03T12:10:00Z')
        });
        expect(() => tokenFromAnswer({ ok: true }, now)).toThrow('Haptik issued no token');
    });

    it('TRACT calls need the issued token: the Business Manager token gets 401', async () => {
        const withApiToken = createHaptikClient({ ...CREDENTIALS, baseUrl: haptik.url, logger: silentLogger() });
        let error: unknown;
        try {
            await withApiToken.listeners('u-1');
        } catch (caught) {
            error = caught;
        }
        expect(isBridgeError(error, 'bridge_haptik_unauthorized')).toBe(true);
    });
});

describe.each(databaseTargets())('the shared TRACT token ($name)', (target) => {
    let db: Db;
    let haptik: HaptikEmulator;
    const clock = new OffsetClock();

    beforeAll(async () => {
        db = await target.open();
        haptik = await startHaptikEmulator({ ...CREDENTIALS, tract: ISSUER });
    });

    afterAll(async () => {
        await haptik.close();
        await db.close();
    });

    /** One bridge instance: its own provider and client, the database shared. */
    function instance(key: string, overrides: Partial<TractAuthConfig> = {}) {
        const issuer = createTractTokenIssuer({
            auth: auth(overrides),
            tractUrl: haptik.url,
            clock,
            logger: silentLogger()
        });
        const bearer = createTractTokenProvider({
            issuer,
            store: createDbTractTokenStore(db),
            key,
            clock,
            logger: silentLogger(),
            pollMs: 20
        });
        return {
            bearer,
            client: createHaptikClient({
                ...CREDENTIALS,
                baseUrl: haptik.url,
                tractBearer: bearer,
                logger: silentLogger()
            })
        };
    }

    const issues = (): number => haptik.calls.filter((c) => c.path === '/tract/management/token/issue/').length;

    beforeEach(() => {
        haptik.reset();
        clock.offsetMs = 0;
    });

    it('issues one token for five instances and a hundred concurrent calls, renews it once before it expires', async () => {
        const instances = Array.from({ length: 5 }, () => instance(`shared-${target.name}`));

        const calls = instances.flatMap((i) => Array.from({ length: 20 }, (_, n) => i.client.listeners(`u-${n}`)));
        await Promise.all(calls);
        expect(issues()).toBe(1);
        expect(
            haptik.calls.filter((c) => c.path === '/tract/thread_control/listeners/' && c.status === 200)
        ).toHaveLength(100);

        // 50 s into its 60 s life: inside the renewal margin, so the next calls renew it, once for all.
        clock.offsetMs = 50_000;
        await Promise.all(instances.map((i) => i.client.listeners('u-after')));
        expect(issues()).toBe(2);
        const tokens = new Set(
            haptik.calls
                .filter((c) => c.path === '/tract/thread_control/listeners/')
                .map((c) => c.headers.authorization)
        );
        expect(tokens.size).toBe(2);
    });

    it('renews the token once when TRACT answers 401, and every instance moves to the new one', async () => {
        const [a, b] = [instance(`revoked-${target.name}`), instance(`revoked-${target.name}`)];
        await a.client.listeners('u-1');
        await b.client.listeners('u-1');
        expect(issues()).toBe(1);

        haptik.revokeTractTokens();
        await a.client.listeners('u-2');
        await b.client.listeners('u-2');

        expect(issues()).toBe(2);
        const statuses = haptik.calls.filter((c) => c.path === '/tract/thread_control/listeners/').map((c) => c.status);
        // a: 401 then 200 with the new token; b: 401 with its cached old one, then the new token from the database.
        expect(statuses).toEqual([200, 200, 401, 200, 401, 200]);

        // Calls in flight with a revoked token all go through on the one renewed token.
        haptik.revokeTractTokens();
        const inFlight = await Promise.allSettled(Array.from({ length: 10 }, () => a.client.listeners('u-3')));
        expect(inFlight.every((o) => o.status === 'fulfilled')).toBe(true);
        expect(issues()).toBe(3);
    });

    it('renews at most once for 401s that a new token does not cure (a wrong client id)', async () => {
        const bearer = instance(`wrong-client-${target.name}`).bearer;
        const wrongClient = createHaptikClient({
            ...CREDENTIALS,
            clientId: 'not-the-client',
            baseUrl: haptik.url,
            tractBearer: bearer,
            logger: silentLogger()
        });

        const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => wrongClient.listeners('u-1')));
        for (let i = 0; i < 10; i += 1) await wrongClient.listeners('u-1').catch(() => undefined);

        expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
        // The first token, and one renewal after the first 401; the other 401s stand.
        expect(issues()).toBe(2);
    });

    it('does not repeat a refused issue for every call (no storm on a wrong key)', async () => {
        const wrong = instance(`refused-${target.name}`, { certificate: { uuid: 'uuid-ec' } });

        const outcomes = await Promise.allSettled(Array.from({ length: 30 }, () => wrong.client.listeners('u-1')));

        expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
        expect(issues()).toBe(1);
        const reason = (outcomes[0] as PromiseRejectedResult).reason as unknown;
        expect(isBridgeError(reason, 'bridge_haptik_tract_token_refused')).toBe(true);
    });
});

describe('the in-memory token store of the operator tools', () => {
    it('hands out the lease to one owner at a time and renews a refused token', async () => {
        const store = createMemoryTractTokenStore();
        const now = new Date();
        expect(await store.tryLease('k', 'a', 10_000, now)).toBe(true);
        expect(await store.tryLease('k', 'b', 10_000, now)).toBe(false);
        const later = new Date(Date.now() + 60_000);
        await store.save('k', 'a', { token: 't1', expiresAt: later, refreshAt: later });
        // A fresh token is stored: nobody issues another.
        expect(await store.tryLease('k', 'b', 10_000, now)).toBe(false);
        await store.invalidate('k', 't1');
        expect(await store.tryLease('k', 'b', 10_000, now)).toBe(true);
        expect(createPublicKey(testCertificate('ect-ec.crt')).asymmetricKeyType).toBe('ec');
    });
});
