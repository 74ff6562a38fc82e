import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020';
import type { ValidateFunction } from 'ajv/dist/2020';
import { parse } from 'yaml';
import { z } from 'zod';
import { haptikRouteSchemas } from '../../bridge/src/haptik/payloads';
import { createApp } from '../../bridge/src/http/app';
import { HAPTIK_ROUTES } from '../../bridge/src/http/haptik-routes';
import { silentLogger } from '../../bridge/src/observability/logger';
import { createMetrics } from '../../bridge/src/observability/metrics';
import { sendToBridge } from '../emulators/haptik/haptik-sender';
import { SANDBOX_CREDENTIALS, startSandbox } from '../emulators/sandbox';
import type { Sandbox } from '../emulators/sandbox';
import { listExpressRoutes } from '../support/express-routes';

/**
 * docs/openapi.yaml against the code: a valid OpenAPI 3.1 document, the same routes the app serves, request
 * schemas with the fields payloads.ts requires, and examples that validate and that a running bridge accepts.
 */
const ROOT = path.resolve(__dirname, '../..');
const DOC_FILE = path.join(ROOT, 'docs/openapi.yaml');
const VALIDATOR_CLI = path.join(ROOT, 'node_modules/@seriousme/openapi-schema-validator/bin/validate-api-cli.js');
const ADMIN_TOKEN = 'openapi-test-admin-token-0123';
const DOC_ID = 'urn:haptik-bridge:openapi';
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

type Json = Record<string, unknown>;

interface Example {
    name: string;
    value: unknown;
}

interface Operation {
    method: string;
    path: string;
    spec: Json;
}

const doc = parse(readFileSync(DOC_FILE, 'utf8')) as Json;

