/**
 * Measuring a file of unknown size on disk (BYOC's attachments need the size first): the bytes come back intact,
 * a file over the limit stops being read and leaves nothing behind, and so does a source that fails.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { spoolFile } from '../../bridge/src/files/file-spool';

/** The bytes in pieces, as a stream; `failAt`: the source breaks off there. */
function pieces(data: Buffer, size = 4096, failAt?: number): Readable {
    function* chunks(): Generator<Buffer> {
        for (let at = 0; at < data.length; at += size) {
            if (failAt !== undefined && at >= failAt) throw new Error('source broke off');
            yield data.subarray(at, at + size);
        }
    }
    return Readable.from(chunks());
}

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
}

describe('spoolFile', () => {
    let dir: string;

    beforeEach(async () => {
        dir = await mkdtemp(join(tmpdir(), 'spool-test-'));
    });

    afterEach(async () => {
        await rm(dir, { recursive: true, force: true });
    });

    it('gives the size and the same bytes back, and removes them on dispose', async () => {
        const data = randomBytes(100_000 + 3);
        const spooled = await spoolFile(pieces(data), 200_000, dir);
        expect(spooled?.size).toBe(data.length);
        expect((await readAll(spooled!.open())).equals(data)).toBe(true);
        expect(await readdir(dir)).toHaveLength(1);
        await spooled!.dispose();
        expect(await readdir(dir)).toEqual([]);
    });

    it('stops at the limit and keeps nothing', async () => {
        let read = 0;
        async function* counted(): AsyncGenerator<Uint8Array> {
            for await (const chunk of pieces(randomBytes(1_000_000)) as AsyncIterable<Buffer>) {
                read += chunk.length;
                yield chunk;
            }
        }
        expect(await spoolFile(counted(), 10_000, dir)).toBeUndefined();
        expect(read).toBeLessThan(20_000);
        expect(await readdir(dir)).toEqual([]);
    });

    it('passes a failing source on and keeps nothing', async () => {
        await expect(spoolFile(pieces(randomBytes(50_000), 4096, 20_000), 100_000, dir)).rejects.toThrow(
            'source broke off'
        );
        expect(await readdir(dir)).toEqual([]);
    });
});
