import { appendFileSync } from 'node:fs';

/**
 * The figures of a fault test (what was injected, what came out), for docs/reliability.md: with
 * FAULT_FIGURES=<file> they are appended to that file as JSON lines.
 */
export function reportFigures(test: string, figures: Record<string, number | string>): void {
    const line = JSON.stringify({ test, ...figures });
    const file = process.env['FAULT_FIGURES'];
    if (file !== undefined && file !== '') appendFileSync(file, `${line}\n`);
}
