/**
 * The emulator's SOSL subset (`GET …/search?q=`):
 *
 *   FIND {term} [IN ALL|NAME|EMAIL|PHONE FIELDS] [RETURNING Obj[(fields [WHERE …] [ORDER BY …] [LIMIT n] [OFFSET n])], …] [LIMIT n]
 *
 * The term follows Salesforce's escaping: the reserved characters & | ! ( ) { } [ ] ^ " ~ * ? : \ ' + - are
 * written with a backslash; `*` and `?` unescaped are wildcards and `"` quotes a phrase. Any other unescaped
 * reserved character, an unterminated term or a broken literal in a WHERE answers MALFORMED_SEARCH, the
 * errorCode Salesforce uses for SOSL (SOAP's MalformedSearchFault); the emulator is stricter than
 * Salesforce here on purpose (it has no boolean operators) so that a client that forgets to escape fails
 * in tests. Each RETURNING clause runs through the SOQL engine over the records the term matched.
 *
 * Matching is the emulator's approximation (Salesforce's tokenisation is undocumented, salesforce.md §4.7):
 * - PHONE FIELDS: the digits of a standard phone field (Phone, MobilePhone, HomePhone, OtherPhone, AssistantPhone,
 *   Fax, PersonMobilePhone, …) contain the digits of the term.
 * - EMAIL FIELDS: Email or PersonEmail equals the term, ignoring case (wildcards allowed).
 * - NAME FIELDS: every word of the term matches a word of Name, FirstName, LastName or Company.
 * - ALL FIELDS: every word matches a word of any text field, or the PHONE or EMAIL rule matches.
 */
import { runSoql, SoqlError } from './soql-engine';
import type { SfRecord, SoqlContext } from './soql-engine';

export type SearchScope = 'ALL' | 'NAME' | 'EMAIL' | 'PHONE';

/** A search failure with the REST error code Salesforce answers (always HTTP 400). */
export class SoslError extends Error {
    constructor(
        readonly errorCode: 'MALFORMED_SEARCH' | 'INVALID_FIELD' | 'INVALID_TYPE',
        message: string
    ) {
        super(message);
        this.name = 'SoslError';
    }
}

const malformed = (message: string): SoslError => new SoslError('MALFORMED_SEARCH', message);

const RESERVED = new Set([
    '&',
    '|',
    '!',
    '(',
    ')',
    '{',
    '}',
    '[',
    ']',
    '^',
    '"',
    '~',
    '*',
    '?',
    ':',
    '\\',
    "'",
    '+',
    '-'
]);
/** Objects searched when RETURNING is left out (Salesforce searches every searchable object). */
const DEFAULT_OBJECTS = ['Account', 'Contact', 'Lead'];
/** Salesforce's ceiling on SOSL rows. */
const MAX_ROWS = 2000;

/** One word of the term: literal text with `*`/`?` wildcards kept apart. */
type Word = Array<{ literal: string } | { wildcard: '*' | '?' }>;

interface ParsedSosl {
    words: Word[];
    scope: SearchScope;
    returning: Array<{ object: string; body: string | undefined }>;
    limit: number;
}

function parseTerm(sosl: string, start: number): { words: Word[]; end: number } {
    const words: Word[] = [];
    let word: Word = [];
    const flush = (): void => {
        if (word.length > 0) words.push(word);
        word = [];
    };
    for (let i = start; i < sosl.length; i++) {
        const c = sosl.charAt(i);
        if (c === '\\') {
            const next = sosl.charAt(i + 1);
            if (!RESERVED.has(next)) {
                throw malformed(
                    `Invalid escape sequence '\\${next}' in the search term. Reserved characters are & | ! ( ) { } [ ] ^ " ~ * ? : \\ ' + -`
                );
            }
            word.push({ literal: next });
            i += 1;
        } else if (c === '}') {
            flush();
            return { words, end: i + 1 };
        } else if (/\s/.test(c) || c === '"') {
            flush();
        } else if (c === '*' || c === '?') {
            word.push({ wildcard: c });
        } else if (RESERVED.has(c)) {
            throw malformed(
                `line 1:${i + 1} unexpected token: '${c}'. Reserved characters in a search term must be escaped with a backslash.`
            );
        } else {
            word.push({ literal: c });
        }
    }
    throw malformed('No search term found. The search term must be enclosed in braces.');
}

