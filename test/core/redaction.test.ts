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
