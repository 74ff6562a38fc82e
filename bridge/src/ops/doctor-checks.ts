import { existsSync } from 'node:fs';
import path from 'node:path';
import type { BridgeConfig } from '../config/env';
import type { BridgeSettings } from '../config/mapping-file';
import { isBridgeError } from '../core/errors';
import { jwtExpiry, refusalHint, TRACT_TIMESTAMP_TOLERANCE_MS, tractCallOptions } from '../haptik/tract-auth';
import type { BearerSource, TokenRefusal } from '../haptik/tract-auth';
import { createHaptikClient } from '../haptik/haptik-client';
import type { TractHook } from '../haptik/tract-hooks-client';
import { createTractHooksClient } from '../haptik/tract-hooks-client';
import type { Logger } from '../observability/logger';
import { createMetrics } from '../observability/metrics';
import { createScrtClient } from '../salesforce/enhanced-chat/scrt-client';
import { createSalesforceClient } from '../salesforce/salesforce-client';
import type { SalesforceClient } from '../salesforce/salesforce-client';
import { migrationStatus } from '../store/migrate';
import { connectDb, describePostgresUrl } from '../store/open-db';
import { checkByocChannel, checkByocEvents } from './doctor-byoc';
import { failed, ok, skipped, statusOf } from './doctor-result';
import type { CheckResult, CheckStatus } from './doctor-result';
import { BRIDGE_TRACT_HOOKS, displayUrl, planHooks } from './tract-hook-plan';

/**
 * The checks of `npm run doctor`: one configuration against the live systems it names. Each check
 * answers ok, failed (with what to fix) or skipped (with why); none changes anything outside: no Case
 * is written, no conversation opened, no migration applied, no hook registered. Texts carry no secrets
 * and no personal data: URLs, API names and counts only.
 */
export type { CheckResult, CheckStatus } from './doctor-result';

export interface DoctorOptions {
    config: BridgeConfig;
    settings: BridgeSettings;
    /** The bridge's public base URL (normalised), to compare the TRACT hooks with; unset skips that check. */
    bridgeUrl?: string | undefined;
    logger: Logger;
    /** Per outside call; default 15 s. */
    timeoutMs?: number;
    fetch?: typeof fetch;
}

/** The Case fields of contract §4, shipped in force-app. */
export const CONTRACT_CASE_FIELDS: readonly string[] = [
    'Haptik_Conversation_Key__c',
    'Haptik_Event_Key__c',
    'Haptik_User_Id__c',
    'Haptik_Channel__c',
    'Haptik_Bot_Context__c',
    'Haptik_Transcript__c'
];

/**
 * Standard Case fields the bridge writes whatever the templates say (Case Status takes no field-level security,
 * so it is never missing), and those a template writes when it sets them.
 */
const ALWAYS_WRITTEN_CASE_FIELDS = ['Subject', 'Description', 'Origin', 'ContactId', 'AccountId'];
const TEMPLATE_CASE_FIELDS = {
    type: 'Type',
    reason: 'Reason',
    priority: 'Priority',
    suppliedName: 'SuppliedName',
    suppliedEmail: 'SuppliedEmail',
    suppliedPhone: 'SuppliedPhone',
    suppliedCompany: 'SuppliedCompany'
} as const;

const DEFAULT_TIMEOUT_MS = 15_000;
const PACKAGE_FIX =
    'install the package (force-app/main, see README "For Salesforce admins") in this org and assign the ' +
    'Haptik_Integration permission set to the integration user';
const PERMISSION_FIX =
    'assign the Haptik_Integration permission set to the integration user (it grants edit access to the Haptik ' +
    'Case fields); check that no other field-level security setting makes them read-only';

function messageOf(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}

/** The bridge's error messages end with what to check ("… . Check X, …"): split that off as the fix. */
function splitHint(message: string): { what: string; hint: string | undefined } {
    const at = message.lastIndexOf('. Check ');
    if (at < 0) return { what: message, hint: undefined };
    return { what: message.slice(0, at + 1), hint: message.slice(at + 2) };
}

