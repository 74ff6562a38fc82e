import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** BENCHMARKS.md at the repository root (scripts run from dist/scripts). */
export const BENCHMARKS_FILE = path.resolve(__dirname, '..', '..', 'BENCHMARKS.md');

/**
 * Replaces one benchmark's section of BENCHMARKS.md, found by its `<!-- bench:<id>:start/end -->` markers, with the
 * latest report; a section not there yet is appended under `heading`. Other sections stay as they are.
 */
export function writeBenchmarkSection(id: string, report: string, heading: string, file = BENCHMARKS_FILE): void {
    const start = `<!-- bench:${id}:start -->`;
    const end = `<!-- bench:${id}:end -->`;
    const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
    const section = `${start}\n${report}\n${end}`;
    const from = current.indexOf(start);
    const to = current.indexOf(end);
    const next =
        from >= 0 && to > from
            ? current.slice(0, from) + section + current.slice(to + end.length)
            : `${current.trimEnd()}\n\n${heading}\n\n${section}\n`;
    writeFileSync(file, next);
    console.log(`\nwritten to ${file}`);
}
