/**
 * The emulator's SOQL subset: soql-parser-js parses the statement; this module checks string literals
 * with Salesforce's escape rules (the parser accepts any backslash sequence), resolves fields and
 * relationship paths, and evaluates WHERE / ORDER BY / LIMIT / OFFSET / COUNT() over stored records.
 */
import { parseQuery } from 'soql-parser-js';

export type SfRecord = Record<string, unknown>;

/** A query failure with the REST error code Salesforce answers (always HTTP 400). */
export class SoqlError extends Error {
    constructor(
        readonly errorCode: 'MALFORMED_QUERY' | 'INVALID_FIELD' | 'INVALID_TYPE',
        message: string
    ) {
        super(message);
        this.name = 'SoqlError';
    }
}

export interface SoqlContext {
    isKnownType(type: string): boolean;
    /** Canonical field name on `type`, or undefined when the object has no such field. */
    canonicalField(type: string, name: string): string | undefined;
    /** Canonical object name (SOQL object names are case-insensitive). */
    canonicalType(type: string): string | undefined;
    records(type: string): SfRecord[];
    findById(id: unknown): { type: string; record: SfRecord } | undefined;
    recordUrl(type: string, id: string): string;
}

export interface SoqlResult {
    type: string;
    /** Shaped records (with attributes); undefined for COUNT() queries. */
    records: SfRecord[] | undefined;
    totalSize: number;
}

type Literal = string | number | boolean | null;
type Operand =
    { kind: 'literal'; value: Literal } | { kind: 'like'; regex: RegExp } | { kind: 'list'; values: Literal[] };

interface Condition {
    path: string[];
    operator: string;
    operand: Operand;
}

type Expr =
    { kind: 'cond'; cond: Condition } | { kind: 'and' | 'or'; left: Expr; right: Expr } | { kind: 'not'; inner: Expr };

const malformed = (message: string): SoqlError => new SoqlError('MALFORMED_QUERY', message);

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
    n: '\n',
    r: '\r',
    t: '\t',
    b: '\b',
    f: '\f',
    '"': '"',
    "'": "'",
    '\\': '\\'
};

/**
 * Decodes a quoted SOQL string literal. Valid escapes are \n \r \t \b \f \" \' \\ \uXXXX, plus
 * \_ and \% inside LIKE; any other backslash use is an error, as in Salesforce.
 * For LIKE the result is a regular expression (% → any run, _ → one character).
 */
export function decodeStringLiteral(raw: string, forLike: false): string;
export function decodeStringLiteral(raw: string, forLike: true): RegExp;
export function decodeStringLiteral(raw: string, forLike: boolean): string | RegExp {
    if (raw.length < 2 || !raw.startsWith("'") || !raw.endsWith("'")) throw malformed(`invalid string literal ${raw}`);
    const body = raw.slice(1, -1);
    let text = '';
    let pattern = '';
    const literal = (s: string): void => {
        text += s;
        pattern += s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    };
    for (let i = 0; i < body.length; i++) {
        const c = body.charAt(i);
        if (c === '\\') {
            const next = body.charAt(i + 1);
            const simple = SIMPLE_ESCAPES[next];
            if (simple !== undefined) {
                literal(simple);
                i += 1;
            } else if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(body.slice(i + 2, i + 6))) {
                literal(String.fromCharCode(parseInt(body.slice(i + 2, i + 6), 16)));
                i += 5;
            } else if (forLike && (next === '_' || next === '%')) {
                literal(next);
                i += 1;
            } else {
                throw malformed(
                    `Invalid string literal '${body}'. Illegal character sequence '\\${next}' in string literal.`
                );
            }
        } else if (c === "'") {
            // The parser only ends a literal at an unescaped quote, so a bare quote here means broken input.
            throw malformed(`unexpected quote in string literal ${raw}`);
        } else if (forLike && c === '%') {
            pattern += '.*';
            text += c;
        } else if (forLike && c === '_') {
            pattern += '.';
            text += c;
        } else {
            literal(c);
        }
    }
    return forLike ? new RegExp(`^${pattern}$`, 'is') : text;
}

function parseLiteral(raw: unknown): Literal {
    if (typeof raw !== 'string') throw malformed('unsupported literal');
    if (raw.startsWith("'")) return decodeStringLiteral(raw, false);
    if (/^null$/i.test(raw)) return null;
    if (/^true$/i.test(raw)) return true;
    if (/^false$/i.test(raw)) return false;
    if (/^[+-]?\d+(\.\d+)?$/.test(raw)) return Number(raw);
    if (/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2}))?$/.test(raw)) return raw;
    throw malformed(`the emulator does not support the literal ${raw}`);
}

