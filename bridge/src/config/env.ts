import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { BridgeError } from '../core/errors';
import { DEFAULT_FILE_TYPES, parseFileTypes } from '../files/file-names';
import { deriveLinkKey } from '../files/file-links';
import { HAPTIK_ASSET_HOSTS, parseHostRules } from '../files/host-rules';
import type { HostRule } from '../files/host-rules';

/**
 * The bridge's configuration (contract §1), parsed once at start-up from the environment and passed in.
 * Nothing else in the bridge reads process.env.
 */
export interface BridgeConfig {
    port: number;
    logLevel: string;
    database: { url: string | undefined; dataDir: string };
    configFile: string | undefined;
    adminToken: string | undefined;
    /** Retention periods (days; `days` 0 = keep everything) and how often retention runs. */
    retention: { days: number; doneJobDays: number; intervalMinutes: number };
    haptik: {
        baseUrl: string;
        clientId: string;
        apiToken: string;
        businessId: number;
        /** HAPTIK_WEBHOOK_SECRET: HMAC key of signed requests (Bot API webhook, integration nodes with a secret). */
        webhookSecret: string | undefined;
        /** HAPTIK_HOOK_TOKEN: `?key=` of the hook URLs the bridge registers (TRACT hooks carry no signature). */
        hookToken: string | undefined;
        tract: TractConfig;
    };
    salesforce: SalesforceConfig;
    files: FilesConfig;
}

/** Attachments (issue 18): where user files may come from, their limits, and the bridge's signed file links. */
export interface FilesConfig {
    /** BRIDGE_PUBLIC_URL without a trailing slash; unset: no file links (agents' files go out as a note). */
    publicUrl: string | undefined;
    /** BRIDGE_FILE_HOSTS. */
    hosts: HostRule[];
    /** BRIDGE_FILE_MAX_BYTES: larger files reach the agent as a link. */
    maxBytes: number;
    /** BRIDGE_FILE_TYPES. */
    allowedTypes: string[];
    /** BRIDGE_FILE_TIMEOUT_SECONDS × 1000: one download (or upload stream), start to end. */
    timeoutMs: number;
    /** BRIDGE_FILE_LINK_TTL_MINUTES × 60: how long a signed file link works. */
    linkTtlSeconds: number;
    /** HMAC key of file links: from BRIDGE_FILE_LINK_SECRET, else derived from the Haptik hook token/secret. */
    linkKey: Buffer;
    /**
     * BRIDGE_TRANSCRIPT_FILES: `link` also puts each file of a conversation on its transcript Case (a ContentVersion);
     * `off` (default) lists them in the transcript only.
     */
    transcriptFiles: 'off' | 'link';
}

/** TRACT (contract §3): its base URL, and the signed token issue when the HAPTIK_TRACT_* variables are set. */
export interface TractConfig {
    /** HAPTIK_TRACT_URL, else HAPTIK_BASE_URL. */
    url: string;
    /** Unset: TRACT calls send HAPTIK_API_TOKEN. */
    auth: TractAuthConfig | undefined;
}

export interface TractAuthConfig {
    /** HAPTIK_TRACT_CLIENT_ID: the client the token is issued for. */
    clientId: string;
    /** HAPTIK_TRACT_FQDN: the bridge's FQDN as pre-shared with Haptik (lower case). */
    fqdn: string;
    /** PEM RSA or ECDSA private key whose certificate Haptik holds. */
    privateKey: string;
    /** SignatureCertUUID (self-signed certificate) or SignatureCertChainUrl (CA-signed chain). */
    certificate: { uuid: string } | { chainUrl: string };
}

export type SalesforceAuth =
    | { kind: 'client_credentials'; clientId: string; clientSecret: string }
    | { kind: 'jwt'; clientId: string; username: string; privateKey: string };

export interface SalesforceConfig {
    loginUrl: string;
    auth: SalesforceAuth;
    apiVersion: string;
    orgId: string;
    chat:
        | { api: 'enhanced'; scrtUrl: string; esDeveloperName: string }
        | { api: 'legacy'; liveAgentUrl: string; deploymentId: string; buttonId: string }
        | ByocChatConfig;
}

