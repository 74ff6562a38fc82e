/**
 * The load generator's tools, shared by the benchmarks: an open-loop scheduler that records how late the generator
 * itself sent each request, a cheap keep-alive HTTP client (node:http costs the generator less CPU per request than
 * fetch), percentiles, and a clock every process on the machine agrees on.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

/** Epoch milliseconds with sub-millisecond resolution; comparable with Date.now() in other processes. */
export const epochNow = (): number => performance.timeOrigin + performance.now();

/** Monotonic microseconds, the clock of `--cpu-prof` profiles in every process of this machine. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

export function percentile(values: readonly number[], p: number): number {
    if (values.length === 0) return Number.NaN;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface OpenLoopResult {
    /** How late the generator started each task after its due time (ms): large values mean the generator lagged. */
    sendLag: number[];
    /** The first task's due time (epoch ms). */
    t0: number;
    /** From the first due time to the last task's end, ms. */
    elapsedMs: number;
}

/**
 * Runs `count` tasks at `rate` per second, open loop: task i is due at t0 + i / rate (epoch ms, see epochNow) and
 * starts then whatever the earlier ones are doing, so a slow server is not hidden by the generator waiting for it.
 * Tasks due in the same timer turn start together and may be batched by the caller (`batch`).
 */
export async function openLoop(
    count: number,
    rate: number,
    task: (i: number, due: number) => Promise<void>,
    batch?: () => void
): Promise<OpenLoopResult> {
    const sendLag: number[] = [];
    const running: Array<Promise<void>> = [];
    const t0 = epochNow() + 20;
    let next = 0;
    let lastEnd = t0;
    await new Promise<void>((resolve) => {
        const tick = (): void => {
            const now = epochNow();
            while (next < count && t0 + (next * 1000) / rate <= now) {
                const due = t0 + (next * 1000) / rate;
                sendLag.push(now - due);
                running.push(
                    task(next, due).finally(() => {
                        lastEnd = Math.max(lastEnd, epochNow());
                    })
                );
                next += 1;
            }
            batch?.();
            if (next >= count) resolve();
            else setTimeout(tick, Math.max(0, Math.min(2, t0 + (next * 1000) / rate - epochNow())));
        };
        setTimeout(tick, 20);
    });
    await Promise.all(running);
    return { sendLag, t0, elapsedMs: lastEnd - t0 };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

/** POSTs a body over a keep-alive connection; resolves with the status once the answer is read. */
export function httpPost(url: string, body: string, headers: Record<string, string> = {}): Promise<number> {
    return httpRequest('POST', url, body, headers).then((r) => r.status);
}

export function httpRequest(
    method: string,
    url: string,
    body?: string,
    headers: Record<string, string> = {}
): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
        const request = http.request(
            url,
            {
                method,
                agent,
                headers: {
                    ...(body === undefined
                        ? {}
                        : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }),
                    ...headers
                }
            },
            (response) => {
                const chunks: Buffer[] = [];
                response.on('data', (chunk: Buffer) => chunks.push(chunk));
                response.on('end', () =>
                    resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') })
                );
                response.on('error', reject);
            }
        );
        request.on('error', reject);
        request.end(body);
    });
}

/** Latency figures of one series, ms. */
export const p = (values: readonly number[]): { p50: number; p99: number; max: number } => ({
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    max: values.length === 0 ? Number.NaN : values.reduce((a, b) => Math.max(a, b), -Infinity)
});

export const fmtMs = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(1)} ms` : 'n/a');