interface RawCondition {
    field?: string;
    operator?: string;
    value?: unknown;
    openParen?: number;
    closeParen?: number;
    fn?: unknown;
    valueQuery?: unknown;
}
interface RawWhere {
    left?: RawCondition | null;
    operator?: string;
    right?: RawWhere;
}

type Token = '(' | ')' | 'AND' | 'OR' | 'NOT' | { cond: Condition };

function toCondition(raw: RawCondition): Condition {
    if (raw.fn !== undefined || raw.valueQuery !== undefined || typeof raw.field !== 'string') {
        throw malformed('the emulator does not support functions or semi-joins in WHERE');
    }
    const operator = (raw.operator ?? '').toUpperCase();
    const path = raw.field.split('.');
    let operand: Operand;
    if (operator === 'IN' || operator === 'NOT IN') {
        const values = Array.isArray(raw.value) ? raw.value : [raw.value];
        operand = { kind: 'list', values: values.map(parseLiteral) };
    } else if (operator === 'LIKE') {
        if (typeof raw.value !== 'string' || !raw.value.startsWith("'")) throw malformed('LIKE needs a string');
        operand = { kind: 'like', regex: decodeStringLiteral(raw.value, true) };
    } else if (['=', '!=', '<>', '<', '<=', '>', '>='].includes(operator)) {
        operand = { kind: 'literal', value: parseLiteral(raw.value) };
    } else {
        throw malformed(`the emulator does not support the operator ${operator}`);
    }
    return { path, operator, operand };
}

/** soql-parser-js gives a right-nested chain with paren counts; turn it back into tokens. */
function tokenize(where: RawWhere | undefined, out: Token[] = []): Token[] {
    if (!where) return out;
    if (where.left === null && where.operator?.toUpperCase() === 'NOT') {
        out.push('NOT');
        return tokenize(where.right, out);
    }
    if (where.left) {
        for (let i = 0; i < (where.left.openParen ?? 0); i++) out.push('(');
        out.push({ cond: toCondition(where.left) });
        for (let i = 0; i < (where.left.closeParen ?? 0); i++) out.push(')');
    }
    const op = where.operator?.toUpperCase();
    if (op === 'AND' || op === 'OR') out.push(op);
    else if (op !== undefined) throw malformed(`unexpected operator ${op}`);
    return tokenize(where.right, out);
}

/** Precedence: NOT, then AND, then OR. */
function parseTokens(tokens: Token[]): Expr {
    let pos = 0;
    const peek = (): Token | undefined => tokens[pos];
    const orExpr = (): Expr => {
        let left = andExpr();
        while (peek() === 'OR') {
            pos++;
            left = { kind: 'or', left, right: andExpr() };
        }
        return left;
    };
    const andExpr = (): Expr => {
        let left = unary();
        while (peek() === 'AND') {
            pos++;
            left = { kind: 'and', left, right: unary() };
        }
        return left;
    };
    const unary = (): Expr => {
        const t = peek();
        pos++;
        if (t === 'NOT') return { kind: 'not', inner: unary() };
        if (t === '(') {
            const inner = orExpr();
            if (peek() !== ')') throw malformed('unbalanced parentheses');
            pos++;
            return inner;
        }
        if (t !== undefined && typeof t === 'object') return { kind: 'cond', cond: t.cond };
        throw malformed('unexpected token in WHERE');
    };
    const expr = orExpr();
    if (pos !== tokens.length) throw malformed('unexpected token in WHERE');
    return expr;
}

function lookupField(rel: string): string {
    return rel.toLowerCase().endsWith('__r') ? `${rel.slice(0, -3)}__c` : `${rel}Id`;
}

/** Checks a field path on `type` and returns its canonical spelling (relationship names included). */
function resolvePath(ctx: SoqlContext, type: string, path: string[]): string[] {
    const field = path[path.length - 1] ?? '';
    const rels = path.slice(0, -1);
    const out: string[] = [];
    if (rels.length === 0) {
        const canonical = ctx.canonicalField(type, field);
        if (!canonical) {
            throw new SoqlError(
                'INVALID_FIELD',
                `No such column '${field}' on entity '${type}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`
            );
        }
        return [canonical];
    }
    const rel = rels[0] ?? '';
    const lookup = ctx.canonicalField(type, lookupField(rel));
    if (!lookup) {
        throw new SoqlError(
            'INVALID_FIELD',
            `Didn't understand relationship '${rel}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`
        );
    }
    const canonicalRel = lookup.endsWith('__c') ? `${lookup.slice(0, -3)}__r` : lookup.slice(0, -2);
    out.push(canonicalRel);
    // The parent's type is only known per record (polymorphic lookups); keep the rest as written.
    out.push(...path.slice(1));
    return out;
}

