import { createPublicKey, verify } from 'node:crypto';
import { createJwtAssertion } from '../../bridge/src/salesforce/jwt-assertion';
import { generateTestKeyPair } from '../emulators/salesforce';

describe('createJwtAssertion', () => {
    const keys = generateTestKeyPair();

    it('signs iss, sub, aud and a 3-minute exp from the injected clock with RS256', () => {
        const token = createJwtAssertion({
            clientId: 'consumer-key',
            username: 'bridge@example.com',
            audience: 'https://test.salesforce.com/',
            privateKey: keys.privateKey,
            now: new Date('2026-01-01T00:00:00Z')
        });
        const [header = '', claims = '', signature = ''] = token.split('.');
        expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'RS256', typ: 'JWT' });
        expect(JSON.parse(Buffer.from(claims, 'base64url').toString())).toEqual({
            iss: 'consumer-key',
            sub: 'bridge@example.com',
            aud: 'https://test.salesforce.com',
            exp: Date.parse('2026-01-01T00:03:00Z') / 1000
        });
        const valid = verify(
            'RSA-SHA256',
            Buffer.from(`${header}.${claims}`),
            createPublicKey(keys.publicKey),
            Buffer.from(signature, 'base64url')
        );
        expect(valid).toBe(true);
    });

    it('reports an unreadable key as bridge_salesforce_auth_failed', () => {
        expect(() =>
            createJwtAssertion({
                clientId: 'c',
                username: 'u',
                audience: 'https://login.salesforce.com',
                privateKey: '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----',
                now: new Date()
            })
        ).toThrow(expect.objectContaining({ code: 'bridge_salesforce_auth_failed' }) as Error);
    });
});
