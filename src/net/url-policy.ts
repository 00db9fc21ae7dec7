/**
 * The one policy for every URL the gateway fetches that someone else chose: client callbacks,
 * album and template picture URLs, channel base URLs, and the image and video URLs an upstream
 * hands over. In production a URL may not name a loopback, private, link-local, reserved or
 * internal host, however it is written, so nobody can point the gateway at a network behind it.
 *
 * Workers cannot resolve DNS before a fetch, so this judges the URL as written (after the WHATWG
 * parser has normalised it: `2130706433`, `0177.0.0.1` and `0x7f.1` all reach here as
 * `127.0.0.1`, IPv6 as compressed lowercase hex). A public name whose DNS answer is private is
 * not caught here; docs/url-policy.md says what the platform does about that.
 */
import { config } from "../config";
import { NOTIFY_HOOK_MAX_LENGTH } from "../vocabulary";

/** Longest URL the gateway stores or fetches. */
export const URL_MAX_LENGTH = NOTIFY_HOOK_MAX_LENGTH;

/**
 * Last labels that only mean something on a private network: RFC 6761/6762 (`localhost`,
 * `local`, `invalid`), 7686 (`onion`), 8375 (`home.arpa`, and all of `arpa`), 9476 (`alt`), the
 * ICANN names never to be delegated (`internal`, `corp`, `home`, `lan`, …), and the labels a
 * Kubernetes search path completes (`kubernetes.default` → `kubernetes.default.svc.cluster.local`:
 * `default` is the namespace every cluster has, `svc` and `pod` its record kinds, `cluster` the
 * usual domain). `.test` and `.example` are left out on purpose: RFC 6761 asks applications not
 * to treat them specially, and the public DNS Workers use never resolves them, so they reach nothing.
 */
const INTERNAL_TLDS = new Set([
	"localhost",
	"local",
	"localdomain",
	"internal",
	"intranet",
	"private",
	"corp",
	"home",
	"lan",
	"arpa",
	"invalid",
	"onion",
	"alt",
	"svc",
	"pod",
	"cluster",
	"default",
]);

/**
 * What a public top-level label looks like: letters only (2–63), or an internationalised TLD in
 * its ASCII form (`xn--…`, as the URL parser writes every IDN). A last label with a digit or a
 * hyphen (`svc.ns-1`, `db.prod2`) is no TLD anywhere, so the name can only resolve through a
 * local search domain.
 */
const TLD_SHAPE = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

/** [first address, prefix length] of IPv4 ranges that are not public unicast (IANA special-purpose registry). */
const IPV4_BLOCKED: readonly [string, number][] = [
	["0.0.0.0", 8], // "this network"
	["10.0.0.0", 8], // private
	["100.64.0.0", 10], // carrier-grade NAT
	["127.0.0.0", 8], // loopback
	["169.254.0.0", 16], // link-local, cloud metadata services
	["172.16.0.0", 12], // private
	["192.0.0.0", 24], // IETF protocol assignments
	["192.0.2.0", 24], // documentation (TEST-NET-1)
	["192.88.99.0", 24], // 6to4 relay anycast (deprecated)
	["192.168.0.0", 16], // private
	["198.18.0.0", 15], // benchmarking
	["198.51.100.0", 24], // documentation (TEST-NET-2)
	["203.0.113.0", 24], // documentation (TEST-NET-3)
	["224.0.0.0", 4], // multicast
	["240.0.0.0", 4], // reserved, and 255.255.255.255 broadcast
];

/** The 32-bit value of a dotted-quad IPv4 address, or null when `text` is not one. */
function ipv4Value(text: string): number | null {
	const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
	if (!m) return null;
	const octets = m.slice(1).map(Number);
	if (octets.some((o) => o > 255)) return null;
	return ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
}

const IPV4_RANGES = IPV4_BLOCKED.map(([first, bits]) => {
	const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
	return { network: ((ipv4Value(first) ?? 0) & mask) >>> 0, mask };
});

function ipv4Blocked(value: number): boolean {
	return IPV4_RANGES.some(({ network, mask }) => (value & mask) >>> 0 === network);
}

/** The eight 16-bit groups of an IPv6 address (brackets removed), or null when it is not one. */
function ipv6Groups(text: string): number[] | null {
	let body = text;
	const tail: number[] = [];
	// A trailing dotted quad (::ffff:1.2.3.4) is two groups.
	const dotted = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(body);
	if (dotted) {
		const v4 = ipv4Value(dotted[2]);
		if (v4 === null) return null;
		body = dotted[1].endsWith("::") ? dotted[1] : dotted[1].slice(0, -1);
		tail.push(v4 >>> 16, v4 & 0xffff);
	}
	const halves = body.split("::");
	if (halves.length > 2) return null;
	const parse = (part: string) =>
		part === "" ? [] : part.split(":").map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? Number.parseInt(g, 16) : Number.NaN));
	const head = parse(halves[0]);
	const rest = halves.length === 2 ? parse(halves[1]) : [];
	const known = head.length + rest.length + tail.length;
	if (halves.length === 1 && known !== 8) return null;
	if (halves.length === 2 && known > 7) return null;
	const groups = [...head, ...Array<number>(8 - known).fill(0), ...rest, ...tail];
	return groups.some(Number.isNaN) ? null : groups;
}