/** Index of the `)` closing the `(` at `open`, skipping string literals (with their backslash escapes). */
function closingParen(text: string, open: number): number {
    let depth = 0;
    for (let i = open; i < text.length; i++) {
        const c = text.charAt(i);
        if (c === "'") {
            i += 1;
            while (i < text.length && text.charAt(i) !== "'") i += text.charAt(i) === '\\' ? 2 : 1;
            if (i >= text.length) throw malformed(`unterminated string literal in ${text.slice(open)}`);
        } else if (c === '(') depth += 1;
        else if (c === ')') {
            depth -= 1;
            if (depth === 0) return i;
        }
    }
    throw malformed(`unbalanced parentheses in ${text.slice(open)}`);
}

export function parseSosl(sosl: string): ParsedSosl {
    const head = /^\s*FIND\s*\{/i.exec(sosl);
    if (!head) throw malformed('No search term found. The search term must be enclosed in braces.');
    const { words, end } = parseTerm(sosl, head[0].length);
    const significant = words.flat().filter((part) => 'literal' in part).length;
    if (significant < 2) throw malformed('search term must be longer than one character');

    let rest = sosl.slice(end);
    let scope: SearchScope = 'ALL';
    const inMatch = /^\s*IN\s+(ALL|NAME|EMAIL|PHONE|SIDEBAR)\s+FIELDS\b/i.exec(rest);
    if (inMatch) {
        const named = (inMatch[1] ?? 'ALL').toUpperCase();
        scope = named === 'SIDEBAR' ? 'ALL' : (named as SearchScope);
        rest = rest.slice(inMatch[0].length);
    }
    const returning: ParsedSosl['returning'] = [];
    const returningMatch = /^\s*RETURNING\s+/i.exec(rest);
    if (returningMatch) {
        rest = rest.slice(returningMatch[0].length);
        for (;;) {
            const name = /^\s*([A-Za-z][A-Za-z0-9_]*)\s*/.exec(rest);
            if (!name) throw malformed(`unexpected token in RETURNING: '${rest.trim().slice(0, 40)}'`);
            rest = rest.slice(name[0].length);
            let body: string | undefined;
            if (rest.startsWith('(')) {
                const close = closingParen(rest, 0);
                body = rest.slice(1, close).trim();
                rest = rest.slice(close + 1);
            }
            returning.push({ object: name[1] ?? '', body });
            const comma = /^\s*,/.exec(rest);
            if (!comma) break;
            rest = rest.slice(comma[0].length);
        }
    }
    let limit = MAX_ROWS;
    const limitMatch = /^\s*LIMIT\s+(\d+)/i.exec(rest);
    if (limitMatch) {
        limit = Math.min(MAX_ROWS, Number(limitMatch[1]));
        rest = rest.slice(limitMatch[0].length);
    }
    if (rest.trim() !== '') throw malformed(`unexpected token: '${rest.trim().slice(0, 40)}'`);
    return { words, scope, returning, limit };
}

function wordPattern(word: Word): RegExp {
    const source = word
        .map((part) =>
            'literal' in part
                ? part.literal.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
                : part.wildcard === '*'
                  ? '.*'
                  : '.'
        )
        .join('');
    return new RegExp(`^${source}$`, 'iu');
}

const textOf = (word: Word): string => word.map((part) => ('literal' in part ? part.literal : '')).join('');
const PHONE_FIELDS = [
    'Phone',
    'MobilePhone',
    'HomePhone',
    'OtherPhone',
    'AssistantPhone',
    'Fax',
    'PersonMobilePhone',
    'PersonHomePhone',
    'PersonOtherPhone',
    'PersonAssistantPhone'
];
const EMAIL_FIELDS = ['Email', 'PersonEmail'];
const NAME_FIELDS = new Set(['Name', 'FirstName', 'LastName', 'Company']);

/** String values of the record's fields that `accept` names. */
function stringFields(record: SfRecord, accept: (field: string) => boolean): string[] {
    const out: string[] = [];
    for (const field in record) {
        const value = record[field];
        if (typeof value === 'string' && value !== '' && accept(field)) out.push(value);
    }
    return out;
}

// Searches run over every stored record; phone values repeat from search to search.
const digitCache = new Map<string, string>();
function digitsOf(value: string): string {
    let digits = digitCache.get(value);
    if (digits === undefined) {
        digits = value.replace(/\D/g, '');
        if (digitCache.size >= 100_000) digitCache.clear();
        digitCache.set(value, digits);
    }
    return digits;
}

/**
 * The emulator's reading of whether a record of `type` matches the term in a scope (see the module comment).
 * Built once per search and object: it runs over every stored record, so it reads the object's phone and
 * email fields by name rather than walking each record.
 */
export function termMatcher(
    words: Word[],
    scope: SearchScope,
    type: string,
    ctx: Pick<SoqlContext, 'canonicalField'>
): (record: SfRecord) => boolean {
    const digits = digitsOf(words.map(textOf).join(''));
    const patterns = words.map(wordPattern);
    const emailPattern = words.length === 1 ? patterns[0] : undefined;
    const fieldsOf = (candidates: string[]): string[] => candidates.filter((f) => ctx.canonicalField(type, f) === f);
    const phoneFields = fieldsOf(PHONE_FIELDS);
    const emailFields = fieldsOf(EMAIL_FIELDS);
    const phone = (record: SfRecord): boolean => {
        if (digits === '') return false;
        for (const field of phoneFields) {
            const value = record[field];
            if (typeof value === 'string' && value !== '' && digitsOf(value).includes(digits)) return true;
        }
        return false;
    };
    const email = (record: SfRecord): boolean => {
        if (emailPattern === undefined) return false;
        for (const field of emailFields) {
            const value = record[field];
            if (typeof value === 'string' && emailPattern.test(value)) return true;
        }
        return false;
    };
    const wordsMatch = (values: string[]): boolean => {
        const tokens = values.flatMap((v) => [v, ...v.split(/[^\p{L}\p{N}@._+-]+/u)]).filter((t) => t !== '');
        return patterns.every((pattern) => tokens.some((t) => pattern.test(t)));
    };
    switch (scope) {
        case 'PHONE':
            return phone;
        case 'EMAIL':
            return email;
        case 'NAME':
            return (record) => wordsMatch(stringFields(record, (f) => NAME_FIELDS.has(f)));
        case 'ALL':
            return (record) =>
                phone(record) ||
                email(record) ||
                wordsMatch(stringFields(record, (f) => f !== 'Id' && !f.endsWith('Id')));
    }
}

/** Where the clauses begin inside a RETURNING body (outside string literals). */
function clauseStart(body: string): number {
    const clause = /\b(WHERE|ORDER\s+BY|LIMIT|OFFSET)\b/iy;
    for (let i = 0; i < body.length; i++) {
        const c = body.charAt(i);
        if (c === "'") {
            i += 1;
            while (i < body.length && body.charAt(i) !== "'") i += body.charAt(i) === '\\' ? 2 : 1;
            continue;
        }
        clause.lastIndex = i;
        if ((i === 0 || /\s/.test(body.charAt(i - 1))) && clause.test(body)) return i;
    }
    return body.length;
}

/**
 * Runs one SOSL statement against the store; returns the searchRecords (each with attributes) in
 * RETURNING order. Throws SoslError for what Salesforce rejects.
 */
export function runSosl(sosl: string, ctx: SoqlContext): SfRecord[] {
    const parsed = parseSosl(sosl);
    const specs =
        parsed.returning.length > 0 ? parsed.returning : DEFAULT_OBJECTS.map((object) => ({ object, body: undefined }));
    const out: SfRecord[] = [];
    for (const spec of specs) {
        const type = ctx.canonicalType(spec.object);
        if (!type) {
            throw new SoslError(
                'INVALID_TYPE',
                `sObject type '${spec.object}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`
            );
        }
        const body = spec.body ?? '';
        const split = clauseStart(body);
        const fields = body.slice(0, split).trim();
        const soql = `SELECT ${fields === '' ? 'Id' : fields} FROM ${type} ${body.slice(split)}`.trim();
        const matches = termMatcher(parsed.words, parsed.scope, type, ctx);
        const searched: SoqlContext = {
            ...ctx,
            records: (t) => {
                const all = ctx.records(t);
                return t === type ? all.filter(matches) : all;
            }
        };
        try {
            out.push(...(runSoql(soql, searched).records ?? []));
        } catch (error) {
            if (error instanceof SoqlError) {
                throw new SoslError(
                    error.errorCode === 'MALFORMED_QUERY' ? 'MALFORMED_SEARCH' : error.errorCode,
                    error.message
                );
            }
            throw error;
        }
    }
    return out.slice(0, parsed.limit);
}