function valueAt(ctx: SoqlContext, type: string, record: SfRecord, path: string[]): unknown {
    if (path.length === 1) return record[ctx.canonicalField(type, path[0] ?? '') ?? path[0] ?? ''];
    const lookup = ctx.canonicalField(type, lookupField(path[0] ?? ''));
    const parent = lookup ? ctx.findById(record[lookup]) : undefined;
    if (!parent) return null;
    return valueAt(ctx, parent.type, parent.record, path.slice(1));
}

function normalise(value: unknown): Literal | undefined {
    if (value === undefined || value === null) return null;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
    return undefined;
}

function compare(a: Literal, b: Literal): number | undefined {
    if (a === null || b === null) return undefined;
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    if (typeof a === 'boolean' || typeof b === 'boolean') return a === b ? 0 : undefined;
    const x = String(a).toLowerCase();
    const y = String(b).toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
}

function equals(field: Literal, literal: Literal): boolean {
    if (literal === null) return field === null;
    if (field === null) return false;
    if (typeof literal === 'boolean' || typeof field === 'boolean')
        return String(field).toLowerCase() === String(literal).toLowerCase();
    return compare(field, literal) === 0;
}

const RECORD_ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

/** Id fields accept 15- or 18-character ids; the first 15 characters are the case-sensitive id. */
function idKey(value: Literal): Literal {
    return typeof value === 'string' && RECORD_ID.test(value) ? `id:${value.slice(0, 15)}` : value;
}

function test(cond: Condition, raw: unknown): boolean {
    let value = normalise(raw);
    if (value === undefined) return false;
    if (/id$/i.test(cond.path[cond.path.length - 1] ?? '') && cond.operand.kind !== 'like') {
        value = idKey(value);
        const operand = cond.operand;
        cond = {
            ...cond,
            operand:
                operand.kind === 'list'
                    ? { kind: 'list', values: operand.values.map(idKey) }
                    : { kind: 'literal', value: idKey(operand.value) }
        };
    }
    const { operand, operator } = cond;
    if (operand.kind === 'like') return value !== null && operand.regex.test(String(value));
    if (operand.kind === 'list') {
        const found = operand.values.some((v) => equals(value, v));
        return operator === 'IN' ? found : !found;
    }
    const lit = operand.value;
    switch (operator) {
        case '=':
            return equals(value, lit);
        case '!=':
        case '<>':
            return !equals(value, lit);
        default: {
            const c = compare(value, lit);
            if (c === undefined) return false;
            if (operator === '<') return c < 0;
            if (operator === '<=') return c <= 0;
            if (operator === '>') return c > 0;
            return c >= 0;
        }
    }
}

function evaluate(ctx: SoqlContext, type: string, record: SfRecord, expr: Expr): boolean {
    switch (expr.kind) {
        case 'cond':
            return test(expr.cond, valueAt(ctx, type, record, expr.cond.path));
        case 'and':
            return evaluate(ctx, type, record, expr.left) && evaluate(ctx, type, record, expr.right);
        case 'or':
            return evaluate(ctx, type, record, expr.left) || evaluate(ctx, type, record, expr.right);
        case 'not':
            return !evaluate(ctx, type, record, expr.inner);
    }
}

interface RawField {
    type?: string;
    field?: string;
    relationships?: string[];
    functionName?: string;
    parameters?: unknown[];
}
interface RawOrderBy {
    field?: string;
    order?: string;
    nulls?: string;
}
interface RawQuery {
    fields?: RawField[];
    sObject?: string;
    where?: RawWhere;
    orderBy?: RawOrderBy | RawOrderBy[];
    limit?: number;
    offset?: number;
    groupBy?: unknown;
    having?: unknown;
    sObjectRelationships?: unknown;
}

function shape(ctx: SoqlContext, type: string, record: SfRecord, paths: string[][]): SfRecord {
    const id = String(record.Id);
    const out: SfRecord = { attributes: { type, url: ctx.recordUrl(type, id) } };
    for (const path of paths) {
        if (path.length === 1) {
            const name = path[0] ?? '';
            out[name] = record[name] ?? null;
            continue;
        }
        const [rel = '', ...rest] = path;
        const lookup = ctx.canonicalField(type, lookupField(rel));
        const parent = lookup ? ctx.findById(record[lookup]) : undefined;
        if (!parent) {
            out[rel] = null;
            continue;
        }
        const canonicalRest = [ctx.canonicalField(parent.type, rest[0] ?? '') ?? rest[0] ?? '', ...rest.slice(1)];
        if (rest.length === 1 && !ctx.canonicalField(parent.type, rest[0] ?? '')) {
            throw new SoqlError('INVALID_FIELD', `No such column '${rest[0] ?? ''}' on entity '${parent.type}'.`);
        }
        const nested = shape(ctx, parent.type, parent.record, [canonicalRest]);
        const existing = out[rel];
        out[rel] = existing && typeof existing === 'object' ? { ...existing, ...nested } : nested;
    }
    return out;
}

