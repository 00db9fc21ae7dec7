/**
 * The URL policy, as every sink applies it in production: client notifyHooks, channel base URLs,
 * album and template picture downloads, and the image and video URLs an upstream hands over,
 * including every redirect hop. A refused URL is never fetched.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Fetch } from "../../src/deps";
import { downloadImage } from "../../src/images/upload";
import { fetchPublic, UrlRefusedError } from "../../src/net/fetch-public";
import { fetchUpstreamMedia } from "../../src/net/upstream-media";
import { callbackUrlProblem, redactUrl, urlProblem } from "../../src/net/url-policy";

const production = { ENVIRONMENT: "production" };
const development = { ENVIRONMENT: "development" };
const productionEnv: Env = { ...env, ENVIRONMENT: "production" };

/** Every way of naming a host the gateway must not reach that the WHATWG parser accepts. */
const INTERNAL = [
	// IPv4, however written: the parser turns all of these into a dotted quad first.
	"http://127.0.0.1/",
	"http://127.255.255.254/",
	"http://2130706433/",
	"http://0177.0.0.1/",
	"http://0x7f.1/",
	"http://0x7f000001/",
	"http://017700000001/",
	"http://127.1/",
	"http://127.0.0.1./",
	"http://%31%32%37.0.0.1/",
	"http://１２７.０.０.１/",
	"http://0/",
	"http://0.0.0.0/",
	"http://0.1.2.3/",
	"http://10.0.0.1/",
	"http://10.255.255.255/",
	"http://100.64.0.1/",
	"http://100.127.255.255/",
	"http://169.254.169.254/latest/meta-data/",
	"http://172.16.0.1/",
	"http://172.31.255.255/",
	"http://192.0.0.8/",
	"http://192.0.2.1/",
	"http://192.88.99.1/",
	"http://192.168.1.1/",
	"http://198.18.0.1/",
	"http://198.19.255.255/",
	"http://198.51.100.7/",
	"http://203.0.113.9/",
	"http://224.0.0.1/",
	"http://239.255.255.250/",
	"http://240.0.0.1/",
	"http://255.255.255.255/",
	"http://4294967295/",
	// Names of loopback, private and cluster networks, with and without the trailing root dot.
	"http://localhost/",
	"http://LOCALHOST:8787/",
	"http://localhost./",
	"http://%6c%6f%63%61%6c%68%6f%73%74/",
	"http://ⓛocalhost/",
	"http://api.localhost/",
	"http://localhost.localdomain/",
	"http://ip6-localhost/",
	"http://metadata/",
	"http://intranet/",
	"http://metadata.google.internal/computeMetadata/v1/",
	"http://metadata.google.internal./",
	"http://db.internal/",
	"http://printer.local/",
	"http://foo.local./",
	"http://kubernetes.default.svc/",
	"http://kubernetes.default.svc./",
	"http://api.default.svc.cluster.local/",
	"http://wiki.intranet/",
	"http://git.corp/",
	"http://nas.home/",
	"http://router.lan/",
	"http://box.localdomain/",
	"http://vault.private/",
	"http://router.home.arpa/",
	"http://1.0.0.127.in-addr.arpa/",
	"http://nothing.invalid/",
	"http://hidden.onion/",
	"http://name.alt/",
	// Names a cluster's search path completes: a namespace, a record kind or no TLD as last label.
	"http://kubernetes.default/",
	"http://kubernetes.default./",
	"http://KUBERNETES.DEFAULT/api",
	"http://kubernetes.default.svc.cluster/",
	"http://my-svc.my-namespace.svc/",
	"http://10-0-0-5.default.pod/",
	"http://10-0-0-5.my-namespace.pod.cluster.local/",
	"http://redis.ns-1/",
	"http://db.prod2/",
	"http://db.x/",
	"http://db.under_score/",
	// IPv6: loopback, unspecified, v4-compatible, v4-mapped and -translated, NAT64, 6to4, Teredo.
	"http://[::1]/",
	"http://[0:0:0:0:0:0:0:1]/",
	"http://[::]/",
	"http://[::127.0.0.1]/",
	"http://[::a00:1]/",
	"http://[::8.8.8.8]/",
	"http://[::ffff:127.0.0.1]/",
	"http://[::ffff:7f00:1]/",
	"http://[::ffff:a00:1]/",
	"http://[::ffff:169.254.169.254]/",
	"http://[::ffff:0:10.0.0.1]/",
	"http://[64:ff9b::10.0.0.1]/",
	"http://[64:ff9b::7f00:1]/",
	"http://[64:ff9b::a9fe:a9fe]/",
	"http://[64:ff9b:1::8.8.8.8]/",
	"http://[2002:a00:1::]/",
	"http://[2002:7f00:1::1]/",
	"http://[2002:c0a8:101::]/",
	"http://[2002:a9fe:a9fe::1]/",
	"http://[2001::1]/",
	"http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
	"http://[2001:2::1]/",
	"http://[2001:db8::1]/",
	"http://[3fff::1]/",
	"http://[100::1]/",
	"http://[5f00::1]/",
	// Unique-local, link-local, site-local, multicast.
	"http://[fc00::1]/",
	"http://[fd12:3456::1]/",
	"http://[fe80::1]/",
	"http://[febf::1]/",
	"http://[fec0::1]/",
	"http://[feff::1]/",
	"http://[ff02::1]/",
	"http://[ff0e::1]/",
];