/** SF_CHAT_API=byoc: Bring Your Own Channel (Interaction Service API + Pub/Sub API), contract §1. */
export interface ByocChatConfig {
    api: 'byoc';
    /** SF_SCRT_URL: the Interaction Service API host (`https://<MyDomain>.my.salesforce-scrt.com`). */
    scrtUrl: string;
    /** SF_BYOC_CHANNEL_ADDRESS: the Messaging channel's channel address identifier (`to`). */
    channelAddress: string;
    /** SF_BYOC_CHANNEL_DEFINITION: the ConversationChannelDefinition developer name (`AuthorizationContext`). */
    channelDefinition: string;
    /** SF_BYOC_EVENT: the platform event topic, `/event/<Name>__e`. */
    eventTopic: string;
    /**
     * SF_PUBSUB_URL as host:port, and how to connect: TLS with a verified certificate, or on a loopback host only
     * (the test emulators) TLS without verification (`https://`) or plaintext (`http://`).
     */
    pubsub: { endpoint: string; transport: 'tls' | 'tls-unverified' | 'plaintext' };
}

type Env = Readonly<Record<string, string | undefined>>;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** How to fix each variable, shown next to its problem. */
const HINTS: Record<string, string> = {
    PORT: 'a TCP port number, e.g. 3000',
    DATABASE_URL:
        'a postgres:// URL, e.g. postgres://user:password@host:5432/db, or leave it unset for the embedded database',
    BRIDGE_LOG_LEVEL: 'one of fatal, error, warn, info, debug, trace, silent',
    HAPTIK_BASE_URL: 'the base URL of the Haptik APIs, e.g. https://messenger.haptikapi.com',
    HAPTIK_CLIENT_ID: 'the client id from Haptik Business Manager > View Credentials',
    HAPTIK_API_TOKEN: 'the API token from Haptik Business Manager (or HAPTIK_API_TOKEN_FILE)',
    HAPTIK_BUSINESS_ID: 'the numeric Haptik business id, e.g. 343',
    HAPTIK_WEBHOOK_SECRET: 'the shared secret Haptik signs requests with (or HAPTIK_WEBHOOK_SECRET_FILE)',
    HAPTIK_HOOK_TOKEN:
        'a random secret of at least 24 letters, digits, "-", "_", "." or "~", e.g. the output of `openssl rand -hex 32` (or HAPTIK_HOOK_TOKEN_FILE)',
    HAPTIK_TRACT_URL: 'the TRACT base URL Haptik pre-shared with you, e.g. https://tract.haptikapi.com',
    HAPTIK_TRACT_CLIENT_ID: 'the client id the TRACT token is issued for (from Haptik onboarding)',
    HAPTIK_TRACT_FQDN:
        "the bridge's fully qualified domain name as pre-shared with Haptik, e.g. haptik-bridge.example.com",
    HAPTIK_TRACT_PRIVATE_KEY:
        'the PEM RSA or ECDSA private key whose certificate Haptik holds, or HAPTIK_TRACT_PRIVATE_KEY_FILE with its path',
    HAPTIK_TRACT_CERT_UUID: 'the certificate id Haptik returned for your self-signed certificate',
    HAPTIK_TRACT_CERT_CHAIN_URL: 'the https://<HAPTIK_TRACT_FQDN>/ect.api/… URL of your CA-signed certificate chain',
    SF_LOGIN_URL: 'https://login.salesforce.com, https://test.salesforce.com or your My Domain URL',
    SF_AUTH: 'client_credentials or jwt',
    SF_CLIENT_ID: 'the consumer key of the External Client App / Connected App',
    SF_CLIENT_SECRET: 'the consumer secret (needed for SF_AUTH=client_credentials; or SF_CLIENT_SECRET_FILE)',
    SF_USERNAME: 'the integration user name (needed for SF_AUTH=jwt)',
    SF_PRIVATE_KEY: 'the PEM private key for the JWT bearer flow, or SF_PRIVATE_KEY_FILE with its path',
    SF_API_VERSION: 'a REST API version such as 64.0',
    SF_ORG_ID: 'the 15- or 18-character org id starting with 00D (Setup > Company Information)',
    SF_CHAT_API: 'enhanced (Enhanced Chat API) or legacy (Live Agent Chat REST API)',
    SF_SCRT_URL:
        'the SCRT2 URL of the Enhanced Chat deployment or the BYOC channel, e.g. https://acme.my.salesforce-scrt.com',
    SF_BYOC_CHANNEL_ADDRESS:
        "the Messaging channel's channel address identifier (Setup > Messaging Settings > the channel)",
    SF_BYOC_CHANNEL_DEFINITION: 'the ConversationChannelDefinition developer name, e.g. Haptik_Bridge_Channel',
    SF_BYOC_EVENT: 'the platform event topic, e.g. /event/Haptik_Interaction__e',
    SF_PUBSUB_URL: 'the Pub/Sub API endpoint, e.g. https://api.pubsub.salesforce.com:7443',
    SF_ES_DEVELOPER_NAME: 'the API name of the Embedded Service deployment (Custom Client)',
    SF_LIVEAGENT_URL: 'the Chat API endpoint, e.g. https://d.la1-c2-ia2.salesforceliveagent.com/chat',
    SF_LIVEAGENT_DEPLOYMENT_ID: 'the chat deployment id (572…)',
    SF_LIVEAGENT_BUTTON_ID: 'the chat button id (573…)',
    BRIDGE_RETENTION_DAYS: 'a whole number of days, e.g. 30 (0 keeps everything)',
    BRIDGE_RETENTION_DONE_JOBS_DAYS: 'a whole number of days, at least 1, e.g. 7',
    BRIDGE_RETENTION_INTERVAL_MINUTES: 'a whole number of minutes, at least 1, e.g. 60',
    BRIDGE_PUBLIC_URL: "the bridge's public https:// base URL, e.g. https://haptik-bridge.example.com",
    BRIDGE_FILE_HOSTS: `comma-separated host, host:port or *.domain entries, e.g. ${HAPTIK_ASSET_HOSTS}`,
    BRIDGE_FILE_MAX_BYTES: 'a whole number of bytes between 1024 and 104857600, e.g. 5242880 (5 MiB)',
    BRIDGE_FILE_TYPES: 'comma-separated content types, type/subtype or type/*, e.g. image/*,application/pdf',
    BRIDGE_FILE_TIMEOUT_SECONDS: 'a whole number of seconds between 1 and 600, e.g. 60',
    BRIDGE_FILE_LINK_TTL_MINUTES: 'a whole number of minutes between 1 and 10080 (7 days), e.g. 60',
    BRIDGE_FILE_LINK_SECRET:
        'a random secret of at least 32 characters, e.g. `openssl rand -hex 32` (or BRIDGE_FILE_LINK_SECRET_FILE)',
    BRIDGE_TRANSCRIPT_FILES: 'off (the transcript lists the files) or link (each file is also put on the Case)'
};

