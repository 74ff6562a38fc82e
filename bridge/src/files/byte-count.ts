import { Readable, Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { BridgeError } from '../core/errors';

/** A stream passed through unchanged, counting its bytes: how the bridge learns a file's size when no header said. */
export interface CountedStream {
    body: Readable;
    /** Bytes passed so far. */
    bytes(): number;
    /** Whether the stream ended normally (the count is then the file's size). */
    complete(): boolean;
}

/** With `maxBytes`, the stream fails with `bridge_files_too_large` (final) once it passes that many bytes. */
export function countBytes(source: AsyncIterable<Uint8Array>, options: { maxBytes?: number } = {}): CountedStream {
    let seen = 0;
    let ended = false;
    const { maxBytes } = options;
    const counter = new Transform({
        transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
            seen += chunk.length;
            if (maxBytes !== undefined && seen > maxBytes) {
                callback(
                    new BridgeError('bridge_files_too_large', `The file is larger than ${maxBytes} bytes`, {
                        details: { retryable: false, maxBytes }
                    })
                );
                return;
            }
            callback(null, chunk);
        },
        flush(callback: TransformCallback) {
            ended = true;
            callback();
        }
    });
    const input = source instanceof Readable ? source : Readable.from(source);
    // An error of the source reaches the reader, and a reader that stops early releases the source.
    input.on('error', (error: Error) => counter.destroy(error));
    counter.on('close', () => {
        if (!input.destroyed) input.destroy();
    });
    // The limit may be passed before the reader starts (the source fills the buffer meanwhile): the error is kept on
    // the stream and thrown to the reader when it reads, not raised as an unhandled 'error' event.
    counter.on('error', () => undefined);
    input.pipe(counter);
    return { body: counter, bytes: () => seen, complete: () => ended };
}
