/**
 * BRIDGE_FILE_HOSTS (contract §1): the hosts the bridge may download a user's file from, and the address rules
 * that keep a file URL from reaching the bridge's own network (server-side request forgery).
 *
 * A rule is `host` (any port), `host:port`, or `*.domain` (any subdomain of `domain`, not `domain` itself).
 * Private, loopback, link-local and other special-purpose addresses are refused, unless the URL names the IP
 * address itself and a rule lists that address exactly (`127.0.0.1:4100`, `[::1]:4100`): a name that resolves
 * to such an address is always refused, so a DNS answer can never open the way in.
 */
import { BlockList, isIP } from 'node:net';

export interface HostRule {
    /** Lower-case host name or IP address (IPv6 without brackets); for a wildcard the domain after `*.`. */
    host: string;
    /** Port the rule is limited to, when given. */
    port?: number;
    wildcard: boolean;
}

/** Haptik's asset hosts (haptik.md, corrections): the default of BRIDGE_FILE_HOSTS. */
export const HAPTIK_ASSET_HOSTS = 'assets.haptikapi.com,haptikappimg.haptikapi.com,haptikappimg.s3.amazonaws.com';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

function validName(name: string): boolean {
    return name.length <= 253 && name.split('.').every((label) => LABEL.test(label));
}

/** Parses one comma-separated list; each problem names the entry and why it is wrong. */
export function parseHostRules(list: string): { rules: HostRule[]; problems: string[] } {
    const rules: HostRule[] = [];
    const problems: string[] = [];
    for (const raw of list.split(',')) {
        const entry = raw.trim().toLowerCase();
        if (entry === '') continue;
        const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(entry);
        const hostPart = match?.[1];
        const portPart = match?.[2];
        const port = portPart === undefined ? undefined : Number(portPart);
        if (hostPart === undefined || (port !== undefined && (port < 1 || port > 65_535))) {
            problems.push(`"${entry}" is not host, host:port or *.domain`);
            continue;
        }
        const bracketed = hostPart.startsWith('[');
        const host = bracketed ? hostPart.slice(1, -1) : hostPart;
        if (bracketed && isIP(host) !== 6) {
            problems.push(`"${entry}" is not an IPv6 address in brackets`);
            continue;
        }
        const wildcard = host.startsWith('*.');
        const name = wildcard ? host.slice(2) : host;
        if (isIP(name) === 0 && !validName(name)) {
            problems.push(`"${entry}" is not a host name`);
            continue;
        }
        if (wildcard && (isIP(name) !== 0 || !name.includes('.'))) {
            problems.push(`"${entry}": a wildcard needs a domain with a dot, e.g. *.example.com`);
            continue;
        }
        rules.push({ host: name, wildcard, ...(port === undefined ? {} : { port }) });
    }
    return { rules, problems };
}

/** The rule a URL's host and port match, if any. `hostname` as in WHATWG URL (IPv6 in brackets). */
export function matchHostRule(rules: readonly HostRule[], hostname: string, port: number): HostRule | undefined {
    const host = unbracket(hostname.toLowerCase()).replace(/\.$/, '');
    return rules.find((rule) => {
        if (rule.port !== undefined && rule.port !== port) return false;
        if (rule.wildcard) return host.endsWith(`.${rule.host}`);
        return rule.host === host;
    });
}

export function unbracket(hostname: string): string {
    return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/** Addresses no public file host has: RFC 6890 special-purpose blocks, loopback, private, link-local, multicast. */
const SPECIAL = new BlockList();
for (const [network, prefix] of [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.0.2.0', 24],
    ['192.88.99.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['198.51.100.0', 24],
    ['203.0.113.0', 24],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4]
] as const) {
    SPECIAL.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
    ['::', 128],
    ['::1', 128],
    ['64:ff9b::', 96],
    ['100::', 64],
    ['2001:db8::', 32],
    ['fc00::', 7],
    ['fe80::', 10],
    ['ff00::', 8]
] as const) {
    SPECIAL.addSubnet(network, prefix, 'ipv6');
}

/** True for an address the bridge must not connect to unless it is listed exactly. */
export function isSpecialAddress(address: string): boolean {
    const family = isIP(address);
    if (family === 4) return SPECIAL.check(address, 'ipv4');
    if (family !== 6) return true;
    const lower = address.toLowerCase();
    // IPv4-mapped (::ffff:a.b.c.d or ::ffff:7f00:1) and IPv4-compatible forms reach IPv4 hosts: judge the IPv4.
    const mapped = /^(?:0{0,4}:){0,4}:?(?:0{0,4}:)?ffff:(.+)$/.exec(lower);
    if (mapped?.[1] !== undefined) return isSpecialAddress(embeddedIpv4(mapped[1]) ?? '0.0.0.0');
    return SPECIAL.check(lower, 'ipv6');
}

function embeddedIpv4(tail: string): string | undefined {
    if (isIP(tail) === 4) return tail;
    const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(tail);
    if (!hex) return undefined;
    const high = parseInt(hex[1] ?? '0', 16);
    const low = parseInt(hex[2] ?? '0', 16);
    return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** A special address may be used only when the URL names it and a non-wildcard rule lists it exactly. */
export function listedExactly(rule: HostRule | undefined, address: string): boolean {
    return rule !== undefined && !rule.wildcard && isIP(rule.host) !== 0 && rule.host === address.toLowerCase();
}