/** Secrets may come from a file named by <NAME>_FILE (for Docker/Kubernetes secrets). */
const FILE_BACKED = [
    'HAPTIK_API_TOKEN',
    'HAPTIK_WEBHOOK_SECRET',
    'HAPTIK_HOOK_TOKEN',
    'HAPTIK_TRACT_PRIVATE_KEY',
    'SF_CLIENT_SECRET',
    'SF_PRIVATE_KEY',
    'BRIDGE_ADMIN_TOKEN',
    'BRIDGE_FILE_LINK_SECRET'
];

const optionalText = z
    .string()
    .trim()
    .transform((v) => (v === '' ? undefined : v))
    .optional();
const requiredText = z.string({ error: 'is missing' }).trim().min(1, { error: 'is missing' });
const httpUrl = z
    .string({ error: 'is missing' })
    .trim()
    .min(1, { error: 'is missing' })
    .refine((v) => /^https?:\/\/[^\s/]+/i.test(v) && URL.canParse(v), { error: 'is not an http(s) URL' })
    .transform((v) => v.replace(/\/+$/, ''));

const schema = z.object({
    PORT: z.coerce.number({ error: 'is not a number' }).int().min(0).max(65535).default(3000),
    BRIDGE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    DATABASE_URL: optionalText.refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
        error: 'is not a postgres:// URL'
    }),
    BRIDGE_DATA_DIR: optionalText.default('./data'),
    BRIDGE_CONFIG_FILE: optionalText,
    BRIDGE_ADMIN_TOKEN: optionalText.refine((v) => v === undefined || v.length >= 16, {
        error: 'is shorter than 16 characters'
    }),
    HAPTIK_BASE_URL: httpUrl,
    HAPTIK_CLIENT_ID: requiredText,
    HAPTIK_API_TOKEN: requiredText,
    HAPTIK_BUSINESS_ID: z
        .string({ error: 'is missing' })
        .trim()
        .regex(/^\d+$/, { error: 'is not a number' })
        .transform(Number),
    // One of the two inbound authentications is needed (dependentProblems); a deployment may use both.
    HAPTIK_WEBHOOK_SECRET: optionalText,
    HAPTIK_HOOK_TOKEN: optionalText
        .refine((v) => v === undefined || v.length >= 24, { error: 'is shorter than 24 characters' })
        .refine((v) => v === undefined || /^[A-Za-z0-9._~-]+$/.test(v), {
            // It travels in a URL query: only characters that need no encoding.
            error: 'may only hold letters, digits, "-", "_", "." and "~"'
        }),
    HAPTIK_TRACT_URL: optionalText
        .refine((v) => v === undefined || (/^https?:\/\/[^\s/]+/i.test(v) && URL.canParse(v)), {
            error: 'is not an http(s) URL'
        })
        .transform((v) => v?.replace(/\/+$/, '')),
    HAPTIK_TRACT_CLIENT_ID: optionalText,
    HAPTIK_TRACT_FQDN: optionalText,
    HAPTIK_TRACT_PRIVATE_KEY: optionalText,
    HAPTIK_TRACT_CERT_UUID: optionalText,
    HAPTIK_TRACT_CERT_CHAIN_URL: optionalText,
    SF_LOGIN_URL: httpUrl.default('https://login.salesforce.com'),
    SF_AUTH: z
        .enum(['client_credentials', 'jwt'], { error: 'is not client_credentials or jwt' })
        .default('client_credentials'),
    SF_CLIENT_ID: requiredText,
    SF_CLIENT_SECRET: optionalText,
    SF_USERNAME: optionalText,
    SF_PRIVATE_KEY: optionalText,
    SF_API_VERSION: z
        .string()
        .trim()
        .regex(/^\d{2,3}\.0$/, { error: 'is not a version like 64.0' })
        .default('64.0'),
    SF_ORG_ID: z
        .string({ error: 'is missing' })
        .trim()
        .regex(/^00D[a-zA-Z0-9]{12}([a-zA-Z0-9]{3})?$/, {
            error: 'is not a 15- or 18-character org id starting with 00D'
        }),
    SF_CHAT_API: z
        .enum(['enhanced', 'legacy', 'byoc'], { error: 'is not enhanced, legacy or byoc' })
        .default('enhanced'),
    SF_BYOC_CHANNEL_ADDRESS: optionalText,
    SF_BYOC_CHANNEL_DEFINITION: optionalText,
    SF_BYOC_EVENT: optionalText,
    SF_PUBSUB_URL: z
        .string()
        .trim()
        .refine(
            (url) =>
                URL.canParse(url) &&
                /^https?:\/\/[^/]+(:\d+)?\/?$/i.test(url) &&
                (url.toLowerCase().startsWith('https://') || LOOPBACK_HOSTS.has(new URL(url).hostname)),
            { error: 'is not an https://host:port URL (http:// only on a loopback host)' }
        )
        .default('https://api.pubsub.salesforce.com:7443'),
    SF_SCRT_URL: optionalText,
    SF_ES_DEVELOPER_NAME: optionalText,
    SF_LIVEAGENT_URL: optionalText,
    SF_LIVEAGENT_DEPLOYMENT_ID: optionalText,
    SF_LIVEAGENT_BUTTON_ID: optionalText,
    BRIDGE_RETENTION_DAYS: z.coerce.number({ error: 'is not a number' }).int().min(0).max(36_500).default(30),
    BRIDGE_RETENTION_DONE_JOBS_DAYS: z.coerce.number({ error: 'is not a number' }).int().min(1).max(36_500).default(7),
    BRIDGE_RETENTION_INTERVAL_MINUTES: z.coerce
        .number({ error: 'is not a number' })
        .int()
        .min(1)
        .max(10_080)
        .default(60),
    BRIDGE_PUBLIC_URL: optionalText
        .refine((v) => v === undefined || publicUrlProblem(v) === undefined, {
            error: 'is not an http(s) URL without credentials, query or fragment'
        })
        .transform((v) => v?.replace(/\/+$/, '')),
    BRIDGE_FILE_HOSTS: optionalText.default(HAPTIK_ASSET_HOSTS),
    BRIDGE_FILE_MAX_BYTES: z.coerce
        .number({ error: 'is not a number' })
        .int()
        .min(1024)
        .max(104_857_600)
        .default(5_242_880),
    BRIDGE_FILE_TYPES: optionalText.default(DEFAULT_FILE_TYPES),
    BRIDGE_FILE_TIMEOUT_SECONDS: z.coerce.number({ error: 'is not a number' }).int().min(1).max(600).default(60),
    BRIDGE_FILE_LINK_TTL_MINUTES: z.coerce.number({ error: 'is not a number' }).int().min(1).max(10_080).default(60),
    BRIDGE_FILE_LINK_SECRET: optionalText.refine((v) => v === undefined || v.length >= 32, {
        error: 'is shorter than 32 characters'
    }),
    BRIDGE_TRANSCRIPT_FILES: z.enum(['off', 'link'], { error: 'is not off or link' }).default('off')
});