function isObject(value: unknown): value is Json {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asObject(value: unknown, where: string): Json {
    if (!isObject(value)) throw new Error(`${where} is not an object`);
    return value;
}

/** Follows a local `$ref` (components only) to its target. */
function deref(value: unknown): Json {
    const object = asObject(value, 'reference');
    const ref = object.$ref;
    if (typeof ref !== 'string') return object;
    let target: unknown = doc;
    for (const part of ref.replace(/^#\//, '').split('/')) target = asObject(target, ref)[part];
    return deref(target);
}

function operations(): Operation[] {
    const out: Operation[] = [];
    for (const [route, item] of Object.entries(asObject(doc.paths, 'paths'))) {
        for (const method of METHODS) {
            const spec = asObject(item, route)[method];
            if (isObject(spec)) out.push({ method: method.toUpperCase(), path: route, spec });
        }
    }
    return out;
}

function examplesOf(holder: Json): Example[] {
    const out: Example[] = [];
    if ('example' in holder) out.push({ name: 'example', value: holder.example });
    if (isObject(holder.examples)) {
        for (const [name, example] of Object.entries(holder.examples)) {
            out.push({ name, value: deref(example).value });
        }
    }
    return out;
}

function requestContent(operation: Operation): Json | undefined {
    if (operation.spec.requestBody === undefined) return undefined;
    return asObject(asObject(deref(operation.spec.requestBody).content, 'content')['application/json'], 'json');
}

function parametersOf(operation: Operation): Json[] {
    const list = operation.spec.parameters;
    return Array.isArray(list) ? list.map((p) => deref(p)) : [];
}

function securityOf(operation: Operation): string[] {
    const list = Array.isArray(operation.spec.security) ? operation.spec.security : [];
    return list.flatMap((requirement) => Object.keys(asObject(requirement, 'security')));
}

/** Component refs become refs into one schema registered under DOC_ID, so ajv resolves them. */
function retarget(schema: unknown): unknown {
    if (Array.isArray(schema)) return schema.map(retarget);
    if (!isObject(schema)) return schema;
    const out: Json = {};
    for (const [key, value] of Object.entries(schema)) {
        out[key] =
            key === '$ref' && typeof value === 'string'
                ? value.replace('#/components/schemas/', `${DOC_ID}#/$defs/`)
                : retarget(value);
    }
    return out;
}

function createValidator(): (schema: unknown) => ValidateFunction {
    const ajv = new Ajv2020({ strict: true, strictTypes: false, allErrors: true, allowUnionTypes: true });
    ajv.addSchema({ $id: DOC_ID, $defs: retarget(asObject(doc.components, 'components').schemas) as Json });
    return (schema) => ajv.compile(retarget(schema) as Json);
}

/**
 * Every object level of a JSON schema by path (`.key`, `[]` for items, `{}` for map values): its property
 * names and required names. Branches of anyOf/oneOf/allOf merge into their path; if/then is left out.
 */
type Shape = Record<string, { properties: string[]; required: string[] }>;

function shapeOf(schema: unknown, resolve: (s: unknown) => unknown, at = '$', out: Shape = {}): Shape {
    const node = resolve(schema);
    if (!isObject(node)) return out;
    for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
        const branches = node[key];
        if (Array.isArray(branches)) for (const branch of branches) shapeOf(branch, resolve, at, out);
    }
    const types = Array.isArray(node.type) ? (node.type as unknown[]) : [node.type];
    if (types.includes('object') || isObject(node.properties)) {
        const entry = (out[at] ??= { properties: [], required: [] });
        const properties = isObject(node.properties) ? Object.keys(node.properties) : [];
        const required = Array.isArray(node.required) ? (node.required as string[]) : [];
        entry.properties = [...new Set([...entry.properties, ...properties])].sort();
        entry.required = [...new Set([...entry.required, ...required])].sort();
        for (const [name, child] of Object.entries(isObject(node.properties) ? node.properties : {})) {
            shapeOf(child, resolve, `${at}.${name}`, out);
        }
        if (isObject(node.additionalProperties)) shapeOf(node.additionalProperties, resolve, `${at}{}`, out);
    }
    if (isObject(node.items)) shapeOf(node.items, resolve, `${at}[]`, out);
    return out;
}

/** The URL of an operation with its path (and query) parameters filled from their first example. */
function urlOf(operation: Operation): string {
    let url = operation.path;
    const query = new URLSearchParams();
    for (const parameter of parametersOf(operation)) {
        const example = examplesOf(parameter)[0];
        if (example === undefined)
            throw new Error(`${operation.path}: parameter ${String(parameter.name)} has no example`);
        if (parameter.in === 'path') url = url.replace(`{${String(parameter.name)}}`, String(example.value));
        if (parameter.in === 'query') query.set(String(parameter.name), String(example.value));
    }
    return query.size > 0 ? `${url}?${query.toString()}` : url;
}

describe('docs/openapi.yaml', () => {
    const compile = createValidator();

    it('is a valid OpenAPI 3.1 document', async () => {
        expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
        const run = promisify(execFile);
        // The validator is ESM-only and jest runs CommonJS, so its CLI runs in its own process; it exits 1 when invalid.
        const { stdout } = await run(process.execPath, [VALIDATOR_CLI, DOC_FILE]).catch(
            (error: Error & { stdout?: string }) => ({
                stdout: error.stdout ?? JSON.stringify({ failed: error.message })
            })
        );
        expect(JSON.parse(stdout)).toEqual({ valid: true });
    });

    it('documents exactly the routes the app serves, admin routes included', () => {
        const app = createApp({
            webhookSecret: 'secret',
            adminToken: ADMIN_TOKEN,
            logger: silentLogger(),
            metrics: createMetrics(),
            readiness: [],
            haptik: {}
        });
        const served = listExpressRoutes(app).map((r) => `${r.method} ${r.path}`);
        const documented = operations().map((o) => `${o.method} ${o.path}`);

        expect(served.length).toBeGreaterThanOrEqual(12);
        expect([...documented].sort()).toEqual([...served].sort());
    });

    it('signs every /haptik/ operation and puts a bearer token on every /admin/ operation', () => {
        for (const operation of operations()) {
            const expected = operation.path.startsWith('/haptik/')
                ? ['hubSignature', 'hubSignature256', 'hookKey']
                : operation.path.startsWith('/admin/')
                  ? ['adminBearer']
                  : [];
            expect({ route: operation.path, security: securityOf(operation) }).toEqual({
                route: operation.path,
                security: expected
            });
        }
    });

    it('documents the error answers of the Haptik routes with the {"error": {"code", "message"}} body', () => {
        for (const operation of operations().filter((o) => o.path.startsWith('/haptik/'))) {
            const responses = asObject(operation.spec.responses, 'responses');
            for (const status of ['400', '401', '413', '500']) {
                const schema = asObject(
                    asObject(deref(responses[status]).content, 'content')['application/json'],
                    'json'
                ).schema;
                expect({ route: operation.path, status, schema }).toEqual({
                    route: operation.path,
                    status,
                    schema: { $ref: '#/components/schemas/Error' }
                });
            }
        }
    });

    it('has request schemas with the fields and required fields of payloads.ts', () => {
        const resolveDoc = (schema: unknown): unknown => (isObject(schema) ? deref(schema) : schema);
        const same = (schema: unknown): unknown => schema;
        for (const route of Object.values(HAPTIK_ROUTES)) {
            const docPath = `/haptik${route.path}`.replace(/:(\w+)/g, '{$1}');
            const operation = operations().find((o) => o.path === docPath && o.method === 'POST');
            if (operation === undefined) throw new Error(`${docPath} is not documented`);
            const documented = shapeOf(requestContent(operation)?.schema, resolveDoc);
            const fromCode = shapeOf(
                z.toJSONSchema(haptikRouteSchemas[route.name], { io: 'input', unrepresentable: 'any' }),
                same
            );
            expect({ route: docPath, shape: documented }).toEqual({ route: docPath, shape: fromCode });
        }
    });

    it('has an example for every request body and every parameter, and each validates against its schema', () => {
        for (const operation of operations()) {
            const content = requestContent(operation);
            const checks: Array<{ where: string; schema: unknown; examples: Example[] }> = [];
            if (content !== undefined) {
                checks.push({ where: 'request', schema: content.schema, examples: examplesOf(content) });
            }
            for (const parameter of parametersOf(operation)) {
                checks.push({
                    where: `parameter ${String(parameter.name)}`,
                    schema: parameter.schema,
                    examples: examplesOf(parameter)
                });
            }
            for (const check of checks) {
                expect({ route: operation.path, where: check.where, hasExamples: check.examples.length > 0 }).toEqual({
                    route: operation.path,
                    where: check.where,
                    hasExamples: true
                });
                const validate = compile(check.schema);
                for (const example of check.examples) {
                    const valid = validate(example.value);
                    expect({
                        route: operation.path,
                        where: check.where,
                        example: example.name,
                        errors: validate.errors
                    }).toEqual({ route: operation.path, where: check.where, example: example.name, errors: null });
                    expect(valid).toBe(true);
                }
            }
        }
    });

    it('has response examples that validate against their schemas', () => {
        for (const operation of operations()) {
            for (const [status, response] of Object.entries(asObject(operation.spec.responses, 'responses'))) {
                const content = deref(response).content;
                if (!isObject(content)) continue;
                for (const [type, media] of Object.entries(content)) {
                    const validate = compile(asObject(media, type).schema);
                    for (const example of examplesOf(asObject(media, type))) {
                        validate(example.value);
                        expect({
                            route: operation.path,
                            status,
                            example: example.name,
                            errors: validate.errors
                        }).toEqual({
                            route: operation.path,
                            status,
                            example: example.name,
                            errors: null
                        });
                    }
                }
            }
        }
    });

    describe('against a running bridge with the emulators', () => {
        let sandbox: Sandbox;

        beforeAll(async () => {
            sandbox = await startSandbox({ env: { BRIDGE_ADMIN_TOKEN: ADMIN_TOKEN } });
        }, 60_000);

        afterAll(async () => {
            await sandbox?.stop();
        });

        async function send(
            operation: Operation,
            body: unknown,
            signed: 'sha1' | 'sha256' | 'key' | 'none'
        ): Promise<{ status: number; body: unknown }> {
            const security = securityOf(operation);
            if (security.includes('hubSignature')) {
                return sendToBridge(sandbox.bridge.url, urlOf(operation), body, {
                    secret: SANDBOX_CREDENTIALS.webhookSecret,
                    hookToken: SANDBOX_CREDENTIALS.hookToken,
                    ...(signed === 'none'
                        ? { auth: 'none' as const }
                        : signed === 'key'
                          ? { auth: 'key' as const }
                          : { algorithm: signed })
                });
            }
            const headers: Record<string, string> = security.includes('adminBearer')
                ? { Authorization: `Bearer ${ADMIN_TOKEN}` }
                : {};
            const response = await fetch(`${sandbox.bridge.url}${urlOf(operation)}`, {
                method: operation.method,
                headers
            });
            const text = await response.text();
            const json = (response.headers.get('content-type') ?? '').includes('application/json');
            return { status: response.status, body: json ? (JSON.parse(text) as unknown) : text };
        }

        function expectDocumentedAnswer(
            operation: Operation,
            result: { status: number; body: unknown },
            label: string
        ) {
            const responses = asObject(operation.spec.responses, 'responses');
            expect({ route: operation.path, example: label, status: result.status, documented: true }).toEqual({
                route: operation.path,
                example: label,
                status: result.status,
                documented: String(result.status) in responses
            });
            const content = deref(responses[String(result.status)]).content;
            if (!isObject(content)) return;
            const media = asObject(content['application/json'] ?? content['text/plain'], 'media');
            const validate = compile(media.schema);
            validate(result.body);
            expect({ route: operation.path, example: label, errors: validate.errors }).toEqual({
                route: operation.path,
                example: label,
                errors: null
            });
        }

        it('accepts every signed or keyed request example and answers as documented', async () => {
            let sent = 0;
            for (const operation of operations()) {
                const content = requestContent(operation);
                const examples =
                    content === undefined ? [{ name: '(no body)', value: undefined }] : examplesOf(content);
                for (const example of examples) {
                    // Alternate the two signature headers and the hook key, so each is exercised against real examples.
                    const auth = (['sha1', 'sha256', 'key'] as const)[sent % 3]!;
                    const result = await send(operation, example.value, auth);
                    sent += 1;
                    expect({
                        route: operation.path,
                        example: example.name,
                        rejected: [400, 401].includes(result.status)
                    }).toEqual({ route: operation.path, example: example.name, rejected: false });
                    if (operation.path.startsWith('/haptik/')) {
                        expect({ route: operation.path, example: example.name, status: result.status }).toEqual({
                            route: operation.path,
                            example: example.name,
                            status: 200
                        });
                    }
                    expectDocumentedAnswer(operation, result, example.name);
                }
            }
            expect(sent).toBeGreaterThanOrEqual(operations().length);
        });

        it('answers a request example with neither signature nor key on every Haptik route with the documented 401', async () => {
            for (const operation of operations().filter((o) => o.path.startsWith('/haptik/'))) {
                const example = examplesOf(requestContent(operation) ?? {})[0];
                const result = await send(operation, example?.value, 'none');

                expect({ route: operation.path, status: result.status }).toEqual({
                    route: operation.path,
                    status: 401
                });
                expectDocumentedAnswer(operation, result, 'unsigned');
            }
        });
    });
});
