import { BridgeError } from './errors';

/**
 * Redaction of personal data from text that leaves the bridge (transcripts, Case descriptions). Rules
 * are regular expressions with an optional checksum, so a 16-digit order number is not taken for a card
 * and a 12-digit phone number is not taken for an Aadhaar number. Pure: no I/O.
 *
 * A rule whose pattern has a named group `secret` replaces only that group (an OTP rule keeps the word
 * "OTP" and hides the digits); otherwise the whole match is replaced.
 */
export type RedactionCheck = 'luhn' | 'verhoeff';

export interface RedactionRule {
    name: string;
    /** A JavaScript regular expression source. */
    pattern: string;
    /** Extra flags beside `g` and `d`, e.g. `i`. */
    flags?: string;
    replacement: string;
    /** The digits of the match (or of its `secret` group) must pass this checksum. */
    check?: RedactionCheck;
}

/** Card numbers: 13-19 digits, optionally grouped by spaces or dashes, Luhn-valid. */
const CARD: RedactionRule = {
    name: 'card',
    pattern: String.raw`(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])`,
    replacement: '[redacted card]',
    check: 'luhn'
};

/** Aadhaar: 12 digits (first 2-9) in groups of four, Verhoeff-valid. */
const AADHAAR: RedactionRule = {
    name: 'aadhaar',
    pattern: String.raw`(?<![\d-])[2-9]\d{3}[ -]?\d{4}[ -]?\d{4}(?![\d-])`,
    replacement: '[redacted aadhaar]',
    check: 'verhoeff'
};

/** Indian PAN: five letters, four digits, one letter. */
const PAN: RedactionRule = {
    name: 'pan',
    pattern: String.raw`\b[A-Z]{5}[0-9]{4}[A-Z]\b`,
    replacement: '[redacted pan]'
};

/** US SSN, dashed form only (nine bare digits are too often something else); never-issued areas excluded. */
const SSN: RedactionRule = {
    name: 'ssn',
    pattern: String.raw`\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b`,
    replacement: '[redacted ssn]'
};

/**
 * One-time codes: 4-8 digits within a few words after (or before) "OTP", "code", "passcode"; "zip code",
 * "pin code" (Indian postal code), "order code" and the like are not one-time codes.
 */
const OTP_WORDS = String.raw`(?:otp|one[- ]time (?:password|passcode|code|pin)|pass ?code|verification code|security code|(?<!(?:zip|pin|postal|area|country|promo|discount|coupon|order|product|reference|tracking) )code)`;

const OTP_AFTER: RedactionRule = {
    name: 'otp',
    pattern: String.raw`\b${OTP_WORDS}\b[^\d\n]{0,24}?(?<secret>(?<!\d)\d{4,8})(?!\d)`,
    flags: 'i',
    replacement: '[redacted otp]'
};

const OTP_BEFORE: RedactionRule = {
    name: 'otp',
    pattern: String.raw`(?<!\d)(?<secret>\d{4,8})(?!\d)(?=[^\d\n]{0,24}?\b${OTP_WORDS}\b)`,
    flags: 'i',
    replacement: '[redacted otp]'
};

/** The default rules, in the order they are applied (longest numbers first). */
export const DEFAULT_REDACTION_RULES: readonly RedactionRule[] = [CARD, AADHAAR, SSN, PAN, OTP_AFTER, OTP_BEFORE];

export type Redactor = (text: string) => string;

interface CompiledRule {
    rule: RedactionRule;
    regex: RegExp;
}

/** Compiles the rules once; throws `bridge_redaction_rule_invalid` naming the rule whose pattern is broken. */
export function createRedactor(rules: readonly RedactionRule[]): Redactor {
    const compiled: CompiledRule[] = rules.map((rule) => ({ rule, regex: compileRule(rule) }));
    return (text) => compiled.reduce((current, { rule, regex }) => applyRule(current, rule, regex), text);
}

export function compileRule(rule: RedactionRule): RegExp {
    const flags = new Set(['g', 'd', ...(rule.flags ?? '').split('')]);
    flags.delete('y');
    try {
        return new RegExp(rule.pattern, [...flags].join(''));
    } catch (error) {
        throw new BridgeError('bridge_redaction_rule_invalid', `Redaction rule "${rule.name}" has an invalid pattern`, {
            cause: error,
            details: { rule: rule.name }
        });
    }
}

function applyRule(text: string, rule: RedactionRule, regex: RegExp): string {
    regex.lastIndex = 0;
    let out = '';
    let from = 0;
    for (let match = regex.exec(text); match !== null; match = regex.exec(text)) {
        if (match[0] === '') {
            regex.lastIndex++;
            continue;
        }
        const span = match.indices?.groups?.['secret'] ?? match.indices?.[0];
        if (span === undefined) continue;
        const [start, end] = span;
        if (rule.check !== undefined && !passesCheck(text.slice(start, end), rule.check)) continue;
        out += text.slice(from, start) + rule.replacement;
        from = end;
    }
    return out + text.slice(from);
}

function passesCheck(value: string, check: RedactionCheck): boolean {
    const digits = value.replace(/\D/g, '');
    switch (check) {
        case 'luhn':
            return digits.length >= 13 && digits.length <= 19 && luhnValid(digits);
        case 'verhoeff':
            return digits.length === 12 && verhoeffValid(digits);
    }
}

/** The Luhn (mod 10) checksum every payment card number satisfies. */
export function luhnValid(digits: string): boolean {
    if (!/^\d+$/.test(digits)) return false;
    let sum = 0;
    for (let i = 0; i < digits.length; i++) {
        let d = Number(digits[digits.length - 1 - i]);
        if (i % 2 === 1) {
            d *= 2;
            if (d > 9) d -= 9;
        }
        sum += d;
    }
    return sum % 10 === 0;
}

const VERHOEFF_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
];
const VERHOEFF_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8]
];

/** The Verhoeff checksum the last digit of an Aadhaar number carries. */
export function verhoeffValid(digits: string): boolean {
    if (!/^\d+$/.test(digits)) return false;
    let c = 0;
    for (let i = 0; i < digits.length; i++) {
        const d = Number(digits[digits.length - 1 - i]);
        c = VERHOEFF_D[c]![VERHOEFF_P[i % 8]![d]!]!;
    }
    return c === 0;
}
