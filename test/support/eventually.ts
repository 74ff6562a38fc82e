/**
 * Polls until `probe` returns a value other than undefined, for effects that happen in the background
 * (the outbox worker, a stream); fails with the last error after the timeout. Waits, never asserts a duration.
 */
export async function eventually<T>(
    probe: () => Promise<T | undefined> | T | undefined,
    timeoutMs = 10_000
): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
        try {
            const value = await probe();
            if (value !== undefined) return value;
        } catch (error) {
            lastError = error;
        }
        if (Date.now() > deadline) {
            throw new Error(
                `condition not met within ${timeoutMs} ms${lastError instanceof Error ? `: ${lastError.message}` : ''}`
            );
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}
