/**
 * Which user-supplied URLs the gateway will call. In production a URL may not name a
 * loopback, private, link-local or internal host, so a client cannot point the gateway at
 * its own network; local development and tests allow them.
 */
import { type ConfigVars, config } from "../config";
import { NOTIFY_HOOK_MAX_LENGTH } from "../tasks/model";

const BLOCKED_HOST_SUFFIXES = [".localhost", ".local", ".internal", ".lan", ".home.arpa"];

function ipv4Private(host: string): boolean {
	const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
	if (!m) return false;
	const [a, b] = [Number(m[1]), Number(m[2])];
	return (
		a === 0 ||
		a === 10 ||
		a === 127 ||
		(a === 100 && b >= 64 && b <= 127) ||
		(a === 169 && b === 254) ||
		(a === 172 && b >= 16 && b <= 31) ||
		(a === 192 && b === 168) ||
		(a === 198 && (b === 18 || b === 19)) ||
		a >= 224
	);
}

/** `host` is a URL's hostname: URL() has already compressed it and written any embedded IPv4 in hex. */
function ipv6Private(host: string): boolean {
	if (!host.startsWith("[")) return false;
	const ip = host.slice(1, -1);
	if (ip === "::" || ip === "::1") return true;
	if (/^f[cd]/.test(ip) || /^fe[89ab]/.test(ip)) return true;
	// IPv4-mapped: URL() turns ::ffff:10.0.0.1 into ::ffff:a00:1; judge the embedded address.
	const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ip);
	if (!mapped) return false;
	const [hi, lo] = [Number.parseInt(mapped[1], 16), Number.parseInt(mapped[2], 16)];
	return ipv4Private(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
}

/**
 * Why the gateway may not fetch this user- or admin-supplied URL, naming the field, or null.
 * Always: absolute http(s), no credentials, at most 2048 characters. In production also: a
 * public address (no loopback, private, link-local or internal host, however written).
 */
export function urlProblem(raw: string, env: ConfigVars, field: string): string | null {
	if (raw.length > NOTIFY_HOOK_MAX_LENGTH) return `${field} must be at most ${NOTIFY_HOOK_MAX_LENGTH} characters`;
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		return `${field} must be an absolute http(s) URL`;
	}
	if (url.protocol !== "http:" && url.protocol !== "https:") return `${field} must be an http(s) URL`;
	if (url.username || url.password) return `${field} must not carry credentials`;
	if (!config(env).production) return null;
	const host = url.hostname.toLowerCase();
	if (
		host === "localhost" ||
		(!host.includes(".") && !host.startsWith("[")) ||
		BLOCKED_HOST_SUFFIXES.some((suffix) => host.endsWith(suffix)) ||
		ipv4Private(host) ||
		ipv6Private(host)
	) {
		return `${field} must be a public address`;
	}
	return null;
}

/** Returns why a notifyHook is refused, or null when the gateway may call it. */
export function callbackUrlProblem(raw: string, env: ConfigVars): string | null {
	return urlProblem(raw, env, "notifyHook");
}