/** BRIDGE_PUBLIC_URL: an http(s) base URL (a path prefix allowed), nothing that would garble the links built on it. */
function publicUrlProblem(raw: string): string | undefined {
    if (!URL.canParse(raw)) return 'not a URL';
    const url = new URL(raw);
    if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') return 'extras';
    // Plain http stays possible (register-hooks notes it; tests and private networks use it); links then travel unencrypted.
    return url.protocol === 'https:' || url.protocol === 'http:' ? undefined : 'not http(s)';
}

/** Every variable the bridge reads, secrets' `<NAME>_FILE` forms included, for the documentation check. */
export const ENVIRONMENT_VARIABLES: readonly string[] = [
    ...Object.keys(schema.shape),
    ...FILE_BACKED.map((key) => `${key}_FILE`)
];

function byocConfig(e: {
    SF_SCRT_URL?: string | undefined;
    SF_BYOC_CHANNEL_ADDRESS?: string | undefined;
    SF_BYOC_CHANNEL_DEFINITION?: string | undefined;
    SF_BYOC_EVENT?: string | undefined;
    SF_PUBSUB_URL: string;
}): ByocChatConfig {
    const pubsub = new URL(e.SF_PUBSUB_URL);
    return {
        api: 'byoc',
        scrtUrl: (e.SF_SCRT_URL ?? '').replace(/\/+$/, ''),
        channelAddress: e.SF_BYOC_CHANNEL_ADDRESS ?? '',
        channelDefinition: e.SF_BYOC_CHANNEL_DEFINITION ?? '',
        eventTopic: e.SF_BYOC_EVENT ?? '',
        pubsub: {
            endpoint: `${pubsub.hostname}:${pubsub.port || (pubsub.protocol === 'http:' ? '80' : '443')}`,
            // Contract §1: unverified (the test emulators' self-signed certificate) or plaintext on loopback only.
            transport: !LOOPBACK_HOSTS.has(pubsub.hostname)
                ? 'tls'
                : pubsub.protocol === 'http:'
                  ? 'plaintext'
                  : 'tls-unverified'
        }
    };
}

