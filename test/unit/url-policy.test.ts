import { describe, expect, it } from "vitest";
import { callbackUrlProblem } from "../../src/hooks/url-policy";

const production = { ENVIRONMENT: "production" };
const development = { ENVIRONMENT: "development" };

describe("callbackUrlProblem", () => {
	it("accepts public http(s) URLs everywhere", () => {
		for (const url of [
			"https://hooks.example.com/mj",
			"http://www.baidu.com",
			"https://8.8.8.8/x",
			"https://[2606:4700::1111]/",
		]) {
			expect(callbackUrlProblem(url, production)).toBeNull();
			expect(callbackUrlProblem(url, development)).toBeNull();
		}
	});

	it("refuses what is not an http(s) URL, or carries credentials, or is too long", () => {
		expect(callbackUrlProblem("ftp://example.com/", development)).toMatch(/http\(s\)/);
		expect(callbackUrlProblem("not a url", development)).toMatch(/absolute http\(s\) URL/);
		expect(callbackUrlProblem("javascript:alert(1)", development)).toMatch(/http\(s\)/);
		expect(callbackUrlProblem("https://user:pw@example.com/", development)).toMatch(/credentials/);
		expect(callbackUrlProblem(`https://example.com/${"a".repeat(2100)}`, development)).toMatch(/at most 2048/);
	});

	it("in production refuses loopback, private, link-local and internal names, however written", () => {
		for (const url of [
			"http://localhost:8787/",
			"http://127.0.0.1/",
			"http://2130706433/",
			"http://0x7f.1/",
			"http://10.1.2.3/",
			"http://172.16.0.1/",
			"http://172.31.255.255/",
			"http://192.168.0.10/",
			"http://169.254.169.254/latest/meta-data",
			"http://100.64.0.1/",
			"http://0.0.0.0/",
			"http://[::1]/",
			"http://[fc00::1]/",
			"http://[fe80::1]/",
			"http://[::ffff:127.0.0.1]/",
			"http://[::ffff:10.0.0.1]/",
			"http://printer.local/",
			"http://db.internal/",
			"http://intranet/",
		]) {
			expect(callbackUrlProblem(url, production), url).toBe("notifyHook must be a public address");
		}
	});

	it("local development may call local receivers", () => {
		expect(callbackUrlProblem("http://127.0.0.1:9000/hook", development)).toBeNull();
		expect(callbackUrlProblem("http://localhost:9000/hook", development)).toBeNull();
	});

	it("does not mistake public addresses next to private ranges for private ones", () => {
		expect(callbackUrlProblem("http://172.32.0.1/", production)).toBeNull();
		expect(callbackUrlProblem("http://11.0.0.1/", production)).toBeNull();
		expect(callbackUrlProblem("http://192.169.0.1/", production)).toBeNull();
	});
});
