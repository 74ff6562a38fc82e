/** Shared set-up for the Salesforce tests: a client configuration pointing at an emulator. */
import type { SalesforceAuth, SalesforceConfig } from '../../bridge/src/config/env';
import { silentLogger } from '../../bridge/src/observability/logger';
import { createMetrics } from '../../bridge/src/observability/metrics';
import type { Metrics } from '../../bridge/src/observability/metrics';
import { createSalesforceClient, isSalesforceError } from '../../bridge/src/salesforce/salesforce-client';
import type {
    SalesforceClient,
    SalesforceClientDeps,
    SalesforceError
} from '../../bridge/src/salesforce/salesforce-client';
import type { SalesforceEmulator } from '../emulators/salesforce';

export const CLIENT_ID = 'test-client-id';
export const CLIENT_SECRET = 'test-client-secret';
export const USERNAME = 'bridge@haptik.example';

export function sfConfig(url: string, auth?: SalesforceAuth): SalesforceConfig {
    return {
        loginUrl: url,
        auth: auth ?? { kind: 'client_credentials', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
        apiVersion: '64.0',
        orgId: '00DHp00000EmuLAT0R',
        chat: { api: 'enhanced', scrtUrl: 'https://scrt.example', esDeveloperName: 'Haptik' }
    };
}

export function clientFor(
    emulator: SalesforceEmulator,
    options: { auth?: SalesforceAuth; deps?: Partial<SalesforceClientDeps> } = {}
): { client: SalesforceClient; metrics: Metrics } {
    const metrics = createMetrics();
    const client = createSalesforceClient(sfConfig(emulator.url, options.auth), {
        logger: silentLogger(),
        metrics,
        retry: { attempts: 4, baseMs: 1, maxMs: 5 },
        timeoutMs: 5000,
        ...options.deps
    });
    return { client, metrics };
}

export async function metricValue(
    metrics: Metrics,
    name: string,
    labels: Record<string, string> = {}
): Promise<number | undefined> {
    const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
    const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
    return value?.value;
}

/** The SalesforceError a call fails with (anything else fails the test). */
export async function caught(promise: Promise<unknown>): Promise<SalesforceError> {
    try {
        await promise;
    } catch (error) {
        if (isSalesforceError(error)) return error;
        throw error;
    }
    throw new Error('expected the call to fail');
}
