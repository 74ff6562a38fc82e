import { errorSummary } from '../../bridge/src/core/errors';
import { BridgeError } from '../../bridge/src/core/errors';
import { cleanJson, cleanText, cutText, isPlainId } from '../../bridge/src/core/text';

const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe('cutText', () => {
    it('never splits a surrogate pair, at any cut', () => {
        const text = 'ab😀c😀😀d';
        for (let max = 0; max <= text.length + 1; max++) {
            const cut = cutText(text, max);
            expect(cut.length).toBeLessThanOrEqual(max);
            expect(LONE.test(cut)).toBe(false);
            expect(text.startsWith(cut)).toBe(true);
            expect(cut.length).toBeGreaterThanOrEqual(Math.min(max, text.length) - 1);
        }
    });
});

describe('cleanText and isPlainId', () => {
    it('drops NULs and turns lone surrogates into U+FFFD, keeping pairs', () => {
        expect(cleanText('a\u0000b\ud83dc\udc00d😀')).toBe('ab\ufffdc\ufffdd😀');
        expect(cleanText('plain')).toBe('plain');
    });

    it('takes an id without control characters or lone surrogates', () => {
        expect(isPlainId('u-1001 😀')).toBe(true);
        expect(isPlainId('u\u0000')).toBe(false);
        expect(isPlainId('u\u001f')).toBe(false);
        expect(isPlainId('u\u007f')).toBe(false);
        expect(isPlainId('u\ud800')).toBe(false);
    });

    it('cleans every string and key of a JSON value, keeping __proto__ an own key', () => {
        const value = JSON.parse('{"__proto__": {"a\\u0000": ["x\\ud800"]}, "ok": [1, true, null]}') as unknown;
        const cleaned = cleanJson(value) as Record<string, unknown>;
        expect(Object.getPrototypeOf(cleaned)).toBe(Object.prototype);
        expect(Object.hasOwn(cleaned, '__proto__')).toBe(true);
        expect(JSON.stringify(cleaned)).toBe('{"__proto__":{"a":["x\ufffd"]},"ok":[1,true,null]}');
        const untouched = { a: ['b'] };
        expect(cleanJson(untouched)).toBe(untouched);
    });
});

describe('errorSummary', () => {
    it('gives code and message of an outside error, without values, addresses or long numbers', () => {
        const error = Object.assign(
            new Error(
                'invalid input syntax for type bigint: "abc" for asha@example.com card 4111 1111 1111 1111 at postgres://u:pw@db/x'
            ),
            { code: '22P02', params: ['secret'] }
        );
        expect(errorSummary(error)).toEqual({
            code: '22P02',
            message:
                'invalid input syntax for type bigint: "…" for [redacted] card [redacted] at postgres://[redacted]@db/x'
        });
    });

    it('adds the cause of a BridgeError, not of an outside error', () => {
        const inner = new Error('outer', { cause: new Error('inner asha@example.com') });
        const wrapped = new BridgeError('bridge_store_failed', 'Storing failed', { cause: inner });
        expect(errorSummary(wrapped)).toEqual({
            code: 'bridge_store_failed',
            message: 'Storing failed',
            cause: { code: 'Error', message: 'outer' }
        });
    });
});
