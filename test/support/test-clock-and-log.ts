import { Writable } from 'node:stream';
import { createLogger } from '../../bridge/src/observability/logger';
import type { Logger } from '../../bridge/src/observability/logger';

/** A clock the test moves by hand, for backoff and lease expiry without waiting. */
export class ManualClock {
    private ms = Date.parse('2026-11-25T10:00:00.000Z');
    now(): Date {
        return new Date(this.ms);
    }
    advance(ms: number): void {
        this.ms += ms;
    }
}

/** A real pino logger writing into memory, so a test can read the lines an operator would see. */
export function captureLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
    const chunks: string[] = [];
    const destination = new Writable({
        write(chunk: Buffer, _encoding, callback) {
            chunks.push(chunk.toString('utf8'));
            callback();
        }
    });
    return {
        logger: createLogger({ level: 'info', destination }),
        lines: () =>
            chunks
                .join('')
                .split('\n')
                .filter((line) => line !== '')
                .map((line) => JSON.parse(line) as Record<string, unknown>)
    };
}
