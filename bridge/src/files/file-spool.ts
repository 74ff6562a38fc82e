/**
 * Measures a file of unknown size by writing it to a private temporary file: an API that needs the size before
 * the bytes (BYOC's `AttachmentInteraction.contentLength`, required) gets it without the file ever being held in
 * memory. Reading stops as soon as the file passes `maxBytes`; the temporary file is removed on dispose and on
 * any failure.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

export interface SpooledFile {
    size: number;
    /** The bytes again, from disk (read once per call). */
    open(): Readable;
    dispose(): Promise<void>;
}

/** The spooled file, or undefined when it is larger than `maxBytes` (nothing is kept then). */
export async function spoolFile(
    body: AsyncIterable<Uint8Array>,
    maxBytes: number,
    dir: string = tmpdir()
): Promise<SpooledFile | undefined> {
    const folder = await mkdtemp(join(dir, 'bridge-spool-'));
    const path = join(folder, 'file');
    const dispose = () => rm(folder, { recursive: true, force: true });
    const out = createWriteStream(path, { mode: 0o600 });
    // A write failure (disk full) is thrown below; writes still queued when the file is given up fail on purpose.
    let writeError: Error | undefined;
    out.on('error', (error) => {
        writeError ??= error;
    });
    let size = 0;
    try {
        for await (const chunk of body) {
            size += chunk.length;
            if (size > maxBytes) {
                out.destroy();
                await dispose();
                return undefined;
            }
            if (writeError !== undefined) throw writeError;
            if (!out.write(chunk)) await once(out, 'drain');
        }
        out.end();
        await once(out, 'finish');
        if (writeError !== undefined) throw writeError;
    } catch (error) {
        out.destroy();
        await dispose();
        throw error;
    }
    return { size, open: () => createReadStream(path), dispose };
}
