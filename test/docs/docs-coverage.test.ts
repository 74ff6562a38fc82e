import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ENVIRONMENT_VARIABLES } from '../../bridge/src/config/env';
import { createApp } from '../../bridge/src/http/app';
import { silentLogger } from '../../bridge/src/observability/logger';
import { createMetrics } from '../../bridge/src/observability/metrics';
import { listExpressRoutes } from '../support/express-routes';

/**
 * The documentation keeps up with the code: every setting, route and metric the bridge has is written down
 * where an admin or operator looks for it, and the docs' links lead somewhere.
 */
const ROOT = path.resolve(__dirname, '../..');
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

/** Contract §1: the public names admins configure (fixed; changed only together with the contract). */
const CONTRACT_SETTINGS = [
    'PORT',
    'DATABASE_URL',
    'BRIDGE_DATA_DIR',
    'BRIDGE_CONFIG_FILE',
    'BRIDGE_ADMIN_TOKEN',
    'HAPTIK_BASE_URL',
    'HAPTIK_CLIENT_ID',
    'HAPTIK_API_TOKEN',
    'HAPTIK_BUSINESS_ID',
    'HAPTIK_WEBHOOK_SECRET',
    'HAPTIK_HOOK_TOKEN',
    'HAPTIK_TRACT_URL',
    'HAPTIK_TRACT_CLIENT_ID',
    'HAPTIK_TRACT_FQDN',
    'HAPTIK_TRACT_PRIVATE_KEY',
    'HAPTIK_TRACT_PRIVATE_KEY_FILE',
    'HAPTIK_TRACT_CERT_UUID',
    'HAPTIK_TRACT_CERT_CHAIN_URL',
    'SF_LOGIN_URL',
    'SF_AUTH',
    'SF_CLIENT_ID',
    'SF_CLIENT_SECRET',
    'SF_USERNAME',
    'SF_PRIVATE_KEY',
    'SF_PRIVATE_KEY_FILE',
    'SF_API_VERSION',
    'SF_ORG_ID',
    'SF_CHAT_API',
    'SF_SCRT_URL',
    'SF_ES_DEVELOPER_NAME',
    'SF_LIVEAGENT_URL',
    'SF_LIVEAGENT_DEPLOYMENT_ID',
    'SF_LIVEAGENT_BUTTON_ID',
    'BRIDGE_PUBLIC_URL',
    'BRIDGE_FILE_HOSTS'
];

function mentions(text: string, name: string): boolean {
    return new RegExp(`(^|[^A-Z0-9_])${name}($|[^A-Z0-9_])`).test(text);
}

/** `/a/{id}/b` as written in prose: `{id}`, `<id>` or `:id`. */
function routePattern(route: string): RegExp {
    const escaped = route
        .split(/\{\w+\}/)
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('(\\{\\w+\\}|<\\w+>|:\\w+)');
    return new RegExp(`${escaped}(?![\\w/-])`);
}

function servedRoutes(): string[] {
    const app = createApp({
        webhookSecret: 'secret',
        adminToken: 'docs-coverage-admin-token',
        logger: silentLogger(),
        metrics: createMetrics(),
        readiness: [],
        haptik: {}
    });
    return [...new Set(listExpressRoutes(app).map((route) => route.path))];
}

describe('documentation coverage', () => {
    const readme = read('README.md');
    const adminGuide = read('docs/admin-guide.md');
    const operations = read('docs/operations.md');

    it('names every setting of contract §1 and every variable the bridge reads in the README or the admin guide', () => {
        const names = [...new Set([...CONTRACT_SETTINGS, ...ENVIRONMENT_VARIABLES])];
        const missing = names.filter((name) => !mentions(readme, name) && !mentions(adminGuide, name));

        expect(ENVIRONMENT_VARIABLES).toEqual(expect.arrayContaining(CONTRACT_SETTINGS));
        expect(missing).toEqual([]);
    });

    it('names every route the app serves in the prose docs and in docs/openapi.yaml', () => {
        const prose = [readme, adminGuide, operations].join('\n');
        const documented = Object.keys((parse(read('docs/openapi.yaml')) as { paths: Record<string, unknown> }).paths);
        const routes = servedRoutes();

        expect(routes.length).toBeGreaterThan(0);
        expect(routes.filter((route) => !routePattern(route).test(prose))).toEqual([]);
        expect(routes.filter((route) => !documented.includes(route))).toEqual([]);
    });

    it('describes every metric the bridge exports in docs/operations.md', async () => {
        const exported = (await createMetrics().registry.getMetricsAsJSON()).map((metric) => metric.name);

        expect(exported.length).toBeGreaterThan(0);
        expect(exported.filter((name) => !mentions(operations, name))).toEqual([]);
    });

    it('has relative links in the README and docs/ that point at existing files', () => {
        const files = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
            f.endsWith('.md')
        );
        const broken: string[] = [];
        for (const file of files) {
            for (const match of read(file).matchAll(/\]\(([^)\s]+)\)/g)) {
                const target = (match[1] ?? '').split('#')[0] ?? '';
                if (target === '' || /^[a-z]+:/i.test(target)) continue;
                if (!existsSync(path.resolve(ROOT, path.dirname(file), target))) broken.push(`${file} → ${target}`);
            }
        }
        expect(broken).toEqual([]);
    });
});
