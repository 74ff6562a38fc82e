/**
 * Phone numbers as Salesforce holds them are whatever someone typed: "(415) 555-0134", "+1 415 555 0134",
 * "4155550134", "04155550134". Matching compares one canonical form: the country code followed by the
 * national significant number, digits only.
 */
export interface PhoneRules {
    /** Country calling code assumed for numbers written without one, e.g. "1" or "91". */
    defaultCountryCode: string;
    /** Digits in a national significant number for that country (10 for NANP and India). */
    nationalLength: number;
}

const MIN_DIGITS = 6;
const MAX_E164_DIGITS = 15;

/** Canonical digits (country code + national number), or undefined when the text is not a plausible phone number. */
export function canonicalPhone(raw: string, rules: PhoneRules): string | undefined {
    const trimmed = raw.trim();
    if (/[a-z]/i.test(trimmed.replace(/\b(ext|x)\.?\s*\d+$/i, ''))) return undefined;
    const withoutExtension = trimmed.replace(/\s*(ext\.?|x)\s*\d+$/i, '');
    const digits = withoutExtension.replace(/\D/g, '');
    if (digits.length < MIN_DIGITS || digits.length > MAX_E164_DIGITS + 2) return undefined;
    if (withoutExtension.startsWith('+')) return digits;
    if (digits.startsWith('00')) return digits.slice(2);
    const national = digits.startsWith('0') ? digits.replace(/^0+/, '') : digits;
    if (national.length <= rules.nationalLength) return rules.defaultCountryCode + national;
    // Longer than a national number and no "+": the country code was typed without it ("14155550134").
    return national;
}

/** The national significant number: what a phone search looks for, however the number was written. */
export function nationalDigits(raw: string, rules: PhoneRules): string | undefined {
    const canonical = canonicalPhone(raw, rules);
    if (canonical === undefined) return undefined;
    return canonical.length > rules.nationalLength ? canonical.slice(-rules.nationalLength) : canonical;
}

export function phonesMatch(a: string, b: string, rules: PhoneRules): boolean {
    const left = canonicalPhone(a, rules);
    return left !== undefined && left === canonicalPhone(b, rules);
}
