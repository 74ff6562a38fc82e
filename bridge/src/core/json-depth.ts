/**
 * How deep a parsed JSON value nests. Haptik's payloads are a few levels deep; a body nested thousands of
 * levels deep (which fits easily in 1 MiB) would overflow the stack of every recursive reader
 * (JSON.stringify, schema transforms, renderers), so it is refused where it comes in.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether objects and arrays nest deeper than `max` levels (the root is level 1). Iterative: safe at any depth. */
export function jsonDepthExceeds(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
    const stack: Array<{ value: object; depth: number }> = [];
    if (typeof value === 'object' && value !== null) stack.push({ value, depth: 1 });
    for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
        if (item.depth > max) return true;
        const inner: unknown[] = Array.isArray(item.value) ? item.value : Object.values(item.value);
        for (const child of inner) {
            if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: item.depth + 1 });
        }
    }
    return false;
}
