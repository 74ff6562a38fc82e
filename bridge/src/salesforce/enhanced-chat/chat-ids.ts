/**
 * Ids the Enhanced Chat API wants as lower-case UUIDs (conversation ids, message ids). The bridge's own
 * ids may have any shape, so a non-UUID key is turned into a name-based UUID (RFC 4122 version 5
 * layout over SHA-1): the same key always gives the same UUID, so a retried send is not a new message.
 */
import { createHash } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Namespace of this connector's derived ids (a fixed random UUID). */
const NAMESPACE = Buffer.from('5d0b5f6e8a3c4c1fa1f9c0a7e2b64d11', 'hex');

export function isUuid(value: string): boolean {
    return UUID.test(value);
}

/** A deterministic version-5 UUID for `key` within `scope` (e.g. "message", "conversation"). */
export function uuidFromKey(scope: string, key: string): string {
    const hash = createHash('sha1').update(NAMESPACE).update(`${scope}:${key}`, 'utf8').digest();
    const bytes = hash.subarray(0, 16);
    bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
    bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The key itself when it already is a UUID (lower-cased), else its derived UUID. */
export function toChatUuid(scope: string, key: string): string {
    return isUuid(key) ? key.toLowerCase() : uuidFromKey(scope, key);
}