export async function runDoctorChecks(options: DoctorOptions): Promise<CheckResult[]> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const { config, logger } = options;
    const doFetch = options.fetch ?? fetch;
    const salesforce = createSalesforceClient(config.salesforce, {
        logger,
        metrics: createMetrics(),
        timeoutMs,
        // One quick retry for a blip; a doctor that waits minutes is no help.
        retry: { attempts: 2, baseMs: 200, maxMs: 500 }
    });

    const results: CheckResult[] = [];
    const auth = await checkSalesforceAuth(salesforce, config);
    results.push(auth);
    results.push(
        auth.status === 'ok'
            ? await checkCaseFields(salesforce, options.settings)
            : skipped('Case fields', 'needs a working Salesforce login (above)')
    );
    results.push(await checkChatEndpoint(config, logger, doFetch, timeoutMs));
    if (config.salesforce.chat.api === 'byoc') results.push(await checkByocEvents(config, doFetch, timeoutMs));
    results.push(checkInboundAuth(config));
    const tract = tractCallOptions(config.haptik, { logger, fetch: doFetch, timeoutMs });
    const token = await checkTractToken(config, tract.bearer);
    results.push(token);
    const haptik =
        token.status === 'failed'
            ? { result: skipped('Haptik credentials', 'needs a TRACT token (above)') }
            : await checkHaptik(config, tract);
    results.push(haptik.result);
    results.push(await checkHaptikApiToken(config, logger, doFetch, timeoutMs));
    results.push(await checkDatabase(config, logger));
    results.push(checkHooks(options.bridgeUrl, haptik.hooks, config.haptik.hookToken));
    return results;
}

export async function checkSalesforceAuth(salesforce: SalesforceClient, config: BridgeConfig): Promise<CheckResult> {
    const title = 'Salesforce login';
    const sf = config.salesforce;
    try {
        await salesforce.authorize();
        return ok(title, `${sf.auth.kind} token from ${sf.loginUrl}`);
    } catch (error) {
        if (isBridgeError(error, 'bridge_salesforce_auth_failed')) {
            const { what, hint } = splitHint(messageOf(error));
            return failed(title, what, hint ?? 'check SF_CLIENT_ID and its secret or key');
        }
        return failed(
            title,
            `no answer from ${sf.loginUrl}: ${messageOf(error)}`,
            "check SF_LOGIN_URL (https://login.salesforce.com, https://test.salesforce.com or the org's My Domain URL) and that this host can reach it"
        );
    }
}

export async function checkCaseFields(salesforce: SalesforceClient, settings: BridgeSettings): Promise<CheckResult> {
    const title = 'Case fields';
    let fields: Map<string, { createable: boolean; updateable: boolean }>;
    try {
        const describe = await salesforce.describe('Case');
        fields = new Map(describe.fields.map((f) => [f.name.toLowerCase(), f]));
    } catch (error) {
        return failed(
            title,
            `the integration user cannot describe Case: ${messageOf(error)}`,
            `${PERMISSION_FIX}; the user needs the API Enabled permission and read access to Case`
        );
    }
    const missing = CONTRACT_CASE_FIELDS.filter((name) => !fields.has(name.toLowerCase()));
    const readOnly = CONTRACT_CASE_FIELDS.filter((name) => {
        const field = fields.get(name.toLowerCase());
        return field !== undefined && !(field.createable && field.updateable);
    });
    // Custom fields the admin mapped in case templates must be there too, or those Cases are rejected.
    const mapped = new Set<string>();
    for (const template of Object.values(settings.cases.templates)) {
        for (const name of Object.keys(template.fields)) mapped.add(name);
    }
    const mappedProblems = [...mapped].filter((name) => fields.get(name.toLowerCase())?.createable !== true);
    const standard = new Set(ALWAYS_WRITTEN_CASE_FIELDS);
    for (const template of Object.values(settings.cases.templates)) {
        for (const [key, field] of Object.entries(TEMPLATE_CASE_FIELDS)) {
            if (template[key as keyof typeof TEMPLATE_CASE_FIELDS] !== undefined) standard.add(field);
        }
    }
    const standardProblems = [...standard].filter((name) => fields.get(name.toLowerCase())?.createable !== true);

    const problems: string[] = [];
    const fixes: string[] = [];
    if (missing.length > 0) {
        problems.push(`missing or not visible to the integration user: ${missing.join(', ')}`);
        fixes.push(PACKAGE_FIX);
    }
    if (readOnly.length > 0) {
        problems.push(`read-only for the integration user: ${readOnly.join(', ')}`);
        fixes.push(PERMISSION_FIX);
    }
    if (standardProblems.length > 0) {
        problems.push(
            `standard fields the bridge writes but the integration user cannot: ${standardProblems.join(', ')}`
        );
        fixes.push(
            'assign the Haptik_Integration permission set (it grants them); a profile or permission set of your own must not take them away'
        );
    }
    if (mappedProblems.length > 0) {
        problems.push(
            `named in the mapping file's case templates but missing or not writable: ${mappedProblems.join(', ')}`
        );
        fixes.push('create those fields and give the integration user edit access, or fix BRIDGE_CONFIG_FILE');
    }
    if (problems.length > 0) return failed(title, problems.join('; '), fixes.join('; '));
    const extra = mapped.size > 0 ? ` and the ${mapped.size} mapped field(s)` : '';
    return ok(title, `all ${CONTRACT_CASE_FIELDS.length} Haptik fields${extra} exist and are writable`);
}

