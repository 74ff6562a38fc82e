import { createRedactor, DEFAULT_REDACTION_RULES, luhnValid, verhoeffValid } from '../../bridge/src/core/redaction';
import { parseSettings } from '../../bridge/src/config/mapping-file';

const redact = createRedactor(DEFAULT_REDACTION_RULES);

describe('checksums', () => {
    it('Luhn accepts test card numbers and rejects a changed digit', () => {
        expect(luhnValid('4111111111111111')).toBe(true);
        expect(luhnValid('5500000000000004')).toBe(true);
        expect(luhnValid('4111111111111112')).toBe(false);
    });

    it('Verhoeff accepts a valid Aadhaar-shaped number and rejects a changed digit', () => {
        expect(verhoeffValid('234567890124')).toBe(true);
        expect(verhoeffValid('234567890123')).toBe(false);
    });
});

describe('default redaction rules', () => {
    it.each([
        ['plain card', 'my card is 4111111111111111.', 'my card is [redacted card].'],
        ['card in groups of four', 'card 4111 1111 1111 1111 thanks', 'card [redacted card] thanks'],
        ['card with dashes', 'use 5500-0000-0000-0004 please', 'use [redacted card] please'],
        ['OTP after the word', 'Your OTP is 482913', 'Your OTP is [redacted otp]'],
        ['code before the word', '482913 is your one-time code', '[redacted otp] is your one-time code'],
        ['passcode', 'passcode: 7741', 'passcode: [redacted otp]'],
        ['Aadhaar grouped', 'aadhaar 2345 6789 0124', 'aadhaar [redacted aadhaar]'],
        ['Aadhaar plain', 'id 234567890124', 'id [redacted aadhaar]'],
        ['PAN', 'PAN ABCDE1234F ok', 'PAN [redacted pan] ok'],
        ['US SSN', 'ssn 123-45-6789', 'ssn [redacted ssn]']
    ])('redacts a %s', (_name, input, expected) => {
        expect(redact(input)).toBe(expected);
    });

    it.each([
        ['16-digit order number failing Luhn', 'order 1234567812345678 shipped'],
        ['card-length number with a changed digit', 'ref 4111 1111 1111 1112'],
        ['phone number', 'call me on 9845012345'],
        ['pin code (Indian postal code)', 'pin code 560001'],
        ['zip code', 'zip code 94105'],
        ['12 digits failing Verhoeff', 'ticket 234567890123'],
        ['short number near "code"', 'code 12'],
        ['lower-case PAN-like word', 'abcde1234f'],
        ['never-issued SSN area', 'ref 000-12-3456'],
        ['amount', 'I paid 2500 rupees']
    ])('leaves a %s alone', (_name, input) => {
        expect(redact(input)).toBe(input);
    });

    it.each([
        ['card followed by its CVV', 'card 4111 1111 1111 1111 123 ok', 'card [redacted card] ok'],
        ['card followed by its expiry', 'card 4111 1111 1111 1111 12/25', 'card [redacted card]/25'],
        ['card after "no:-"', 'card no:-4111111111111111', 'card no:-[redacted card]'],
        ['card with double spaces', 'card 4111  1111  1111  1111 ok', 'card [redacted card] ok'],
        ['card with dots', 'card 4111.1111.1111.1111 ok', 'card [redacted card] ok'],
        ['card with a no-break space', 'card 4111\u00a01111\u00a01111\u00a01111', 'card [redacted card]'],
        ['card glued to its CVV', 'card 4111111111111111123', 'card [redacted card]'],
        ['card glued to its expiry', 'card 41111111111111111225 ok', 'card [redacted card] ok'],
        ['card after an order number', 'ORD-2024-4111111111111111', 'ORD-2024-[redacted card]'],
        ['Amex in 4-6-5 groups', 'amex 3782 822463 10005 1234', 'amex [redacted card]'],
        ['card between two other numbers', 'ref 12 5500 0000 0000 0004 999', 'ref 12 [redacted card]']
    ])('redacts a %s', (_name, input, expected) => {
        expect(redact(input)).toBe(expected);
    });

    it.each([
        ['order id starting like a Visa, no card inside', 'order 4567123498761234 shipped'],
        ['order id in groups, no card inside', 'order 4567 1234 9876 1234 shipped'],
        ['order id whose 14-digit start passes Luhn (no card is 14 digits from 51)', 'order 5100200030004001'],
        ['dashed order id', 'order ORD-2024-000123-77'],
        ['Indian mobile with country code', 'call +91 98450 12345 now'],
        ['two phone numbers', 'call 9845012345 9845012346'],
        ['US phone with extension', 'call +1 415-555-0100 ext 1234'],
        ['date and time', 'at 2024-01-15 10:30:00'],
        ['IP address', 'from 192.168.100.200'],
        ['amount with decimals', 'paid 1234567.89 rupees']
    ])('leaves a %s alone', (_name, input) => {
        expect(redact(input)).toBe(input);
    });

    it('stays fast on a 2 MB run of digits', () => {
        const digits = '1'.repeat(2 * 1024 * 1024);
        const redacted = redact(`${digits} 4111111111111111 ${digits}`);
        expect(redacted.length).toBe(digits.length + ' [redacted card]'.length);
        expect(redacted.endsWith(`1 [redacted card]`)).toBe(true);
    });

    it('redacts each card of a run whose groups stand more than three characters apart', () => {
        expect(redact('4111111111111111     5500 0000 0000 0004 and 12345')).toBe(
            '[redacted card]     [redacted card] and 12345'
        );
    });

    it('redacts several kinds in one text', () => {
        expect(redact('card 4111111111111111, OTP 1234, PAN ABCDE1234F')).toBe(
            'card [redacted card], OTP [redacted otp], PAN [redacted pan]'
        );
    });
});

describe('redaction rules from the mapping file', () => {
    it('adds custom rules after the defaults', () => {
        const settings = parseSettings({
            redaction: { rules: [{ name: 'policy', pattern: 'POL-\\d{6}', replacement: '[redacted policy]' }] }
        });
        const custom = createRedactor(settings.redaction.rules);
        expect(custom('policy POL-123456, card 4111111111111111')).toBe(
            'policy [redacted policy], card [redacted card]'
        );
    });

    it('can drop the defaults', () => {
        const settings = parseSettings({ redaction: { defaults: false, rules: [] } });
        expect(createRedactor(settings.redaction.rules)('4111111111111111')).toBe('4111111111111111');
    });

    it('refuses a broken pattern, naming the rule', () => {
        expect(() => parseSettings({ redaction: { rules: [{ name: 'bad', pattern: '(' }] } })).toThrow(
            /redaction\.rules\.0\.pattern is not a valid regular expression/
        );
    });
});