/** Public addresses next to the refused ranges, and names that only look internal. */
const PUBLIC = [
	"https://hooks.example.com/mj",
	"http://www.baidu.com",
	"https://cdn.example.com:8443/any-port-is-allowed.png",
	"https://8.8.8.8/x",
	"http://1.1.1.1:8080/",
	"http://11.0.0.1/",
	"http://100.63.255.255/",
	"http://100.128.0.1/",
	"http://126.255.255.255/",
	"http://128.0.0.1/",
	"http://169.253.0.1/",
	"http://172.15.255.255/",
	"http://172.32.0.1/",
	"http://192.0.1.1/",
	"http://192.169.0.1/",
	"http://198.17.255.255/",
	"http://198.20.0.1/",
	"http://223.255.255.255/",
	"https://[2606:4700::1111]/",
	"https://[2001:4860:4860::8888]/",
	"http://[::ffff:8.8.8.8]/",
	"http://[64:ff9b::8.8.8.8]/",
	"http://[2002:808:808::]/",
	"http://localhost.example.com/",
	"http://internal.example.com/",
	"http://local.com/",
	"http://svc.example.net/",
	"http://default.example.org/",
	"http://kubernetes.default.example.com./",
	"https://xn--fiqs8s.xn--fiqs8s/",
	"https://例子.中国/",
	// RFC 6761 asks applications not to treat these as special; public DNS never resolves them.
	"http://cdn.example/a.png",
	"http://upstream.test/x",
];

/** A fetch that records every URL it is asked for; `routes` answer some of them. */
function recorder(routes: Record<string, () => Response> = {}): { fetch: Fetch; seen: string[] } {
	const seen: string[] = [];
	return {
		seen,
		fetch: async (input, init) => {
			const url = input instanceof Request ? input.url : String(input);
			seen.push(url);
			expect(init?.redirect ?? (input instanceof Request ? input.redirect : undefined)).toBe("manual");
			return routes[url]?.() ?? new Response("ok", { headers: { "content-type": "image/png" } });
		},
	};
}

/** A redirect answer; a non-ASCII target is sent as the parser would serialise it, as headers are bytes. */
const redirectTo = (target: string) => () =>
	new Response(null, {
		status: 302,
		headers: { location: /^[\x20-\x7e]*$/.test(target) ? target : new URL(target).href },
	});

