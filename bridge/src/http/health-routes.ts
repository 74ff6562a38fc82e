import express from 'express';
import type { Request, Response, Router } from 'express';
import { BridgeError, scrubForeignMessage } from '../core/errors';
import type { Metrics } from '../observability/metrics';

/** Operator routes: liveness, readiness and Prometheus metrics (contract §2). */
export interface ReadinessCheck {
    /** Shown in /readyz, e.g. `database`, `salesforce`. */
    name: string;
    /** Resolves when the dependency is usable; throws (ideally a BridgeError) when not. */
    check(): Promise<void>;
}

export type ReadinessResult = 'ok' | { code: string; message: string };

export const DEFAULT_READINESS_TIMEOUT_MS = 5000;

export function createHealthRouter(options: {
    readiness: readonly ReadinessCheck[];
    readinessTimeoutMs: number;
    metrics: Metrics;
}): Router {
    const router = express.Router();

    router.get('/healthz', (_req: Request, res: Response) => {
        res.locals.route = '/healthz';
        res.json({ status: 'ok' });
    });

    router.get('/readyz', async (_req: Request, res: Response) => {
        res.locals.route = '/readyz';
        const results = await Promise.all(
            options.readiness.map(
                async (check) => [check.name, await runCheck(check, options.readinessTimeoutMs)] as const
            )
        );
        const checks = Object.fromEntries(results) as Record<string, ReadinessResult>;
        const ready = results.every(([, result]) => result === 'ok');
        res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
    });

    router.get('/metrics', async (_req: Request, res: Response) => {
        res.locals.route = '/metrics';
        const text = await options.metrics.registry.metrics();
        res.setHeader('Content-Type', options.metrics.registry.contentType);
        res.send(text);
    });

    return router;
}

export async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<ReadinessResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
            () =>
                reject(new BridgeError('bridge_ready_timeout', `${check.name} did not answer within ${timeoutMs} ms`)),
            timeoutMs
        );
        timer.unref();
    });
    try {
        await Promise.race([check.check(), timeout]);
        return 'ok';
    } catch (error) {
        return describeFailure(error);
    } finally {
        clearTimeout(timer);
    }
}

/**
 * A BridgeError says what is wrong in its own words (they hold no secrets by rule); anything else
 * is shown by its message with URL credentials blanked, since driver errors may quote a connection string.
 */
function describeFailure(error: unknown): { code: string; message: string } {
    if (error instanceof BridgeError) return { code: error.code, message: error.message };
    const raw = error instanceof Error ? error.message : String(error);
    return { code: 'bridge_ready_check_failed', message: scrubForeignMessage(raw) };
}
