import { canonicalPhone, nationalDigits, phonesMatch } from '../../bridge/src/core/phone';

const us = { defaultCountryCode: '1', nationalLength: 10 };
const india = { defaultCountryCode: '91', nationalLength: 10 };

describe('phone matching', () => {
    const storedForms = [
        '(415) 555-0134',
        '+1 415 555 0134',
        '4155550134',
        '415.555.0134',
        '1-415-555-0134',
        '001 415 555 0134'
    ];

    it.each(storedForms)('matches the stored form %s against the E.164 identifier', (stored) => {
        expect(phonesMatch(stored, '+14155550134', us)).toBe(true);
        expect(canonicalPhone(stored, us)).toBe('14155550134');
    });

    it('uses the default country code for national numbers, with or without a trunk zero', () => {
        expect(canonicalPhone('098200 12345', india)).toBe('919820012345');
        expect(canonicalPhone('9820012345', india)).toBe('919820012345');
        expect(phonesMatch('+91 98200 12345', '09820012345', india)).toBe(true);
    });

    it('does not match different numbers or different countries', () => {
        expect(phonesMatch('+1 415 555 0134', '+1 415 555 0135', us)).toBe(false);
        expect(phonesMatch('+44 415 555 0134', '4155550134', us)).toBe(false);
    });

    it('ignores an extension and rejects text that is not a phone number', () => {
        expect(canonicalPhone('(415) 555-0134 ext. 12', us)).toBe('14155550134');
        expect(canonicalPhone('call me', us)).toBeUndefined();
        expect(canonicalPhone('12', us)).toBeUndefined();
        expect(canonicalPhone("x' OR Name LIKE '%", us)).toBeUndefined();
    });

    it('gives the national digits a phone search looks for', () => {
        expect(nationalDigits('+1 (415) 555-0134', us)).toBe('4155550134');
        expect(nationalDigits('+91 98200 12345', india)).toBe('9820012345');
        expect(nationalDigits('nope', us)).toBeUndefined();
    });
});