describe("in production every sink refuses internal addresses, however written, without fetching", () => {
	it.each(INTERNAL)("%s", async (url) => {
		expect(callbackUrlProblem(url, production)).toBe("notifyHook must be a public address");
		expect(urlProblem(url, production, "base_url")).toBe("base_url must be a public address");

		const picture = recorder();
		await expect(downloadImage(url, "origin", { env: production, fetch: picture.fetch })).rejects.toThrow(
			"origin must be a public address",
		);
		expect(picture.seen).toEqual([]);

		const media = recorder();
		const refused = await fetchUpstreamMedia(productionEnv, url, { channelId: null, fetch: media.fetch }).catch(
			(e: unknown) => e,
		);
		expect(refused).toBeInstanceOf(UrlRefusedError);
		expect((refused as Error).message).toBe("imageUrl must be a public address");
		expect(media.seen).toEqual([]);

		// A public URL that redirects there: the hop is refused before it is requested.
		const hop = recorder({ "https://cdn.example.com/r": redirectTo(url) });
		await expect(
			fetchPublic("https://cdn.example.com/r", {}, { env: production, fetch: hop.fetch, field: "imageUrl" }),
		).rejects.toThrow("imageUrl must be a public address");
		expect(hop.seen).toEqual(["https://cdn.example.com/r"]);
		const pictureHop = recorder({ "https://cdn.example.com/r": redirectTo(url) });
		await expect(
			downloadImage("https://cdn.example.com/r", "origin", { env: production, fetch: pictureHop.fetch }),
		).rejects.toThrow("origin must be a public address");
		expect(pictureHop.seen).toEqual(["https://cdn.example.com/r"]);
	});

	it("forms the parser rejects are refused as URLs, never fetched", async () => {
		for (const url of ["http://[fe80::1%25eth0]/", "http://4294967296/", "http://1.2.3.4.5/", "http://09.0.0.1/"]) {
			expect(urlProblem(url, production, "imageUrl"), url).toBe("imageUrl must be an absolute http(s) URL");
			const media = recorder();
			await expect(fetchUpstreamMedia(productionEnv, url, { channelId: null, fetch: media.fetch })).rejects.toThrow(
				UrlRefusedError,
			);
			expect(media.seen).toEqual([]);
		}
	});
});

describe("public addresses pass every sink", () => {
	it.each(PUBLIC)("%s", async (url) => {
		expect(callbackUrlProblem(url, production)).toBeNull();
		expect(urlProblem(url, production, "base_url")).toBeNull();
		expect(callbackUrlProblem(url, development)).toBeNull();
		const media = recorder();
		const response = await fetchUpstreamMedia(productionEnv, url, { channelId: null, fetch: media.fetch });
		expect(response.status).toBe(200);
		expect(media.seen).toEqual([new URL(url).href]);
	});
});

describe("urlProblem everywhere", () => {
	it("refuses what is not an http(s) URL, or carries credentials, or is too long", () => {
		for (const env of [production, development]) {
			expect(callbackUrlProblem("ftp://example.com/", env)).toMatch(/http\(s\)/);
			expect(callbackUrlProblem("file:///etc/passwd", env)).toMatch(/http\(s\)/);
			expect(callbackUrlProblem("not a url", env)).toMatch(/absolute http\(s\) URL/);
			expect(callbackUrlProblem("javascript:alert(1)", env)).toMatch(/http\(s\)/);
			expect(callbackUrlProblem("https://user:pw@example.com/", env)).toMatch(/credentials/);
			expect(callbackUrlProblem("https://user@example.com/", env)).toMatch(/credentials/);
			expect(callbackUrlProblem(`https://example.com/${"a".repeat(2100)}`, env)).toMatch(/at most 2048/);
		}
	});

	it("outside production local receivers and upstreams are allowed (development, tests)", () => {
		for (const url of [
			"http://127.0.0.1:9000/hook",
			"http://localhost:9000/hook",
			"http://[::1]/",
			"http://10.0.0.2/",
		]) {
			expect(callbackUrlProblem(url, development)).toBeNull();
			expect(urlProblem(url, { ENVIRONMENT: "test" }, "imageUrl")).toBeNull();
		}
	});
});