/** The IPv4 address held in groups i and i+1. */
const embedded = (g: number[], i: number) => ((g[i] << 16) | g[i + 1]) >>> 0;

/**
 * Whether an IPv6 address may not be fetched. Only global unicast (2000::/3) is public; inside
 * it the IETF protocol block 2001::/23 (Teredo, benchmarking, ORCHID), documentation
 * (2001:db8::/32, 3fff::/20) and SRv6 (5f00::/16) are refused. Forms that carry an IPv4 address
 * (mapped ::ffff:0:0/96, translated ::ffff:0:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged
 * by that address. Everything else (::/96 v4-compatible and loopback, 64:ff9b:1::/48 local NAT64,
 * 100::/64 discard, fc00::/7, fec0::/10, fe80::/10, ff00::/8) is refused.
 */
function ipv6Blocked(g: number[]): boolean {
	const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
	if (zeros(5) && g[5] === 0xffff) return ipv4Blocked(embedded(g, 6));
	if (zeros(4) && g[4] === 0xffff && g[5] === 0) return ipv4Blocked(embedded(g, 6));
	if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return ipv4Blocked(embedded(g, 6));
	if (g[0] === 0x2002) return ipv4Blocked(embedded(g, 1));
	if ((g[0] & 0xe000) !== 0x2000) return true;
	if (g[0] === 0x2001 && g[1] < 0x200) return true;
	if (g[0] === 0x2001 && g[1] === 0xdb8) return true;
	if (g[0] === 0x3fff && g[1] < 0x1000) return true;
	return g[0] === 0x5f00;
}

/** Whether a parsed URL's hostname names a host the gateway may not reach in production. */
function hostBlocked(hostname: string): boolean {
	const host = hostname.toLowerCase().replace(/\.+$/, "");
	if (host.startsWith("[")) {
		const groups = ipv6Groups(host.slice(1, -1));
		return groups === null || ipv6Blocked(groups);
	}
	const v4 = ipv4Value(host);
	if (v4 !== null) return ipv4Blocked(v4);
	// A single label (`intranet`, `metadata`) is resolved against a local search domain, if at all;
	// so is a name whose last label is no public TLD (`kubernetes.default`, `redis.ns-1`).
	const tld = host.slice(host.lastIndexOf(".") + 1);
	return !host.includes(".") || !TLD_SHAPE.test(tld) || INTERNAL_TLDS.has(tld);
}

/** Knobs of the policy for one sink. */
export interface UrlPolicyOptions {
	/**
	 * An origin trusted although it may be private: the channel's own base URL when the URL was
	 * handed over by that channel's upstream, which an admin configured. Only the address check
	 * is waived for it; scheme, credentials and length still apply.
	 */
	trustedOrigin?: string | null;
}

/**
 * Why the gateway may not fetch this URL, naming the field, or null. Always: absolute http(s), no
 * credentials, at most URL_MAX_LENGTH characters. In production also a public address, unless the
 * URL is on `options.trustedOrigin`. Any port is allowed.
 */
export function urlProblem(
	raw: string,
	env: Pick<Env, "ENVIRONMENT">,
	field: string,
	options: UrlPolicyOptions = {},
): string | null {
	if (raw.length > URL_MAX_LENGTH) return `${field} must be at most ${URL_MAX_LENGTH} characters`;
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		return `${field} must be an absolute http(s) URL`;
	}
	if (url.protocol !== "http:" && url.protocol !== "https:") return `${field} must be an http(s) URL`;
	if (url.username || url.password) return `${field} must not carry credentials`;
	if (!config(env).production) return null;
	if (options.trustedOrigin && sameOrigin(url, options.trustedOrigin)) return null;
	return hostBlocked(url.hostname) ? `${field} must be a public address` : null;
}

function sameOrigin(url: URL, trusted: string): boolean {
	try {
		return new URL(trusted).origin === url.origin;
	} catch {
		return false;
	}
}

/** Returns why a notifyHook is refused, or null when the gateway may call it. */
export function callbackUrlProblem(raw: string, env: Pick<Env, "ENVIRONMENT">): string | null {
	return urlProblem(raw, env, "notifyHook");
}

/**
 * A URL fit for logs: origin and path only, since a query string or fragment may carry a
 * signature or token of the upstream's.
 */
export function redactUrl(raw: string): string {
	try {
		const url = new URL(raw);
		return `${url.origin}${url.pathname}`;
	} catch {
		return "(not a URL)";
	}
}