export async function checkChatEndpoint(
    config: BridgeConfig,
    logger: Logger,
    doFetch: typeof fetch,
    timeoutMs: number
): Promise<CheckResult> {
    const chat = config.salesforce.chat;
    if (chat.api === 'legacy') return checkLiveAgent(config, doFetch, timeoutMs);
    if (chat.api === 'byoc') return checkByocChannel(config, logger, doFetch, timeoutMs);
    const title = 'Enhanced Chat deployment';
    const scrt = createScrtClient({
        scrtUrl: chat.scrtUrl,
        orgId: config.salesforce.orgId,
        esDeveloperName: chat.esDeveloperName,
        logger,
        fetch: doFetch,
        retry: { attempts: 1, baseMs: 0, maxMs: 0 },
        requestTimeoutMs: timeoutMs
    });
    try {
        // A token only: no conversation is created, so nothing reaches an agent's queue.
        await scrt.unauthenticatedToken();
        return ok(title, `${chat.scrtUrl} issued a guest access token for ${chat.esDeveloperName}`);
    } catch (error) {
        const status = statusOf(error);
        if (status === undefined) {
            return failed(
                title,
                `no answer from SF_SCRT_URL ${chat.scrtUrl}`,
                'check SF_SCRT_URL: the SCRT2 URL from Setup > Embedded Service Deployments > your deployment > Code Snippet (https://<my-domain>.my.salesforce-scrt.com)'
            );
        }
        if (status === 400 || status === 401 || status === 403 || status === 404) {
            return failed(
                title,
                `${chat.scrtUrl} refused a token for ${chat.esDeveloperName} (HTTP ${status})`,
                status === 404
                    ? 'check SF_SCRT_URL: it must be the SCRT2 host of the org, not the My Domain or login URL'
                    : 'check SF_ES_DEVELOPER_NAME (the API name of a published Embedded Service deployment of type Custom Client) and SF_ORG_ID'
            );
        }
        return failed(
            title,
            `${chat.scrtUrl} is unavailable (HTTP ${status})`,
            'Salesforce answered with an error; try again later, and check status.salesforce.com'
        );
    }
}

/** Legacy Chat: the Availability resource needs no session, so asking it opens nothing (salesforce.md §2.3). */
async function checkLiveAgent(config: BridgeConfig, doFetch: typeof fetch, timeoutMs: number): Promise<CheckResult> {
    const chat = config.salesforce.chat;
    const title = 'Legacy Chat endpoint';
    if (chat.api !== 'legacy') throw new Error('checkLiveAgent needs SF_CHAT_API=legacy');
    const query = new URLSearchParams({
        org_id: config.salesforce.orgId.slice(0, 15),
        deployment_id: chat.deploymentId.slice(0, 15),
        'Availability.ids': chat.buttonId.slice(0, 15)
    });
    const url = `${chat.liveAgentUrl}/rest/Visitor/Availability?${query.toString()}`;
    let response: Response;
    try {
        response = await doFetch(url, {
            headers: {
                Accept: 'application/json',
                'X-LIVEAGENT-API-VERSION': config.salesforce.apiVersion.replace(/\.0$/, '')
            },
            signal: AbortSignal.timeout(timeoutMs)
        });
    } catch {
        return failed(
            title,
            `no answer from SF_LIVEAGENT_URL ${chat.liveAgentUrl}`,
            'check SF_LIVEAGENT_URL: the Chat API Endpoint from Setup > Chat Settings, ending in /chat'
        );
    }
    const text = await response.text().catch(() => '');
    if (!response.ok) {
        return failed(
            title,
            `${chat.liveAgentUrl} answered HTTP ${response.status} to Visitor/Availability`,
            response.status >= 500
                ? 'Salesforce answered with an error; try again later'
                : 'check SF_LIVEAGENT_URL, SF_ORG_ID and SF_LIVEAGENT_DEPLOYMENT_ID (572…)'
        );
    }
    const answer = availabilityOf(text);
    if (answer.switchServer !== undefined) {
        return failed(
            title,
            `the org's Chat endpoint moved to ${answer.switchServer}`,
            'set SF_LIVEAGENT_URL to the Chat API Endpoint shown in Setup > Chat Settings'
        );
    }
    const buttonId = chat.buttonId.slice(0, 15);
    const result = answer.results.find((r) => r.id.slice(0, 15) === buttonId);
    if (result === undefined) {
        return failed(
            title,
            `the deployment does not know button ${chat.buttonId}`,
            'check SF_LIVEAGENT_BUTTON_ID (573…) and SF_LIVEAGENT_DEPLOYMENT_ID (572…): the button must belong to the deployment'
        );
    }
    // Salesforce reports an unknown button like one without agents, so "not available" is only a note.
    return ok(
        title,
        `${chat.liveAgentUrl} answers for button ${chat.buttonId}` +
            (result.isAvailable
                ? ' (agents available now)'
                : ' (no agent available now; if agents are online, check SF_LIVEAGENT_BUTTON_ID)')
    );
}

