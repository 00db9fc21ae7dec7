/**
 * The web console's static assets (wrangler.toml [assets], built by web/build.ts before the
 * tests start): GET / and /app/* are the console's, and every other path answers exactly as
 * it did before there was a console. The console and /docs carry a CSP that lets them load only
 * what they are built from, are never framed, and send nosniff and no Referer.
 */
import { describe, expect, it } from "vitest";
import { call, json } from "../helpers/api";

describe("the web console", () => {
	it("GET / serves the console page, which loads only its own scripts and styles", async () => {
		const response = await call("/");
		expect(response.status).toBe(200);
		expect(response.headers.get("content-type")).toMatch(/text\/html/);
		const html = await response.text();
		expect(html).toContain('<script type="module" src="/app/console.js">');
		expect(html).toContain('href="/app/console.css"');
		// Offline: nothing from another origin.
		expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
	});

	it("serves the bundle and the styles under /app with their content types", async () => {
		const script = await call("/app/console.js");
		expect(script.status).toBe(200);
		expect(script.headers.get("content-type")).toMatch(/javascript/);
		expect(await script.text()).toContain("mj-edge.credential");
		const styles = await call("/app/console.css");
		expect(styles.status).toBe(200);
		expect(styles.headers.get("content-type")).toMatch(/text\/css/);
	});

	it("serves the icon the page names, an SVG under /app that the console's CSP allows", async () => {
		const html = await (await call("/")).text();
		expect(html).toContain('<link rel="icon" type="image/svg+xml" href="/app/favicon.svg" />');
		const icon = await call("/app/favicon.svg");
		expect(icon.status).toBe(200);
		expect(icon.headers.get("content-type")).toMatch(/image\/svg\+xml/);
		expect(await icon.text()).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
		const csp = (await call("/")).headers.get("content-security-policy") ?? "";
		expect(csp).toMatch(/img-src 'self'/);
	});

	it("answers HEAD for the page without a body", async () => {
		const response = await call("/", { method: "HEAD" });
		expect(response.status).toBe(200);
		expect(await response.text()).toBe("");
	});

	it("an unknown file under /app is a 404, not the page", async () => {
		const response = await call("/app/no-such-file.js");
		expect(response.status).toBe(404);
		expect(await response.text()).not.toContain("/app/console.js");
	});

	it("leaves the API's own 404s alone: an unknown path keeps its surface's envelope", async () => {
		const plain = await call("/no-such-page");
		expect(plain.status).toBe(404);
		expect(plain.headers.get("content-type")).toMatch(/json/);
		const seed001 = await call("/api/mj/no-such-route");
		expect(seed001.status).toBe(404);
		expect(await json(seed001)).toMatchObject({ success: false });
		const proxy = await call("/mj/image/no-such-task");
		expect(proxy.status).toBe(403);
		expect(await json(proxy)).toHaveProperty("code");
		const health = await call("/health");
		expect(await json(health)).toEqual({ ok: true });
	});

	it("a POST to / is not the console's", async () => {
		const response = await call("/", { method: "POST" });
		expect(response.status).toBe(404);
		expect(response.headers.get("content-type")).toMatch(/json/);
	});
});

/** A CSP header as directive name → its sources. */
function policy(response: Response): Map<string, string[]> {
	const header = response.headers.get("content-security-policy") ?? "";
	return new Map(
		header
			.split(";")
			.map((part) => part.trim().split(/\s+/))
			.filter((words) => words[0])
			.map(([name, ...sources]) => [name, sources]),
	);
}

function expectPageHeaders(response: Response, path: string): void {
	expect(response.headers.get("x-content-type-options"), path).toBe("nosniff");
	expect(response.headers.get("referrer-policy"), path).toBe("no-referrer");
	expect(response.headers.get("x-frame-options"), path).toBe("DENY");
	const csp = policy(response);
	expect(csp.get("default-src"), path).toEqual(["'none'"]);
	expect(csp.get("frame-ancestors"), path).toEqual(["'none'"]);
	expect(csp.get("base-uri"), path).toEqual(["'none'"]);
	expect(csp.get("object-src"), path).toEqual(["'none'"]);
	expect(csp.get("connect-src"), path).toEqual(["'self'"]);
}

async function sha256(text: string): Promise<string> {
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
	return `'sha256-${btoa(String.fromCharCode(...digest))}'`;
}

describe("the pages' security headers", () => {
	it("the console allows only its own script and styles, the API, and pictures from the link origin", async () => {
		const response = await call("/");
		expectPageHeaders(response, "/");
		const csp = policy(response);
		expect(csp.get("script-src")).toEqual(["'self'"]);
		expect(csp.get("style-src")).toEqual(["'self'"]);
		// PUBLIC_BASE_URL (http://gateway.test in the tests) is where result links point.
		expect(csp.get("img-src")).toEqual(["'self'", "data:", "blob:", "http://gateway.test"]);
		expect(csp.get("media-src")).toEqual(["'self'", "blob:", "http://gateway.test"]);
		// So the page has no inline script or style for the policy to refuse.
		const html = await response.text();
		const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
		expect(scripts.length).toBeGreaterThan(0);
		for (const [, attributes, body] of scripts) {
			expect(attributes).toMatch(/\bsrc="\/app\//);
			expect(body.trim()).toBe("");
		}
		expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
	});

	it.each(["/app/console.js", "/app/console.css", "/docs/scalar.js"])("%s carries the same headers", async (path) => {
		const response = await call(path);
		expect(response.status).toBe(200);
		await response.body?.cancel();
		expectPageHeaders(response, path);
	});

	it("/docs allows Scalar's bundle and its one inline script, by hash, and nothing from elsewhere", async () => {
		const response = await call("/docs");
		expect(response.status).toBe(200);
		expectPageHeaders(response, "/docs");
		const csp = policy(response);
		const html = await response.text();
		const inline = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1]);
		expect(inline).toHaveLength(1);
		expect(csp.get("script-src")).toEqual(["'self'", await sha256(inline[0])]);
		expect(csp.get("style-src")).toEqual(["'self'", "'unsafe-inline'"]);
		expect(response.headers.get("content-security-policy")).not.toMatch(/unsafe-eval|https?:|\*/);
	});
});