// Parsing dominates a query's cost and clients repeat the same statements (SOSL RETURNING clauses
// differ only in the search term), so parse trees are kept; they are never modified.
const parsedStatements = new Map<string, RawQuery>();
const MAX_PARSED = 1000;

function parseCached(soql: string): RawQuery {
    let parsed = parsedStatements.get(soql);
    if (parsed === undefined) {
        parsed = parseQuery(soql);
        if (parsedStatements.size >= MAX_PARSED) parsedStatements.clear();
        parsedStatements.set(soql, parsed);
    }
    return parsed;
}

/** Runs one SOQL statement against the store. Throws SoqlError for what Salesforce would reject. */
export function runSoql(soql: string, ctx: SoqlContext): SoqlResult {
    let parsed: RawQuery;
    try {
        parsed = parseCached(soql);
    } catch (error) {
        throw malformed(
            `\n${soql}\n^\nERROR at Row:1:Column:1\n${error instanceof Error ? error.message : String(error)}`
        );
    }
    if (parsed.groupBy !== undefined || parsed.having !== undefined) {
        throw malformed('the emulator does not support GROUP BY / HAVING');
    }
    const type = ctx.canonicalType(parsed.sObject ?? '');
    if (!type || !ctx.isKnownType(type)) {
        throw new SoqlError(
            'INVALID_TYPE',
            `sObject type '${parsed.sObject ?? ''}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`
        );
    }
    const fields = parsed.fields ?? [];
    const isCount = fields.some((f) => f.type === 'FieldFunctionExpression');
    if (
        isCount &&
        (fields.length !== 1 ||
            fields[0]?.functionName?.toUpperCase() !== 'COUNT' ||
            (fields[0].parameters ?? []).length > 0)
    ) {
        throw malformed('the emulator supports only COUNT() as an aggregate, alone in the SELECT list');
    }
    const paths: string[][] = [];
    if (!isCount) {
        for (const f of fields) {
            if (f.type === 'Field' && typeof f.field === 'string') paths.push(resolvePath(ctx, type, [f.field]));
            else if (f.type === 'FieldRelationship' && typeof f.field === 'string')
                paths.push(resolvePath(ctx, type, [...(f.relationships ?? []), f.field]));
            else throw malformed(`the emulator does not support ${f.type ?? 'this'} in SELECT`);
        }
    }
    const where = parsed.where ? parseTokens(tokenize(parsed.where)) : undefined;
    const checkPaths = (expr: Expr | undefined): void => {
        if (!expr) return;
        if (expr.kind === 'cond') resolvePath(ctx, type, expr.cond.path);
        else if (expr.kind === 'not') checkPaths(expr.inner);
        else {
            checkPaths(expr.left);
            checkPaths(expr.right);
        }
    };
    checkPaths(where);

    let rows = ctx.records(type).filter((r) => !where || evaluate(ctx, type, r, where));

    const orderBy =
        parsed.orderBy === undefined ? [] : Array.isArray(parsed.orderBy) ? parsed.orderBy : [parsed.orderBy];
    if (orderBy.length > 0) {
        const keys = orderBy.map((o) => {
            if (typeof o.field !== 'string') throw malformed('the emulator supports ORDER BY on fields only');
            const path = o.field.split('.');
            resolvePath(ctx, type, path);
            const desc = o.order?.toUpperCase() === 'DESC';
            const nullsLast = o.nulls ? o.nulls.toUpperCase() === 'LAST' : false;
            return { path, desc, nullsLast };
        });
        rows = [...rows].sort((a, b) => {
            for (const k of keys) {
                const x = normalise(valueAt(ctx, type, a, k.path)) ?? null;
                const y = normalise(valueAt(ctx, type, b, k.path)) ?? null;
                if (x === null && y === null) continue;
                if (x === null) return k.nullsLast ? 1 : -1;
                if (y === null) return k.nullsLast ? -1 : 1;
                const c = compare(x, y) ?? 0;
                if (c !== 0) return k.desc ? -c : c;
            }
            return 0;
        });
    }
    if (parsed.offset !== undefined) rows = rows.slice(parsed.offset);
    if (parsed.limit !== undefined) rows = rows.slice(0, parsed.limit);
    if (isCount) return { type, records: undefined, totalSize: rows.length };
    return { type, records: rows.map((r) => shape(ctx, type, r, paths)), totalSize: rows.length };
}
