/**
 * The web console's static assets (wrangler.toml [assets], built by web/build.ts before the
 * tests start): GET / and /app/* are the console's, and every other path answers exactly as
 * it did before there was a console.
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
