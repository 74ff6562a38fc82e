/**
 * Downloads a user's file for the agent, safely (issue 18): only from BRIDGE_FILE_HOSTS, never from the bridge's
 * own network, within a size and a type limit, as a stream (the file is never held in memory) and within one
 * deadline for the whole call, body included.
 *
 * Why each guard:
 * - The host check runs on every hop: a redirect is followed only to a URL that passes the same checks
 *   (at most `maxRedirects`), so an allowed host cannot bounce the bridge elsewhere.
 * - DNS is checked inside the connection's own lookup: the address that passed the check is the one connected
 *   to (a name that answers a public address to the check and a private one to the connect — DNS rebinding —
 *   gets no second answer). Any special-purpose address in the answer refuses the host.
 * - The size limit is checked against Content-Length before the body is read and counted while it streams, so
 *   a server that lies about the length is cut off at the limit.
 */
import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import { Transform } from 'node:stream';
import type { Readable, TransformCallback } from 'node:stream';
import { Agent, request } from 'undici';
import { BridgeError } from '../core/errors';
import type { BridgeErrorCode } from '../core/errors';
import { isSpecialAddress, listedExactly, matchHostRule, unbracket } from './host-rules';
import type { HostRule } from './host-rules';
import { contentTypeAllowed, fileNameOf, typeFromName } from './file-names';

export interface FileLimits {
    /** BRIDGE_FILE_MAX_BYTES. */
    maxBytes: number;
    /** BRIDGE_FILE_TYPES: `type/subtype` or `type/*` entries. */
    allowedTypes: readonly string[];
    /** BRIDGE_FILE_TIMEOUT_SECONDS × 1000: the whole download, redirects and body included. */
    deadlineMs: number;
}

/** Resolves a host name to every address it has (the default is the system resolver). */
export type ResolveAll = (hostname: string) => Promise<LookupAddress[]>;

export interface FileFetcherOptions extends FileLimits {
    hosts: readonly HostRule[];
    maxRedirects?: number;
    /** For tests: a resolver to stand in for DNS. */
    resolve?: ResolveAll;
}

export interface FetchedFile {
    /** The URL the file came from, after redirects. */
    url: string;
    /** Lower-case `type/subtype`, parameters dropped. */
    contentType: string;
    /** From Content-Length, when the server sent it (already checked against the limit). */
    contentLength: number | undefined;
    /** From Content-Disposition, else the URL's last path segment; safe to show and to send on. */
    fileName: string;
    /** The body, cut off with `bridge_files_too_large` at the limit and `bridge_files_timeout` at the deadline. */
    body: Readable;
}

export interface FileFetcher {
    /** Opens a download; the caller reads `body` to its end or destroys it. */
    open(url: string, options?: { signal?: AbortSignal }): Promise<FetchedFile>;
    close(): Promise<void>;
}

const filesError = (
    code: BridgeErrorCode,
    message: string,
    details: Record<string, unknown>,
    cause?: unknown
): BridgeError => new BridgeError(code, message, { details, ...(cause === undefined ? {} : { cause }) });

const systemResolve: ResolveAll = (hostname) =>
    new Promise((resolve, reject) => {
        dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => {
            if (error) reject(error);
            else resolve(addresses);
        });
    });

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `net.connect` lookup that answers only addresses that passed the check, so the connection uses the very
 * addresses that were checked. IP literals never reach it (Node connects to them directly): they are checked
 * before the request.
 */
function checkedLookup(resolve: ResolveAll) {
    return (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback): void => {
        resolve(hostname).then(
            (addresses) => {
                const refused = addresses.find((a) => isSpecialAddress(a.address));
                if (addresses.length === 0 || refused !== undefined) {
                    const error = filesError(
                        'bridge_files_address_refused',
                        'The file host resolves to a private, loopback or otherwise special address',
                        { retryable: false }
                    );
                    callback(error, '', 0);
                    return;
                }
                const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
                const usable = family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : addresses;
                if (options.all === true) callback(null, usable);
                else callback(null, usable[0]?.address ?? '', usable[0]?.family ?? 4);
            },
            (error: unknown) => callback(error as NodeJS.ErrnoException, '', 0)
        );
    };
}

/** Checks one hop's URL: scheme, credentials, host rule, IP-literal address. */
function checkUrl(raw: string, hosts: readonly HostRule[]): URL {
    if (!URL.canParse(raw))
        throw filesError('bridge_files_url_invalid', 'The file URL is not a URL', { retryable: false });
    const url = new URL(raw);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw filesError('bridge_files_url_invalid', 'The file URL is not http(s)', { retryable: false });
    }
    if (url.username !== '' || url.password !== '') {
        throw filesError('bridge_files_url_invalid', 'The file URL carries credentials', { retryable: false });
    }
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    const rule = matchHostRule(hosts, url.hostname, port);
    if (rule === undefined) {
        throw filesError('bridge_files_host_refused', 'The file URL is not on a host in BRIDGE_FILE_HOSTS', {
            retryable: false,
            host: url.hostname
        });
    }
    const literal = unbracket(url.hostname);
    const exact = isIP(literal) !== 0 && listedExactly(rule, literal);
    if (isIP(literal) !== 0 && isSpecialAddress(literal) && !exact) {
        throw filesError(
            'bridge_files_address_refused',
            'The file URL names a private, loopback or otherwise special address that BRIDGE_FILE_HOSTS does not list exactly',
            { retryable: false, host: url.hostname }
        );
    }
    // Plain http only to an address listed exactly (a test or an in-cluster server); the Internet needs TLS.
    if (url.protocol === 'http:' && !exact) {
        throw filesError('bridge_files_url_invalid', 'The file URL is not https', {
            retryable: false,
            host: url.hostname
        });
    }
    return url;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
}