interface AvailabilityAnswer {
    results: Array<{ id: string; isAvailable: boolean }>;
    switchServer?: string;
}

/** `{results}` as the reference shows it, or wrapped in `{messages: [{type: "Availability", message}]}` as served. */
function availabilityOf(text: string): AvailabilityAnswer {
    let body: unknown;
    try {
        body = JSON.parse(text) as unknown;
    } catch {
        return { results: [] };
    }
    const record = (value: unknown): Record<string, unknown> =>
        typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
    const results: AvailabilityAnswer['results'] = [];
    let switchServer: string | undefined;
    const take = (value: unknown): void => {
        if (!Array.isArray(value)) return;
        for (const item of value) {
            const r = record(item);
            if (typeof r.id === 'string') results.push({ id: r.id, isAvailable: r.isAvailable === true });
        }
    };
    take(record(body).results);
    const messages = record(body).messages;
    if (Array.isArray(messages)) {
        for (const m of messages) {
            const message = record(record(m).message);
            if (record(m).type === 'SwitchServer' && typeof message.newUrl === 'string') switchServer = message.newUrl;
            take(message.results);
        }
    }
    return switchServer === undefined ? { results } : { results, switchServer };
}

/** Which inbound authentication the bridge can check (contract §2); TRACT's hooks need the hook token. */
export function checkInboundAuth(config: BridgeConfig): CheckResult {
    const title = 'Inbound authentication';
    const { webhookSecret, hookToken } = config.haptik;
    if (hookToken === undefined) {
        return failed(
            title,
            'HAPTIK_HOOK_TOKEN is not set: TRACT does not sign its hooks, so its calls to /haptik/tract/… would get 401 (no handover starts, no user message reaches an agent)',
            'set HAPTIK_HOOK_TOKEN (at least 24 characters, e.g. `openssl rand -hex 32`), restart the bridge and run npm run register-hooks'
        );
    }
    return ok(
        title,
        webhookSecret === undefined
            ? 'hook URLs with ?key= (HAPTIK_HOOK_TOKEN); no HAPTIK_WEBHOOK_SECRET, so the Bot API webhook and integration nodes need URLs with ?key= too'
            : 'signed requests (HAPTIK_WEBHOOK_SECRET) and hook URLs with ?key= (HAPTIK_HOOK_TOKEN)'
    );
}

const REFUSAL_TITLES: Record<TokenRefusal, string> = {
    timestamp: 'timestamp outside the 150 s tolerance',
    certificate: 'certificate not accepted',
    signature: 'signature does not verify',
    client: 'client id or FQDN unknown',
    unknown: 'request refused'
};