describe("the channel's own origin is trusted for URLs its upstream hands over", () => {
	const trustedOrigin = "http://10.0.0.5:8080/mj-proxy";
	const options = (fetch: Fetch) => ({ env: production, fetch, field: "imageUrl", trustedOrigin });

	it("allows the exact origin even when private, and nothing next to it", async () => {
		expect(urlProblem("http://10.0.0.5:8080/img/a.png?x=1", production, "imageUrl", { trustedOrigin })).toBeNull();
		for (const url of [
			"http://10.0.0.5/img/a.png",
			"http://10.0.0.5:8081/img/a.png",
			"https://10.0.0.5:8080/img/a.png",
			"http://10.0.0.6:8080/img/a.png",
			"http://169.254.169.254/",
		]) {
			expect(urlProblem(url, production, "imageUrl", { trustedOrigin }), url).toBe("imageUrl must be a public address");
		}
		// Only the address check is waived.
		expect(urlProblem("http://u:p@10.0.0.5:8080/a.png", production, "imageUrl", { trustedOrigin })).toMatch(
			/credentials/,
		);
	});

	it("a redirect from the trusted origin to another internal host is refused before it is fetched", async () => {
		const { fetch, seen } = recorder({ "http://10.0.0.5:8080/img/r": redirectTo("http://169.254.169.254/x") });
		await expect(fetchPublic("http://10.0.0.5:8080/img/r", {}, options(fetch))).rejects.toThrow(
			"imageUrl must be a public address",
		);
		expect(seen).toEqual(["http://10.0.0.5:8080/img/r"]);
	});

	it("fetchUpstreamMedia trusts the base_url of the task's channel read from D1", async () => {
		const row = await env.DB.prepare(
			"INSERT INTO channels (name, base_url, secret, weight, enabled, created_at, updated_at) VALUES (?, ?, '', 1, 0, 0, 0) RETURNING id",
		)
			.bind(`private-${crypto.randomUUID()}`, "http://10.0.0.5:8080")
			.first<{ id: number }>();
		const channelId = row?.id ?? null;
		const { fetch, seen } = recorder();
		expect(
			(await fetchUpstreamMedia(productionEnv, "http://10.0.0.5:8080/img/a.png", { channelId, fetch })).status,
		).toBe(200);
		await expect(
			fetchUpstreamMedia(productionEnv, "http://10.0.0.6:8080/img/a.png", { channelId, fetch }),
		).rejects.toThrow(UrlRefusedError);
		expect(seen).toEqual(["http://10.0.0.5:8080/img/a.png"]);
	});
});

describe("fetchPublic", () => {
	it("follows at most 3 redirects, checking each, then refuses", async () => {
		const loop = redirectTo("/loop");
		const { fetch, seen } = recorder({ "https://cdn.example.com/loop": loop });
		await expect(
			fetchPublic("https://cdn.example.com/loop", {}, { env: production, fetch, field: "imageUrl" }),
		).rejects.toThrow("imageUrl redirects more than 3 times");
		expect(seen).toHaveLength(4);
	});

	it("follows a relative redirect to a public URL and returns the final answer", async () => {
		const { fetch, seen } = recorder({
			"https://cdn.example.com/a": redirectTo("/b"),
			"https://cdn.example.com/b": () => new Response("final"),
		});
		const response = await fetchPublic("https://cdn.example.com/a", {}, { env: production, fetch, field: "imageUrl" });
		expect(await response.text()).toBe("final");
		expect(seen).toEqual(["https://cdn.example.com/a", "https://cdn.example.com/b"]);
	});

	it("does not follow redirects for a request with a body: the 3xx is the answer", async () => {
		const { fetch, seen } = recorder({ "https://hooks.example.com/h": redirectTo("http://127.0.0.1/") });
		const response = await fetchPublic(
			"https://hooks.example.com/h",
			{ method: "POST", body: "{}" },
			{ env: production, fetch, field: "notifyHook" },
		);
		expect(response.status).toBe(302);
		expect(seen).toEqual(["https://hooks.example.com/h"]);
	});
});

describe("redactUrl", () => {
	it("keeps origin and path, drops query, fragment and credentials", () => {
		expect(redactUrl("https://u:p@cdn.example.com/a/b.png?X-Amz-Signature=secret#frag")).toBe(
			"https://cdn.example.com/a/b.png",
		);
		expect(redactUrl("not a url")).toBe("(not a URL)");
	});
});
