/**
 * Reading a record by a name that comes from outside (a URL, a payload, the mapping file): only the
 * record's own keys count, so `constructor`, `__proto__` or `toString` never reach Object.prototype.
 */
export function ownValue<T>(record: Readonly<Record<string, T>> | null | undefined, key: string): T | undefined {
    return record !== null && record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}