/** Counts bytes as they pass and fails the stream at the limit. */
class SizeLimit extends Transform {
    private seen = 0;
    constructor(private readonly maxBytes: number) {
        super();
    }
    override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
        this.seen += chunk.length;
        if (this.seen > this.maxBytes) {
            callback(
                filesError('bridge_files_too_large', `The file is larger than ${this.maxBytes} bytes`, {
                    retryable: false,
                    maxBytes: this.maxBytes
                })
            );
            return;
        }
        callback(null, chunk);
    }
}

/** Drops a body the caller will not get (undici reports the abort as an error nobody should see). */
function discard(body: Readable): void {
    body.on('error', () => undefined);
    body.destroy();
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export function createFileFetcher(options: FileFetcherOptions): FileFetcher {
    const maxRedirects = options.maxRedirects ?? 3;
    const agent = new Agent({
        connect: { lookup: checkedLookup(options.resolve ?? systemResolve) },
        // Abandoned downloads must not keep sockets for long.
        keepAliveTimeout: 4_000,
        headersTimeout: options.deadlineMs,
        bodyTimeout: options.deadlineMs
    });

    return {
        async open(rawUrl, openOptions = {}) {
            const deadline = AbortSignal.timeout(options.deadlineMs);
            const signal =
                openOptions.signal === undefined ? deadline : AbortSignal.any([deadline, openOptions.signal]);
            const timeoutError = (): BridgeError =>
                filesError('bridge_files_timeout', `The file did not arrive within ${options.deadlineMs} ms`, {
                    retryable: true
                });
            let url = checkUrl(rawUrl, options.hosts);
            for (let hop = 0; ; hop++) {
                let response: Awaited<ReturnType<typeof request>>;
                try {
                    response = await request(url, {
                        method: 'GET',
                        dispatcher: agent,
                        signal,
                        headers: { accept: '*/*', 'user-agent': 'haptik-salesforce-bridge' }
                    });
                } catch (error) {
                    if (error instanceof BridgeError) throw error;
                    const cause = (error as { cause?: unknown }).cause;
                    if (cause instanceof BridgeError) throw cause;
                    if (deadline.aborted) throw timeoutError();
                    throw filesError(
                        'bridge_files_unavailable',
                        'The file host could not be reached',
                        { retryable: true },
                        error
                    );
                }
                const { statusCode, headers, body } = response;
                if (REDIRECTS.has(statusCode)) {
                    discard(body);
                    const location = header(headers, 'location');
                    if (hop >= maxRedirects || location === undefined) {
                        throw filesError(
                            'bridge_files_redirect_refused',
                            'The file host redirects too often or nowhere',
                            {
                                retryable: false
                            }
                        );
                    }
                    const next = URL.canParse(location, url.toString()) ? new URL(location, url).toString() : location;
                    try {
                        url = checkUrl(next, options.hosts);
                    } catch (error) {
                        throw filesError(
                            'bridge_files_redirect_refused',
                            'The file host redirects to a URL the bridge may not download from',
                            { retryable: false },
                            error
                        );
                    }
                    continue;
                }
                if (statusCode < 200 || statusCode >= 300) {
                    discard(body);
                    const retryable = statusCode === 429 || statusCode >= 500;
                    throw filesError(
                        retryable ? 'bridge_files_unavailable' : 'bridge_files_rejected',
                        `The file host answered ${statusCode}`,
                        { retryable, status: statusCode }
                    );
                }
                const length = Number(header(headers, 'content-length') ?? Number.NaN);
                const contentLength = Number.isSafeInteger(length) && length >= 0 ? length : undefined;
                const fileName = fileNameOf(header(headers, 'content-disposition'), url);
                const declared = (header(headers, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
                const contentType =
                    declared === '' || declared === 'application/octet-stream'
                        ? (typeFromName(fileName) ?? 'application/octet-stream')
                        : declared;
                if (contentLength !== undefined && contentLength > options.maxBytes) {
                    discard(body);
                    throw filesError('bridge_files_too_large', `The file is larger than ${options.maxBytes} bytes`, {
                        retryable: false,
                        maxBytes: options.maxBytes,
                        size: contentLength
                    });
                }
                if (!contentTypeAllowed(contentType, options.allowedTypes)) {
                    discard(body);
                    throw filesError('bridge_files_type_refused', 'The file type is not in BRIDGE_FILE_TYPES', {
                        retryable: false,
                        contentType
                    });
                }
                const limited = new SizeLimit(options.maxBytes);
                // undici ends an aborted body with its own AbortError: the caller sees the bridge's code instead.
                body.on('error', (error) => {
                    limited.destroy(
                        deadline.aborted
                            ? timeoutError()
                            : filesError(
                                  'bridge_files_unavailable',
                                  'The file download broke off',
                                  { retryable: true },
                                  error
                              )
                    );
                });
                limited.on('close', () => {
                    if (!body.destroyed) discard(body);
                });
                body.pipe(limited);
                return { url: url.toString(), contentType, contentLength, fileName, body: limited };
            }
        },
        async close() {
            await agent.close();
        }
    };
}
