import { startSalesforceEmulator } from '../emulators/salesforce';
import type { SalesforceEmulator } from '../emulators/salesforce';
import { assertApiName, escapeSoqlLike, escapeSoqlLiteral, soqlString } from '../../bridge/src/salesforce/soql';
import { escapeSoslTerm } from '../../bridge/src/salesforce/sosl';
import { isBridgeError } from '../../bridge/src/core/errors';
import { CLIENT_ID, CLIENT_SECRET, clientFor } from './helpers';

const HOSTILE = [
    "x' OR Name LIKE '%",
    "a\\' OR Id != null",
    'trailing backslash\\',
    '\\',
    "''",
    'Zoë Ñúñez 日本語 😀',
    'line one\nline two\r\n\ttabbed',
    'double "quoted" name',
    '50%_off',
    "O'Brien"
];

describe('SOQL and SOSL escaping', () => {
    it('escapes backslash before quotes and line breaks', () => {
        expect(escapeSoqlLiteral("a\\'b")).toBe("a\\\\\\'b");
        expect(soqlString("O'Brien")).toBe("'O\\'Brien'");
        expect(soqlString('end\\')).toBe("'end\\\\'");
        expect(escapeSoqlLiteral('a"b\nc\rd\te')).toBe('a\\"b\\nc\\rd\\te');
        expect(escapeSoqlLiteral('Zoë 日本')).toBe('Zoë 日本');
    });

    it('refuses other control characters with bridge_salesforce_unsafe_value', () => {
        for (const bad of ['a\u0000b', 'bell\u0007', 'esc\u001b[0m', 'del\u007f']) {
            expect(() => escapeSoqlLiteral(bad)).toThrow(
                expect.objectContaining({ code: 'bridge_salesforce_unsafe_value' }) as Error
            );
        }
    });

    it('escapes LIKE wildcards in values', () => {
        expect(escapeSoqlLike("50%_off's")).toBe("50\\%\\_off\\'s");
    });

    it('escapes every SOSL reserved character, backslash first', () => {
        expect(escapeSoslTerm('a\\b')).toBe('a\\\\b');
        expect(escapeSoslTerm('&|!(){}[]^"~*?:\'+-')).toBe('\\&\\|\\!\\(\\)\\{\\}\\[\\]\\^\\"\\~\\*\\?\\:\\\'\\+\\-');
        expect(escapeSoslTerm('+91 98765-43210')).toBe('\\+91 98765\\-43210');
        expect(() => escapeSoslTerm('a\nb')).toThrow(
            expect.objectContaining({ code: 'bridge_salesforce_unsafe_value' }) as Error
        );
    });

    it('accepts API names and rejects anything else', () => {
        for (const ok of ['Case', 'Haptik_Conversation_Key__c', 'Account.Name', 'ns__Field__c', 'Custom__r.Name']) {
            expect(assertApiName(ok)).toBe(ok);
        }
        for (const bad of ['', 'Name FROM Case', "Email' OR", 'a__b__c__d', '1Field', 'Field__', 'Sub;Drop', '_x']) {
            let error: unknown;
            try {
                assertApiName(bad);
            } catch (e) {
                error = e;
            }
            expect(isBridgeError(error, 'bridge_salesforce_invalid_name')).toBe(true);
        }
    });

    describe('round trip through the emulator', () => {
        let emulator: SalesforceEmulator;
        beforeAll(async () => {
            emulator = await startSalesforceEmulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
            for (const value of HOSTILE)
                emulator.insert('Contact', { LastName: value, Email: `${HOSTILE.indexOf(value)}@example.com` });
            emulator.insert('Contact', { LastName: 'Bystander', Email: 'other@example.com' });
        });
        afterAll(async () => {
            await emulator.close();
        });

        it.each(HOSTILE)('matches exactly the literal record for %j', async (value) => {
            const { client } = clientFor(emulator);
            const rows = await client.query<{ LastName: string }>(
                `SELECT Id, LastName FROM Contact WHERE LastName = ${soqlString(value)}`
            );
            expect(rows.map((r) => r.LastName)).toEqual([value]);
        });

        it.each(HOSTILE)('matches a LIKE prefix built from %j only on that record', async (value) => {
            const { client } = clientFor(emulator);
            const rows = await client.query<{ LastName: string }>(
                `SELECT LastName FROM Contact WHERE LastName LIKE '${escapeSoqlLike(value)}'`
            );
            expect(rows.map((r) => r.LastName)).toEqual([value]);
        });

        it('answers MALFORMED_QUERY for an unescaped hostile value (the emulator is strict, not lenient)', async () => {
            const { client } = clientFor(emulator);
            await expect(client.query("SELECT Id FROM Contact WHERE LastName = 'trailing\\'")).rejects.toMatchObject({
                details: { sfErrorCode: 'MALFORMED_QUERY' }
            });
            await expect(client.query("SELECT Id FROM Contact WHERE LastName = 'a\\qb'")).rejects.toMatchObject({
                details: { sfErrorCode: 'MALFORMED_QUERY' }
            });
        });
    });
});
