import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { loadConfig } from '../../bridge/src/config/env';
import { BridgeError } from '../../bridge/src/core/errors';

const validEnv = {
    HAPTIK_BASE_URL: 'https://staging-messenger.haptikapi.com/',
    HAPTIK_CLIENT_ID: 'client-1',
    HAPTIK_API_TOKEN: 'token-1',
    HAPTIK_BUSINESS_ID: '343',
    HAPTIK_WEBHOOK_SECRET: 'shh',
    SF_CLIENT_ID: 'consumer-key',
    SF_CLIENT_SECRET: 'consumer-secret',
    SF_ORG_ID: '00D000000000001AAA',
    SF_SCRT_URL: 'https://acme.my.salesforce-scrt.com',
    SF_ES_DEVELOPER_NAME: 'Haptik_Bridge'
};

function problemsOf(env: Record<string, string | undefined>): string[] {
    try {
        loadConfig(env);
    } catch (error) {
        expect(error).toBeInstanceOf(BridgeError);
        const bridgeError = error as BridgeError;
        expect(bridgeError.code).toBe('bridge_config_invalid');
        return bridgeError.details['problems'] as string[];
    }
    throw new Error('expected loadConfig to fail');
}

describe('loadConfig', () => {
    it('applies the contract defaults and normalises URLs', () => {
        const config = loadConfig(validEnv);
        expect(config.port).toBe(3000);
        expect(config.database).toEqual({ url: undefined, dataDir: './data' });
        expect(config.adminToken).toBeUndefined();
        expect(config.haptik).toEqual({
            baseUrl: 'https://staging-messenger.haptikapi.com',
            clientId: 'client-1',
            apiToken: 'token-1',
            businessId: 343,
            webhookSecret: 'shh',
            hookToken: undefined,
            tract: { url: 'https://staging-messenger.haptikapi.com', auth: undefined }
        });
        expect(config.salesforce.loginUrl).toBe('https://login.salesforce.com');
        expect(config.salesforce.apiVersion).toBe('64.0');
        expect(config.salesforce.auth).toEqual({
            kind: 'client_credentials',
            clientId: 'consumer-key',
            clientSecret: 'consumer-secret'
        });
        expect(config.salesforce.chat).toEqual({
            api: 'enhanced',
            scrtUrl: 'https://acme.my.salesforce-scrt.com',
            esDeveloperName: 'Haptik_Bridge'
        });
    });

    it('lists every missing variable in one error, each with how to fix it', () => {
        const problems = problemsOf({});
        const keys = problems.map((p) => p.split(' ')[0]);
        expect(keys).toEqual(
            expect.arrayContaining([
                'HAPTIK_BASE_URL',
                'HAPTIK_CLIENT_ID',
                'HAPTIK_API_TOKEN',
                'HAPTIK_BUSINESS_ID',
                // One message for the two inbound authentications, naming both.
                'HAPTIK_HOOK_TOKEN',
                'SF_CLIENT_ID',
                'SF_ORG_ID',
                'SF_CLIENT_SECRET',
                'SF_SCRT_URL',
                'SF_ES_DEVELOPER_NAME'
            ])
        );
        for (const problem of problems) expect(problem).toMatch(/: set it to .+/);
    });

    it('names invalid values without echoing secrets', () => {
        const problems = problemsOf({
            ...validEnv,
            PORT: 'eighty',
            HAPTIK_BUSINESS_ID: 'acme',
            SF_ORG_ID: '005000000000001',
            SF_AUTH: 'password',
            DATABASE_URL: 'mysql://root:hunter2@db/x'
        });
        expect(problems.join('\n')).not.toContain('hunter2');
        expect(problems.some((p) => p.startsWith('PORT is not a number'))).toBe(true);
        expect(problems.some((p) => p.startsWith('HAPTIK_BUSINESS_ID is not a number'))).toBe(true);
        expect(problems.some((p) => p.startsWith('SF_ORG_ID is not a 15- or 18-character org id'))).toBe(true);
        expect(problems.some((p) => p.startsWith('SF_AUTH '))).toBe(true);
        expect(problems.some((p) => p.startsWith('DATABASE_URL is not a postgres:// URL'))).toBe(true);
    });

    it('asks for the JWT settings when SF_AUTH=jwt and reads the key from a file', () => {
        const jwtEnv = { ...validEnv, SF_AUTH: 'jwt', SF_CLIENT_SECRET: undefined };
        expect(problemsOf(jwtEnv).map((p) => p.split(' ')[0])).toEqual(['SF_USERNAME', 'SF_PRIVATE_KEY']);

        const dir = mkdtempSync(path.join(tmpdir(), 'bridge-config-'));
        const keyFile = path.join(dir, 'server.key');
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
        const config = loadConfig({ ...jwtEnv, SF_USERNAME: 'bridge@acme.example', SF_PRIVATE_KEY_FILE: keyFile });
        expect(config.salesforce.auth.kind).toBe('jwt');
        expect(config.salesforce.auth).toMatchObject({ username: 'bridge@acme.example' });
        if (config.salesforce.auth.kind === 'jwt')
            expect(config.salesforce.auth.privateKey).toContain('PRIVATE KEY-----');
    });

    it('reports an unreadable secret file', () => {
        const problems = problemsOf({
            ...validEnv,
            HAPTIK_API_TOKEN: undefined,
            HAPTIK_API_TOKEN_FILE: '/nonexistent/token'
        });
        expect(problems[0]).toMatch(
            /^HAPTIK_API_TOKEN_FILE points to \/nonexistent\/token, which cannot be read \(ENOENT\)/
        );
    });

    it('asks for the Live Agent settings when SF_CHAT_API=legacy', () => {
        const problems = problemsOf({ ...validEnv, SF_CHAT_API: 'legacy' });
        expect(problems.map((p) => p.split(' ')[0])).toEqual([
            'SF_LIVEAGENT_URL',
            'SF_LIVEAGENT_DEPLOYMENT_ID',
            'SF_LIVEAGENT_BUTTON_ID'
        ]);
        const config = loadConfig({
            ...validEnv,
            SF_CHAT_API: 'legacy',
            SF_LIVEAGENT_URL: 'https://d.la1-c2-ia2.salesforceliveagent.com/chat/',
            SF_LIVEAGENT_DEPLOYMENT_ID: '572000000000001',
            SF_LIVEAGENT_BUTTON_ID: '573000000000001'
        });
        expect(config.salesforce.chat).toEqual({
            api: 'legacy',
            liveAgentUrl: 'https://d.la1-c2-ia2.salesforceliveagent.com/chat',
            deploymentId: '572000000000001',
            buttonId: '573000000000001'
        });
    });

    it('asks for the BYOC settings and the JWT bearer flow when SF_CHAT_API=byoc', () => {
        const problems = problemsOf({ ...validEnv, SF_CHAT_API: 'byoc', SF_BYOC_EVENT: 'Haptik_Interaction__e' });
        expect(problems.map((p) => p.split(':')[0])).toEqual([
            'SF_BYOC_CHANNEL_ADDRESS is missing (SF_CHAT_API=byoc)',
            'SF_BYOC_CHANNEL_DEFINITION is missing (SF_CHAT_API=byoc)',
            'SF_AUTH must be jwt for SF_CHAT_API=byoc',
            'SF_BYOC_EVENT is not a platform event topic like /event/Haptik_Interaction__e'
        ]);
        const { privateKey } = generateKeyPairSync('rsa', {
            modulusLength: 2048,
            privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
            publicKeyEncoding: { type: 'spki', format: 'pem' }
        });
        const byoc = {
            ...validEnv,
            SF_CHAT_API: 'byoc',
            SF_AUTH: 'jwt',
            SF_USERNAME: 'bridge@acme.com',
            SF_PRIVATE_KEY: privateKey,
            SF_BYOC_CHANNEL_ADDRESS: '6f1d2c3b-4a59-4e8f-9d7c-2b1a0e9f8d7c',
            SF_BYOC_CHANNEL_DEFINITION: 'Haptik_Bridge_Channel',
            SF_BYOC_EVENT: '/event/Haptik_Interaction__e'
        };
        expect(loadConfig(byoc).salesforce.chat).toEqual({
            api: 'byoc',
            scrtUrl: 'https://acme.my.salesforce-scrt.com',
            channelAddress: '6f1d2c3b-4a59-4e8f-9d7c-2b1a0e9f8d7c',
            channelDefinition: 'Haptik_Bridge_Channel',
            eventTopic: '/event/Haptik_Interaction__e',
            pubsub: { endpoint: 'api.pubsub.salesforce.com:7443', transport: 'tls' }
        });
        // Contract §1: an unverified certificate or plaintext on a loopback host only.
        const pubsubOf = (url: string) => {
            const chat = loadConfig({ ...byoc, SF_PUBSUB_URL: url }).salesforce.chat;
            return chat.api === 'byoc' ? chat.pubsub : undefined;
        };
        expect(pubsubOf('https://127.0.0.1:7443')).toEqual({ endpoint: '127.0.0.1:7443', transport: 'tls-unverified' });
        expect(pubsubOf('http://localhost:7444')).toEqual({ endpoint: 'localhost:7444', transport: 'plaintext' });
        expect(problemsOf({ ...byoc, SF_PUBSUB_URL: 'http://pubsub.example.com:7443' })[0]).toMatch(
            /^SF_PUBSUB_URL is not an https:\/\/host:port URL/
        );
    });

    it('rejects a short admin token', () => {
        expect(problemsOf({ ...validEnv, BRIDGE_ADMIN_TOKEN: 'short' })[0]).toMatch(
            /^BRIDGE_ADMIN_TOKEN is shorter than 16/
        );
    });

    describe('Haptik authentication (contract §1-§3)', () => {
        const certificates = path.join(__dirname, '../emulators/haptik/certificates');
        const rsaKey = readFileSync(path.join(certificates, 'ect-rsa.key'), 'utf8');
        const tractEnv = {
            ...validEnv,
            HAPTIK_TRACT_URL: 'https://tract.haptikapi.example/',
            HAPTIK_TRACT_CLIENT_ID: 'tract-client-1',
            HAPTIK_TRACT_FQDN: 'Bridge.Example.com',
            HAPTIK_TRACT_PRIVATE_KEY_FILE: path.join(certificates, 'ect-ec.key'),
            HAPTIK_TRACT_CERT_UUID: 'cert-uuid-1'
        };

        it('runs with only one of the two inbound authentications, and names both when neither is set', () => {
            const hookOnly = loadConfig({
                ...validEnv,
                HAPTIK_WEBHOOK_SECRET: undefined,
                HAPTIK_HOOK_TOKEN: 'k'.repeat(24)
            });
            expect(hookOnly.haptik).toMatchObject({ webhookSecret: undefined, hookToken: 'k'.repeat(24) });

            const neither = problemsOf({ ...validEnv, HAPTIK_WEBHOOK_SECRET: undefined });
            expect(neither).toHaveLength(1);
            expect(neither[0]).toMatch(/^HAPTIK_HOOK_TOKEN and HAPTIK_WEBHOOK_SECRET are both missing/);
            expect(neither[0]).toContain('openssl rand -hex 32');
        });

        it('wants a hook token of at least 24 URL-safe characters, and reads it from a file', () => {
            expect(problemsOf({ ...validEnv, HAPTIK_HOOK_TOKEN: 'short-token' })[0]).toMatch(
                /^HAPTIK_HOOK_TOKEN is shorter than 24 characters/
            );
            expect(problemsOf({ ...validEnv, HAPTIK_HOOK_TOKEN: 'has spaces & symbols = bad!!' })[0]).toMatch(
                /^HAPTIK_HOOK_TOKEN may only hold letters, digits/
            );
            const dir = mkdtempSync(path.join(tmpdir(), 'bridge-config-'));
            writeFileSync(path.join(dir, 'hook-token'), 'f'.repeat(64) + '\n');
            const config = loadConfig({ ...validEnv, HAPTIK_HOOK_TOKEN_FILE: path.join(dir, 'hook-token') });
            expect(config.haptik.hookToken).toBe('f'.repeat(64));
        });

        it('takes an empty HAPTIK_TRACT_URL as unset and refuses one that is no URL', () => {
            expect(loadConfig({ ...validEnv, HAPTIK_TRACT_URL: '' }).haptik.tract.url).toBe(
                'https://staging-messenger.haptikapi.com'
            );
            expect(problemsOf({ ...validEnv, HAPTIK_TRACT_URL: 'tract.example' })[0]).toMatch(
                /^HAPTIK_TRACT_URL is not an http\(s\) URL: set it to the TRACT base URL/
            );
        });

        it('reads the TRACT token settings: URL, client, FQDN, key and certificate id', () => {
            const config = loadConfig(tractEnv);
            expect(config.haptik.tract.url).toBe('https://tract.haptikapi.example');
            expect(config.haptik.tract.auth).toMatchObject({
                clientId: 'tract-client-1',
                fqdn: 'bridge.example.com',
                certificate: { uuid: 'cert-uuid-1' }
            });
            expect(config.haptik.tract.auth?.privateKey).toContain('PRIVATE KEY-----');
        });

        it('asks for every TRACT setting once one is set, and checks key, FQDN and chain URL', () => {
            expect(problemsOf({ ...validEnv, HAPTIK_TRACT_CLIENT_ID: 'c' }).map((p) => p.split(' ')[0])).toEqual([
                'HAPTIK_TRACT_FQDN',
                'HAPTIK_TRACT_PRIVATE_KEY',
                'HAPTIK_TRACT_CERT_UUID'
            ]);
            const ed25519 = generateKeyPairSync('ed25519')
                .privateKey.export({ type: 'pkcs8', format: 'pem' })
                .toString();
            const problems = problemsOf({
                ...tractEnv,
                HAPTIK_TRACT_PRIVATE_KEY_FILE: undefined,
                HAPTIK_TRACT_PRIVATE_KEY: ed25519,
                HAPTIK_TRACT_FQDN: 'not a host',
                HAPTIK_TRACT_CERT_UUID: undefined,
                HAPTIK_TRACT_CERT_CHAIN_URL: 'https://bridge.example.com:8443/certs/chain.pem'
            });
            expect(problems).toEqual([
                expect.stringMatching(/^HAPTIK_TRACT_FQDN is not a domain name/),
                expect.stringMatching(/^HAPTIK_TRACT_CERT_CHAIN_URL names a port other than 443/),
                expect.stringMatching(/^HAPTIK_TRACT_PRIVATE_KEY is a ed25519 key, not an RSA or ECDSA one/)
            ]);
            expect(
                problemsOf({
                    ...tractEnv,
                    HAPTIK_TRACT_CERT_CHAIN_URL: 'https://bridge.example.com/ect.api/chain.pem'
                })[0]
            ).toMatch(/^HAPTIK_TRACT_CERT_UUID and HAPTIK_TRACT_CERT_CHAIN_URL are both set/);
            const chained = loadConfig({
                ...tractEnv,
                HAPTIK_TRACT_PRIVATE_KEY_FILE: undefined,
                HAPTIK_TRACT_PRIVATE_KEY: rsaKey,
                HAPTIK_TRACT_CERT_UUID: undefined,
                HAPTIK_TRACT_CERT_CHAIN_URL: 'https://bridge.example.com/ect.api/chain.pem'
            });
            expect(chained.haptik.tract.auth?.certificate).toEqual({
                chainUrl: 'https://bridge.example.com/ect.api/chain.pem'
            });
        });
    });
});

