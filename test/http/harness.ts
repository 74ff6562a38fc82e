import { Writable } from 'node:stream';
import { createApp } from '../../bridge/src/http/app';
import type { AppDeps } from '../../bridge/src/http/app';
import { startHttpServer } from '../../bridge/src/http/server';
import type { RunningHttpServer } from '../../bridge/src/http/server';
import { createLogger } from '../../bridge/src/observability/logger';
import { createMetrics } from '../../bridge/src/observability/metrics';

/** Starts createApp on 127.0.0.1:0 with test defaults; log lines are kept for assertions. */
export const TEST_SECRET = 'test-webhook-secret';

export interface TestBridge extends RunningHttpServer {
    deps: AppDeps;
    logLines: () => Array<Record<string, unknown>>;
}

export async function startTestBridge(overrides: Partial<AppDeps> = {}): Promise<TestBridge> {
    const lines: string[] = [];
    const destination = new Writable({
        write(chunk: Buffer, _encoding, callback) {
            lines.push(chunk.toString('utf8'));
            callback();
        }
    });
    const deps: AppDeps = {
        webhookSecret: TEST_SECRET,
        logger: createLogger({ level: 'debug', destination }),
        metrics: createMetrics(),
        readiness: [],
        haptik: {},
        ...overrides
    };
    const server = await startHttpServer(createApp(deps), { port: 0, host: '127.0.0.1' });
    return {
        ...server,
        deps,
        logLines: () =>
            lines
                .join('')
                .split('\n')
                .filter((line) => line.trim() !== '')
                .map((line) => JSON.parse(line) as Record<string, unknown>)
    };
}