/** Issues a TRACT token with the HAPTIK_TRACT_* settings and says exactly what Haptik refused. */
export async function checkTractToken(config: BridgeConfig, bearer: BearerSource): Promise<CheckResult> {
    const title = 'TRACT token';
    const auth = config.haptik.tract.auth;
    const url = config.haptik.tract.url;
    if (auth === undefined) {
        return skipped(title, 'the HAPTIK_TRACT_* variables are not set: TRACT calls send HAPTIK_API_TOKEN');
    }
    try {
        const token = await bearer.token();
        const exp = jwtExpiry(token);
        const life =
            exp === undefined
                ? 'no expiry in the token'
                : `valid for ${Math.max(0, Math.round((exp - Date.now()) / 60_000))} min`;
        const cert = 'uuid' in auth.certificate ? `certificate ${auth.certificate.uuid}` : 'the certificate chain';
        return ok(title, `${url} issued a token for ${auth.clientId} (${auth.fqdn}, ${cert}; ${life})`);
    } catch (error) {
        if (isBridgeError(error, 'bridge_haptik_tract_token_refused')) {
            const refusal = (error.details['refusal'] as TokenRefusal | undefined) ?? 'unknown';
            const haptikError = error.details['haptikError'];
            const skewMs = error.details['skewMs'];
            const skew =
                typeof skewMs === 'number' && Math.abs(skewMs) > TRACT_TIMESTAMP_TOLERANCE_MS / 10
                    ? `; this host's clock is ${Math.round(Math.abs(skewMs) / 1000)} s ${skewMs > 0 ? 'behind' : 'ahead of'} Haptik's`
                    : '';
            return failed(
                title,
                `${REFUSAL_TITLES[refusal]}: ${url} answered HTTP ${String(error.details['status'])}` +
                    `${typeof haptikError === 'string' ? ` "${haptikError}"` : ''}${skew}`,
                refusalHint(refusal)
            );
        }
        const status = statusOf(error);
        return failed(
            title,
            status === undefined
                ? `no answer from HAPTIK_TRACT_URL ${url} to the token request`
                : `${url} answered HTTP ${status} to the token request`,
            status === 404
                ? 'check HAPTIK_TRACT_URL: the TRACT base URL Haptik pre-shared (the token request goes to /tract/management/token/issue/)'
                : 'check HAPTIK_TRACT_URL and that this host can reach it; try again later if Haptik answered with an error'
        );
    }
}

export async function checkHaptik(
    config: BridgeConfig,
    tract: Parameters<typeof createTractHooksClient>[0]
): Promise<{ result: CheckResult; hooks?: TractHook[] }> {
    const title = 'Haptik credentials';
    const url = config.haptik.tract.url;
    const settings =
        config.haptik.tract.auth === undefined
            ? 'HAPTIK_CLIENT_ID / HAPTIK_API_TOKEN: the client id from Business Manager > View Credentials and its API token'
            : 'HAPTIK_CLIENT_ID and the HAPTIK_TRACT_* settings: the token was issued but TRACT refuses it';
    const client = createTractHooksClient(tract);
    try {
        const hooks = await client.list();
        return {
            result: ok(title, `${url} accepted them (TRACT hooks listed)`),
            hooks
        };
    } catch (error) {
        const status = statusOf(error);
        if (status === 401 || status === 403) {
            return {
                result: failed(title, `${url} rejected the credentials (HTTP ${status})`, `check ${settings}`)
            };
        }
        if (status === undefined) {
            return {
                result: failed(
                    title,
                    `no answer from HAPTIK_TRACT_URL ${url}`,
                    'check HAPTIK_TRACT_URL (default HAPTIK_BASE_URL) and that this host can reach it'
                )
            };
        }
        return {
            result: failed(
                title,
                `${url} answered HTTP ${status} to /tract/hooks/list/`,
                status === 404
                    ? 'check HAPTIK_TRACT_URL (default HAPTIK_BASE_URL): it must be the base URL that serves TRACT'
                    : 'Haptik answered with an error; try again later, or ask Haptik to enable TRACT for this client'
            )
        };
    }
}

/**
 * The Business Manager token of the integration APIs (get_chat_history, for transcripts): a history read
 * for a user that does not exist changes nothing; only 401/403 say the token is wrong.
 */
export async function checkHaptikApiToken(
    config: BridgeConfig,
    logger: Logger,
    doFetch: typeof fetch,
    timeoutMs: number
): Promise<CheckResult> {
    const title = 'Haptik API token';
    const client = createHaptikClient({ ...config.haptik, logger, fetch: doFetch, timeoutMs });
    try {
        await client.getChatHistory({ userName: 'haptik-bridge-doctor', conversationNo: 0 });
    } catch (error) {
        const status = statusOf(error);
        if (status === 401 || status === 403) {
            return failed(
                title,
                `${config.haptik.baseUrl} rejected the credentials (HTTP ${status}) on get_chat_history`,
                'check HAPTIK_CLIENT_ID / HAPTIK_API_TOKEN: the client id from Business Manager > View Credentials and its API token'
            );
        }
        if (status === undefined && !isBridgeError(error, 'bridge_haptik_rejected')) {
            return failed(
                title,
                `no answer from HAPTIK_BASE_URL ${config.haptik.baseUrl}`,
                'check HAPTIK_BASE_URL and that this host can reach it'
            );
        }
    }
    return ok(title, `${config.haptik.baseUrl} accepted it (chat history API)`);
}

