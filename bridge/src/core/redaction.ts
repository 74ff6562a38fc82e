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

/**
 * Card numbers: a run of at least 13 digits, grouped or not (up to three spaces, dots or dashes between
 * digits), that holds a Luhn-valid card (see cardSpan): from the card to the end of the run is replaced,
 * so a CVV or an expiry written next to the card goes with it. The pattern takes digits and separators in
 * one character class (a greedy loop V8 runs without a backtracking stack, so megabytes of digits cannot
 * overflow it); the luhn check then splits the match where more than three separators stand together.
 */
const CARD: RedactionRule = {
    name: 'card',
    pattern: String.raw`(?<!\d)\d[\d \t\u00a0.\-]*(?<=\d)`,
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
        const checked =
            rule.check === undefined ? [[0, end - start]] : checkedSpans(text.slice(start, end), rule.check);
        for (const [spanStart, spanEnd] of checked) {
            out += text.slice(from, start + spanStart) + rule.replacement;
            from = start + spanEnd;
        }
    }
    return out + text.slice(from);
}

/** The parts of a match to replace (offsets within it, in order); none when the checksum fails. */
function checkedSpans(value: string, check: RedactionCheck): ReadonlyArray<readonly [number, number]> {
    switch (check) {
        case 'luhn':
            return digitGroups(value).flatMap(([groupStart, groupEnd]) => {
                const span = cardSpan(value.slice(groupStart, groupEnd));
                return span === undefined ? [] : [[groupStart + span[0], groupStart + span[1]] as const];
            });
        case 'verhoeff': {
            const digits = value.replace(/\D/g, '');
            return digits.length === 12 && verhoeffValid(digits) ? [[0, value.length]] : [];
        }
    }
}

/** The runs of a value whose digits stand at most three characters apart, as [start, end) offsets. */
function digitGroups(value: string): Array<[number, number]> {
    const groups: Array<[number, number]> = [];
    let start = -1;
    let lastDigit = -1;
    for (let i = 0; i < value.length; i++) {
        if (!isDigit(value.charCodeAt(i))) continue;
        if (start === -1) start = i;
        else if (i - lastDigit > 4) {
            groups.push([start, lastDigit + 1]);
            start = i;
        }
        lastDigit = i;
    }
    if (start !== -1) groups.push([start, lastDigit + 1]);
    return groups;
}

/**
 * Where a run of digits holds a card number: the whole run (13-19 digits, Luhn-valid), or a card inside
 * it, e.g. followed by its CVV or expiry, after a reference number, glued to other digits. A card inside a
 * run must start where a group of the run starts, carry a card brand's prefix and one of that brand's
 * lengths, and pass Luhn; an order id or a phone number rarely has such a window, so it is left alone.
 * The span runs from the card's first digit to the end of the run (a CVV or expiry after it goes too);
 * what stands before the card stays. Linear in the run's length.
 */
export function cardSpan(run: string): [number, number] | undefined {
    const digits = run.replace(/\D/g, '');
    if (digits.length >= 13 && digits.length <= 19 && luhnValid(digits)) return [0, run.length];
    let seen = 0;
    for (let i = 0; i < run.length; i++) {
        if (!isDigit(run.charCodeAt(i))) continue;
        if (i === 0 || !isDigit(run.charCodeAt(i - 1))) {
            for (const length of brandLengths(digits.slice(seen, seen + 4))) {
                if (seen + length <= digits.length && luhnValid(digits.slice(seen, seen + length))) {
                    return [i, run.length];
                }
            }
        }
        seen++;
    }
    return undefined;
}

function isDigit(code: number): boolean {
    return code >= 48 && code <= 57;
}

const ANY_LENGTH = [13, 14, 15, 16, 17, 18, 19];

/** The lengths cards with this prefix have (ISO/IEC 7812 issuers: Visa, Mastercard, Amex, Diners, JCB, Discover, RuPay, UnionPay, Maestro). */
function brandLengths(prefix: string): readonly number[] {
    if (/^4/.test(prefix)) return [13, 16, 19];
    if (/^3[47]/.test(prefix)) return [15];
    if (/^(5[1-5]|2[2-7])/.test(prefix)) return [16];
    if (/^(3[0568]|5[06-9]|6)/.test(prefix)) return ANY_LENGTH.slice(1);
    if (/^8[12]/.test(prefix)) return [16];
    return [];
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
