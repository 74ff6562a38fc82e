import { signHaptikBody, verifyHaptikSignature } from '../../bridge/src/http/signature';

describe('Haptik signatures', () => {
    // RFC 2202 test case 2 (HMAC-SHA1) and RFC 4231 test case 2 (HMAC-SHA256).
    const secret = 'Jefe';
    const body = 'what do ya want for nothing?';
    const sha1 = 'sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79';
    const sha256 = 'sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843';

    it('signs with the known HMAC vectors', () => {
        expect(signHaptikBody(secret, body)).toBe(sha1);
        expect(signHaptikBody(secret, Buffer.from(body), 'sha256')).toBe(sha256);
    });

    it('accepts the known vectors in either header, whatever the header name case', () => {
        expect(verifyHaptikSignature({ secret, rawBody: body, headers: { 'x-hub-signature': sha1 } })).toBe(true);
        expect(verifyHaptikSignature({ secret, rawBody: body, headers: { 'X-Hub-Signature-256': sha256 } })).toBe(true);
        expect(
            verifyHaptikSignature({
                secret,
                rawBody: Buffer.from(body),
                headers: { 'x-hub-signature': sha1.toUpperCase().replace('SHA1=', 'sha1=') }
            })
        ).toBe(true);
    });

    it.each([
        ['no header', {}],
        ['an empty header', { 'x-hub-signature': '' }],
        ['a truncated digest', { 'x-hub-signature': sha1.slice(0, -2) }],
        ['a sha256 digest in the sha1 header', { 'x-hub-signature': sha256 }],
        ['a sha1 digest labelled sha256', { 'x-hub-signature-256': sha1.replace('sha1', 'sha256') }],
        ['a digest of another body', { 'x-hub-signature': signHaptikBody(secret, `${body} `) }],
        ['a repeated header', { 'x-hub-signature': [sha1, sha1] }]
    ])('rejects %s', (_label, headers) => {
        expect(verifyHaptikSignature({ secret, rawBody: body, headers })).toBe(false);
    });

    it('rejects everything when the secret is empty', () => {
        expect(
            verifyHaptikSignature({
                secret: '',
                rawBody: body,
                headers: { 'x-hub-signature': signHaptikBody('', body) }
            })
        ).toBe(false);
    });

    it('accepts when one of two headers is right', () => {
        const headers = {
            'x-hub-signature': 'sha1=0000000000000000000000000000000000000000',
            'x-hub-signature-256': sha256
        };
        expect(verifyHaptikSignature({ secret, rawBody: body, headers })).toBe(true);
    });
});