export async function checkDatabase(config: BridgeConfig, logger: Logger): Promise<CheckResult> {
    const title = 'Database';
    const { url, dataDir } = config.database;
    const where =
        url === undefined ? `embedded database in ${path.resolve(dataDir)}` : `PostgreSQL ${describePostgresUrl(url)}`;
    if (url === undefined && !existsSync(path.resolve(dataDir))) {
        // Opening it here would create it; the bridge does that itself, with its schema, at first start.
        return ok(title, `${where} does not exist yet; the bridge creates and migrates it at its first start`);
    }
    let db;
    try {
        db = await connectDb({ url, dataDir }, logger);
    } catch (error) {
        const { what, hint } = splitHint(messageOf(error));
        return failed(title, what, hint ?? 'check DATABASE_URL or BRIDGE_DATA_DIR');
    }
    try {
        const status = await migrationStatus(db);
        if (status.unknown.length > 0) {
            return failed(
                title,
                `${where} was migrated by a newer bridge (schema versions ${status.unknown.join(', ')} are unknown to this one)`,
                'run the bridge version that migrated it, or restore the backup taken before the upgrade'
            );
        }
        if (status.pending.length === 0) {
            return ok(title, `${where} is reachable and at schema version ${Math.max(0, ...status.applied)}`);
        }
        const names = status.pending.map((m) => `${m.version} ${m.name}`).join(', ');
        return ok(
            title,
            `${where} is reachable; ${status.pending.length} migration(s) not applied yet (${names}): ` +
                'the bridge applies them when it starts (npm start); its database user needs CREATE rights'
        );
    } catch (error) {
        return failed(
            title,
            `${where} is reachable but its schema cannot be read: ${messageOf(error)}`,
            'check that the database user may read the bridge tables (schema_migrations)'
        );
    } finally {
        await db.close().catch(() => undefined);
    }
}

export function checkHooks(
    bridgeUrl: string | undefined,
    registered: readonly TractHook[] | undefined,
    hookToken: string | undefined
): CheckResult {
    const title = 'TRACT hooks';
    if (bridgeUrl === undefined) {
        return skipped(title, 'give --bridge-url https://… or set BRIDGE_PUBLIC_URL to check where they point');
    }
    if (registered === undefined) return skipped(title, 'needs working Haptik credentials (above)');
    if (hookToken === undefined) return skipped(title, 'needs HAPTIK_HOOK_TOKEN (above): the hook URLs carry it');
    const plan = planHooks(bridgeUrl, registered, hookToken);
    const missing = plan.filter((p) => p.action === 'register').map((p) => `${p.hook.category}/${p.hook.subcategory}`);
    const elsewhere = plan
        .filter((p) => p.action === 'update')
        .map((p) => `${p.hook.category}/${p.hook.subcategory} -> ${displayUrl(p.currentUrl ?? '?', hookToken)}`);
    if (missing.length === 0 && elsewhere.length === 0) {
        return ok(title, `all ${BRIDGE_TRACT_HOOKS.length} hooks point at ${bridgeUrl} with the hook key`);
    }
    const problems = [
        ...(missing.length > 0 ? [`not registered: ${missing.join(', ')}`] : []),
        ...(elsewhere.length > 0 ? [`pointing elsewhere or without the current key: ${elsewhere.join(', ')}`] : [])
    ];
    return failed(title, problems.join('; '), `run: npm run register-hooks -- --bridge-url ${bridgeUrl}`);
}

const MARKS: Record<CheckStatus, string> = { ok: '✔', failed: '✘', skipped: '-' };

/** The checklist as printed: one line per check, a `fix:` line under each failure. */
export function formatChecklist(results: readonly CheckResult[]): string {
    const lines: string[] = [];
    for (const result of results) {
        lines.push(`${MARKS[result.status]} ${result.title}: ${result.detail}`);
        if (result.status === 'failed' && result.fix !== undefined && result.fix !== '') {
            lines.push(`    fix: ${result.fix}`);
        }
    }
    const failures = results.filter((r) => r.status === 'failed').length;
    lines.push('');
    lines.push(failures === 0 ? 'All checks passed.' : `${failures} check(s) failed.`);
    return lines.join('\n');
}