/**
 * Rules that depend on other variables. They run on the raw values, so they are reported together with
 * the schema's problems even when other variables are missing (zod skips refinements of a failed object).
 */
function dependentProblems(source: Record<string, string | undefined>): string[] {
    const value = (key: string): string | undefined => {
        const v = source[key]?.trim();
        return v === undefined || v === '' ? undefined : v;
    };
    const problems: string[] = [];
    const need = (key: string, why: string): void => {
        if (value(key) === undefined) problems.push(`${key} is missing (${why})`);
    };
    const auth = value('SF_AUTH') ?? 'client_credentials';
    if (auth === 'client_credentials') need('SF_CLIENT_SECRET', 'SF_AUTH=client_credentials');
    if (auth === 'jwt') {
        need('SF_USERNAME', 'SF_AUTH=jwt');
        need('SF_PRIVATE_KEY', 'SF_AUTH=jwt');
    }
    const chatApi = value('SF_CHAT_API') ?? 'enhanced';
    if (chatApi === 'enhanced') {
        need('SF_SCRT_URL', 'SF_CHAT_API=enhanced');
        need('SF_ES_DEVELOPER_NAME', 'SF_CHAT_API=enhanced');
    }
    if (chatApi === 'legacy') {
        need('SF_LIVEAGENT_URL', 'SF_CHAT_API=legacy');
        need('SF_LIVEAGENT_DEPLOYMENT_ID', 'SF_CHAT_API=legacy');
        need('SF_LIVEAGENT_BUTTON_ID', 'SF_CHAT_API=legacy');
    }
    if (chatApi === 'byoc') {
        need('SF_SCRT_URL', 'SF_CHAT_API=byoc');
        need('SF_BYOC_CHANNEL_ADDRESS', 'SF_CHAT_API=byoc');
        need('SF_BYOC_CHANNEL_DEFINITION', 'SF_CHAT_API=byoc');
        need('SF_BYOC_EVENT', 'SF_CHAT_API=byoc');
        // The Interaction Service API takes only JWT-based access tokens of a named user (salesforce.md §3.3).
        if (auth !== 'jwt') problems.push('SF_AUTH must be jwt for SF_CHAT_API=byoc');
        const topic = value('SF_BYOC_EVENT');
        if (topic !== undefined && !/^\/event\/[A-Za-z][A-Za-z0-9_]*__e$/.test(topic)) {
            problems.push('SF_BYOC_EVENT is not a platform event topic like /event/Haptik_Interaction__e');
        }
    }
    for (const key of ['SF_SCRT_URL', 'SF_LIVEAGENT_URL']) {
        const url = value(key);
        if (url !== undefined && !(/^https?:\/\//i.test(url) && URL.canParse(url)))
            problems.push(`${key} is not an http(s) URL`);
    }
    const key = value('SF_PRIVATE_KEY');
    if (key !== undefined && !key.includes('PRIVATE KEY-----'))
        problems.push('SF_PRIVATE_KEY is not a PEM private key');
    if (value('HAPTIK_WEBHOOK_SECRET') === undefined && value('HAPTIK_HOOK_TOKEN') === undefined) {
        problems.push(
            'HAPTIK_HOOK_TOKEN and HAPTIK_WEBHOOK_SECRET are both missing (every /haptik/ request needs one of them: ' +
                'HAPTIK_HOOK_TOKEN authenticates the TRACT hooks and integration nodes without a secret by ?key=, ' +
                'HAPTIK_WEBHOOK_SECRET the signed Bot API webhook and integration nodes with a secret)'
        );
    }
    problems.push(...tractProblems(value));
    const hosts = value('BRIDGE_FILE_HOSTS');
    if (hosts !== undefined) {
        for (const problem of parseHostRules(hosts).problems) problems.push(`BRIDGE_FILE_HOSTS entry ${problem}`);
    }
    const types = value('BRIDGE_FILE_TYPES');
    if (types !== undefined) {
        for (const problem of parseFileTypes(types).problems) problems.push(`BRIDGE_FILE_TYPES entry ${problem}`);
    }
    return problems;
}

const TRACT_SIGNING = [
    'HAPTIK_TRACT_CLIENT_ID',
    'HAPTIK_TRACT_FQDN',
    'HAPTIK_TRACT_PRIVATE_KEY',
    'HAPTIK_TRACT_CERT_UUID',
    'HAPTIK_TRACT_CERT_CHAIN_URL'
];
const FQDN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/i;

/** The signed TRACT token issue needs all of its settings once any is given (contract §1, §3). */
function tractProblems(value: (key: string) => string | undefined): string[] {
    if (!TRACT_SIGNING.some((key) => value(key) !== undefined)) return [];
    const problems: string[] = [];
    const why = 'the HAPTIK_TRACT_* variables are set: TRACT tokens are issued by a signed request';
    for (const key of ['HAPTIK_TRACT_CLIENT_ID', 'HAPTIK_TRACT_FQDN', 'HAPTIK_TRACT_PRIVATE_KEY']) {
        if (value(key) === undefined) problems.push(`${key} is missing (${why})`);
    }
    const uuid = value('HAPTIK_TRACT_CERT_UUID');
    const chainUrl = value('HAPTIK_TRACT_CERT_CHAIN_URL');
    if (uuid === undefined && chainUrl === undefined) {
        problems.push(`HAPTIK_TRACT_CERT_UUID is missing (${why}; or set HAPTIK_TRACT_CERT_CHAIN_URL)`);
    }
    if (uuid !== undefined && chainUrl !== undefined) {
        problems.push(
            'HAPTIK_TRACT_CERT_UUID and HAPTIK_TRACT_CERT_CHAIN_URL are both set: keep the one of your certificate (UUID for a self-signed one, chain URL for a CA-signed one)'
        );
    }
    const fqdn = value('HAPTIK_TRACT_FQDN');
    if (fqdn !== undefined && !FQDN.test(fqdn)) problems.push('HAPTIK_TRACT_FQDN is not a domain name');
    if (chainUrl !== undefined) {
        const problem = chainUrlProblem(chainUrl, fqdn);
        if (problem !== undefined) problems.push(`HAPTIK_TRACT_CERT_CHAIN_URL ${problem}`);
    }
    const key = value('HAPTIK_TRACT_PRIVATE_KEY');
    if (key !== undefined) {
        const type = privateKeyType(key);
        if (type === undefined) problems.push('HAPTIK_TRACT_PRIVATE_KEY is not a PEM private key');
        else if (type !== 'rsa' && type !== 'ec')
            problems.push(`HAPTIK_TRACT_PRIVATE_KEY is a ${type} key, not an RSA or ECDSA one`);
    }
    return problems;
}

/** Haptik's rules for SignatureCertChainUrl (security.md): https, the ECT's FQDN, port 443, path under /ect.api/. */
function chainUrlProblem(raw: string, fqdn: string | undefined): string | undefined {
    if (!URL.canParse(raw)) return 'is not a URL';
    const url = new URL(raw);
    if (url.protocol !== 'https:') return 'is not an https URL';
    if (url.port !== '' && url.port !== '443') return 'names a port other than 443';
    if (fqdn !== undefined && url.hostname.toLowerCase() !== fqdn.toLowerCase())
        return 'is not on HAPTIK_TRACT_FQDN (Haptik accepts chains only from the FQDN pre-shared with it)';
    if (!url.pathname.startsWith('/ect.api/')) return 'does not start with /ect.api/ (case sensitive)';
    return undefined;
}

function privateKeyType(pem: string): string | undefined {
    try {
        return createPrivateKey(pem).asymmetricKeyType;
    } catch {
        return undefined;
    }
}

/** Reads <NAME>_FILE for file-backed secrets; a file that cannot be read is a configuration problem. */
function resolveSecretFiles(env: Env, problems: string[]): Record<string, string | undefined> {
    const resolved: Record<string, string | undefined> = { ...env };
    for (const key of FILE_BACKED) {
        const file = env[`${key}_FILE`];
        if (file === undefined || file === '' || (env[key] ?? '') !== '') continue;
        try {
            resolved[key] = readFileSync(file, 'utf8').trim();
        } catch (error) {
            const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
            problems.push(
                `${key}_FILE points to ${file}, which cannot be read (${reason}): give the path of a readable file`
            );
        }
    }
    return resolved;
}

/**
 * Parses the environment into a BridgeConfig. Every problem is reported at once, in one
 * BridgeError (`bridge_config_invalid`) whose message lists each variable and how to fix it.
 */
export function loadConfig(env: Env): BridgeConfig {
    const problems: string[] = [];
    const source = resolveSecretFiles(env, problems);
    const parsed = schema.safeParse(source);
    const found = parsed.success
        ? []
        : parsed.error.issues.map((issue) => {
              const key = String(issue.path[0] ?? '');
              return `${key} ${issue.code === 'invalid_value' ? 'has an unsupported value' : issue.message}`;
          });
    for (const problem of [...found, ...dependentProblems(source)]) {
        const hint = HINTS[problem.split(' ')[0] ?? ''];
        problems.push(`${problem}${hint ? `: set it to ${hint}` : ''}`);
    }
    if (problems.length > 0 || !parsed.success) {
        throw new BridgeError(
            'bridge_config_invalid',
            `The bridge cannot start: ${problems.length} configuration problem${problems.length === 1 ? '' : 's'}.\n` +
                problems.map((p) => `  - ${p}`).join('\n'),
            { details: { problems } }
        );
    }
    const e = parsed.data;
    const auth: SalesforceAuth =
        e.SF_AUTH === 'jwt'
            ? {
                  kind: 'jwt',
                  clientId: e.SF_CLIENT_ID,
                  username: e.SF_USERNAME ?? '',
                  privateKey: e.SF_PRIVATE_KEY ?? ''
              }
            : { kind: 'client_credentials', clientId: e.SF_CLIENT_ID, clientSecret: e.SF_CLIENT_SECRET ?? '' };
    const chat: SalesforceConfig['chat'] =
        e.SF_CHAT_API === 'byoc'
            ? byocConfig(e)
            : e.SF_CHAT_API === 'enhanced'
              ? {
                    api: 'enhanced',
                    scrtUrl: (e.SF_SCRT_URL ?? '').replace(/\/+$/, ''),
                    esDeveloperName: e.SF_ES_DEVELOPER_NAME ?? ''
                }
              : {
                    api: 'legacy',
                    liveAgentUrl: (e.SF_LIVEAGENT_URL ?? '').replace(/\/+$/, ''),
                    deploymentId: e.SF_LIVEAGENT_DEPLOYMENT_ID ?? '',
                    buttonId: e.SF_LIVEAGENT_BUTTON_ID ?? ''
                };
    return {
        port: e.PORT,
        logLevel: e.BRIDGE_LOG_LEVEL,
        database: { url: e.DATABASE_URL, dataDir: e.BRIDGE_DATA_DIR ?? './data' },
        configFile: e.BRIDGE_CONFIG_FILE,
        adminToken: e.BRIDGE_ADMIN_TOKEN,
        retention: {
            days: e.BRIDGE_RETENTION_DAYS,
            doneJobDays: e.BRIDGE_RETENTION_DONE_JOBS_DAYS,
            intervalMinutes: e.BRIDGE_RETENTION_INTERVAL_MINUTES
        },
        haptik: {
            baseUrl: e.HAPTIK_BASE_URL,
            clientId: e.HAPTIK_CLIENT_ID,
            apiToken: e.HAPTIK_API_TOKEN,
            businessId: e.HAPTIK_BUSINESS_ID,
            webhookSecret: e.HAPTIK_WEBHOOK_SECRET,
            hookToken: e.HAPTIK_HOOK_TOKEN,
            tract: {
                url: e.HAPTIK_TRACT_URL ?? e.HAPTIK_BASE_URL,
                auth:
                    e.HAPTIK_TRACT_CLIENT_ID === undefined
                        ? undefined
                        : {
                              clientId: e.HAPTIK_TRACT_CLIENT_ID,
                              fqdn: (e.HAPTIK_TRACT_FQDN ?? '').toLowerCase(),
                              privateKey: e.HAPTIK_TRACT_PRIVATE_KEY ?? '',
                              certificate:
                                  e.HAPTIK_TRACT_CERT_UUID !== undefined
                                      ? { uuid: e.HAPTIK_TRACT_CERT_UUID }
                                      : { chainUrl: e.HAPTIK_TRACT_CERT_CHAIN_URL ?? '' }
                          }
            }
        },
        salesforce: {
            loginUrl: e.SF_LOGIN_URL,
            auth,
            apiVersion: e.SF_API_VERSION,
            orgId: e.SF_ORG_ID,
            chat
        },
        files: {
            publicUrl: e.BRIDGE_PUBLIC_URL,
            hosts: parseHostRules(e.BRIDGE_FILE_HOSTS ?? HAPTIK_ASSET_HOSTS).rules,
            maxBytes: e.BRIDGE_FILE_MAX_BYTES,
            allowedTypes: parseFileTypes(e.BRIDGE_FILE_TYPES ?? DEFAULT_FILE_TYPES).types,
            timeoutMs: e.BRIDGE_FILE_TIMEOUT_SECONDS * 1000,
            linkTtlSeconds: e.BRIDGE_FILE_LINK_TTL_MINUTES * 60,
            // Dependent rules guarantee one of the Haptik secrets; a dedicated secret lets an admin rotate
            // those without breaking file links (and the other way round).
            linkKey: deriveLinkKey(e.BRIDGE_FILE_LINK_SECRET ?? e.HAPTIK_HOOK_TOKEN ?? e.HAPTIK_WEBHOOK_SECRET ?? ''),
            transcriptFiles: e.BRIDGE_TRANSCRIPT_FILES
        }
    };
}