describe('loadConfig: attachments (issue 18)', () => {
    it('defaults to Haptik asset hosts, 5 MiB, common types, 60 s, 60-minute links and no public URL', () => {
        const { files } = loadConfig(validEnv);

        expect(files.publicUrl).toBeUndefined();
        expect(files.hosts.map((rule) => rule.host)).toEqual([
            'assets.haptikapi.com',
            'haptikappimg.haptikapi.com',
            'haptikappimg.s3.amazonaws.com'
        ]);
        expect(files.maxBytes).toBe(5_242_880);
        expect(files.allowedTypes).toEqual(expect.arrayContaining(['image/jpeg', 'image/png', 'application/pdf']));
        expect(files.allowedTypes).not.toContain('text/html');
        expect(files.timeoutMs).toBe(60_000);
        expect(files.linkTtlSeconds).toBe(3600);
        expect(files.linkKey).toHaveLength(32);
        expect(files.transcriptFiles).toBe('off');
    });

    it('reads the settings, and a dedicated link secret changes the link key', () => {
        const files = loadConfig({
            ...validEnv,
            BRIDGE_PUBLIC_URL: 'https://bridge.example.com/',
            BRIDGE_FILE_HOSTS: '*.haptikapi.com, 127.0.0.1:4100',
            BRIDGE_FILE_MAX_BYTES: '1048576',
            BRIDGE_FILE_TYPES: 'image/*,application/pdf',
            BRIDGE_FILE_TIMEOUT_SECONDS: '20',
            BRIDGE_FILE_LINK_TTL_MINUTES: '15',
            BRIDGE_FILE_LINK_SECRET: 'x'.repeat(32),
            BRIDGE_TRANSCRIPT_FILES: 'link'
        }).files;

        expect(files).toMatchObject({
            publicUrl: 'https://bridge.example.com',
            hosts: [
                { host: 'haptikapi.com', wildcard: true },
                { host: '127.0.0.1', port: 4100, wildcard: false }
            ],
            maxBytes: 1_048_576,
            allowedTypes: ['image/*', 'application/pdf'],
            timeoutMs: 20_000,
            linkTtlSeconds: 900,
            transcriptFiles: 'link'
        });
        expect(files.linkKey.equals(loadConfig(validEnv).files.linkKey)).toBe(false);
    });

    it('names every wrong file setting', () => {
        const problems = problemsOf({
            ...validEnv,
            BRIDGE_PUBLIC_URL: 'https://bridge.example.com/?x=1',
            BRIDGE_FILE_HOSTS: 'https://assets.haptikapi.com/x',
            BRIDGE_FILE_MAX_BYTES: '10',
            BRIDGE_FILE_TYPES: 'pdf',
            BRIDGE_FILE_LINK_SECRET: 'short',
            BRIDGE_TRANSCRIPT_FILES: 'attach'
        });

        expect(problems).toEqual(
            expect.arrayContaining([
                expect.stringMatching(/^BRIDGE_PUBLIC_URL is not an http\(s\) URL/),
                expect.stringMatching(/^BRIDGE_FILE_HOSTS entry "https:\/\/assets.haptikapi.com\/x" is not host/),
                expect.stringMatching(/^BRIDGE_FILE_MAX_BYTES /),
                expect.stringMatching(/^BRIDGE_FILE_TYPES entry "pdf"/),
                expect.stringMatching(/^BRIDGE_FILE_LINK_SECRET is shorter than 32 characters/),
                expect.stringMatching(/^BRIDGE_TRANSCRIPT_FILES .*: set it to off .* or link/)
            ])
        );
        expect(problems).toHaveLength(6);
    });
});
