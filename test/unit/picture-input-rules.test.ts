/**
 * The album's pure rules: what counts as a picture (by its bytes), how a picture is downloaded
 * from a URL (policy on every hop, size cap, timeout), the state mapping, and the whole-number
 * parameters behind the seed's "800".
 */
import { describe, expect, it } from "vitest";
import type { Fetch } from "../../src/deps";
import { ApiError } from "../../src/errors";
import { downloadImage, MAX_UPLOAD_BYTES, readCapped, sniffImageType } from "../../src/images/upload";
import { integer } from "../../src/routes/validate";
import { albumState } from "../../src/tasks/views/album";

const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));
const PNG = Uint8Array.from([
	0x89,
	0x50,
	0x4e,
	0x47,
	0x0d,
	0x0a,
	0x1a,
	0x0a,
	0,
	0,
	0,
	13,
	...ascii("IHDR"),
	0,
	0,
	0,
	1,
]);
const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xdb, 0, 0x43, 0]);
const WEBP = (chunk: string) =>
	Uint8Array.from([...ascii("RIFF"), 30, 0, 0, 0, ...ascii("WEBP"), ...ascii(chunk), 0, 0]);

describe("sniffImageType", () => {
	it("recognises PNG, JPEG and each WebP flavour by their bytes", () => {
		expect(sniffImageType(PNG)).toBe("image/png");
		expect(sniffImageType(JPEG)).toBe("image/jpeg");
		expect(sniffImageType(WEBP("VP8 "))).toBe("image/webp");
		expect(sniffImageType(WEBP("VP8L"))).toBe("image/webp");
		expect(sniffImageType(WEBP("VP8X"))).toBe("image/webp");
	});

	it("refuses everything else, including truncated and look-alike headers", () => {
		for (const bytes of [
			new Uint8Array(0),
			Uint8Array.from(ascii("hello.png")),
			Uint8Array.from(ascii("GIF89a\x01\x00")),
			PNG.subarray(0, 8),
			Uint8Array.from([0xff, 0xd8]),
			Uint8Array.from([0xff, 0xd8, 0xff]),
			Uint8Array.from([0xff, 0xd8, 0xff, 0x00]),
			Uint8Array.from([...ascii("RIFF"), 30, 0, 0, 0, ...ascii("WAVEfmt ")]),
			WEBP("ABCD"),
			Uint8Array.from(ascii("<svg xmlns='http://www.w3.org/2000/svg'/>")),
		]) {
			expect(sniffImageType(bytes), String(bytes.subarray(0, 12))).toBeNull();
		}
	});
});

function stream(chunks: number, size: number, counter: { pulled: number }): ReadableStream<Uint8Array> {
	let sent = 0;
	return new ReadableStream({
		pull(controller) {
			if (sent === chunks) return controller.close();
			sent += 1;
			counter.pulled += size;
			controller.enqueue(new Uint8Array(size));
		},
	});
}

describe("readCapped", () => {
	it("reads a body up to the cap", async () => {
		const counter = { pulled: 0 };
		expect((await readCapped(stream(4, 10, counter), 40, "f")).length).toBe(40);
	});

	it("stops reading as soon as the cap is passed", async () => {
		const counter = { pulled: 0 };
		const error = await readCapped(stream(1000, 10, counter), 35, "origin").catch((e: unknown) => e);
		expect(error).toBeInstanceOf(ApiError);
		expect((error as ApiError).code).toBe("PAYLOAD_TOO_LARGE");
		expect((error as ApiError).message).toMatch(/^origin is larger than/);
		expect(counter.pulled).toBeLessThanOrEqual(50);
	});
});

describe("downloadImage", () => {
	const production = { ENVIRONMENT: "production" };
	const development = { ENVIRONMENT: "development" };

	function fakeFetch(routes: Record<string, () => Response>): { fetch: Fetch; seen: string[] } {
		const seen: string[] = [];
		return {
			seen,
			fetch: async (input, init) => {
				const url = String(input instanceof Request ? input.url : input);
				seen.push(url);
				expect(init?.redirect).toBe("manual");
				return routes[url]?.() ?? new Response("missing", { status: 404 });
			},
		};
	}

	async function failure(promise: Promise<unknown>): Promise<ApiError> {
		const error = await promise.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(ApiError);
		return error as ApiError;
	}

	it("downloads a picture and judges it by its bytes, not its content type", async () => {
		const { fetch } = fakeFetch({
			"https://cdn.example.com/a": () => new Response(JPEG, { headers: { "content-type": "text/html" } }),
		});
		const image = await downloadImage("https://cdn.example.com/a", "image", { env: production, fetch });
		expect(image.type).toBe("image/jpeg");
		expect(image.bytes).toEqual(JPEG);
	});

	it("in production refuses private addresses without calling them", async () => {
		for (const url of [
			"http://127.0.0.1/a.png",
			"http://10.0.0.2/a.png",
			"http://169.254.169.254/latest",
			"http://localhost/a.png",
		]) {
			const { fetch, seen } = fakeFetch({});
			const error = await failure(downloadImage(url, "covering", { env: production, fetch }));
			expect(error.code).toBe("BAD_REQUEST");
			expect(error.message).toBe("covering must be a public address");
			expect(seen).toEqual([]);
		}
	});

	it("checks every redirect target: a public URL may not lead to a private one", async () => {
		const { fetch, seen } = fakeFetch({
			"https://cdn.example.com/r": () =>
				new Response(null, { status: 302, headers: { location: "http://192.168.1.1/x.png" } }),
		});
		const error = await failure(downloadImage("https://cdn.example.com/r", "origin", { env: production, fetch }));
		expect(error.message).toBe("origin must be a public address");
		expect(seen).toEqual(["https://cdn.example.com/r"]);
	});

	it("follows at most 3 redirects", async () => {
		const loop = () => new Response(null, { status: 307, headers: { location: "/loop" } });
		const { fetch, seen } = fakeFetch({ "http://127.0.0.1/loop": loop });
		const error = await failure(downloadImage("http://127.0.0.1/loop", "origin", { env: development, fetch }));
		expect(error.message).toMatch(/redirects more than 3 times/);
		expect(seen).toHaveLength(4);
	});

	it("refuses a declared length over the limit without reading, and a longer body as it passes the limit", async () => {
		let read = false;
		const declared = new ReadableStream(
			{
				pull() {
					read = true;
				},
			},
			{ highWaterMark: 0 },
		);
		const big = fakeFetch({
			"https://a.example/x": () =>
				new Response(declared, { headers: { "content-length": String(MAX_UPLOAD_BYTES + 1) } }),
		});
		expect(
			(await failure(downloadImage("https://a.example/x", "origin", { env: production, fetch: big.fetch }))).code,
		).toBe("PAYLOAD_TOO_LARGE");
		expect(read).toBe(false);

		const counter = { pulled: 0 };
		const endless = fakeFetch({ "https://a.example/y": () => new Response(stream(100_000, 64 * 1024, counter)) });
		const error = await failure(
			downloadImage("https://a.example/y", "origin", { env: production, fetch: endless.fetch }),
		);
		expect(error.code).toBe("PAYLOAD_TOO_LARGE");
		expect(counter.pulled).toBeLessThan(MAX_UPLOAD_BYTES + 2 * 64 * 1024);
	});

	it("gives up after the timeout", async () => {
		const hanging: Fetch = (_input, init) =>
			new Promise((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)));
		const error = await failure(
			downloadImage("https://slow.example/a.png", "origin", { env: production, fetch: hanging, timeoutMs: 50 }),
		);
		expect(error.message).toMatch(/timed out/);
	});

	it("refuses an answer that is not 2xx, and one that is not a picture", async () => {
		const { fetch } = fakeFetch({ "https://a.example/text": () => new Response("hello") });
		expect(
			(await failure(downloadImage("https://a.example/404", "origin", { env: production, fetch }))).message,
		).toMatch(/HTTP 404/);
		expect((await failure(downloadImage("https://a.example/text", "origin", { env: production, fetch }))).message).toBe(
			"origin must be a PNG, JPEG or WebP image",
		);
	});
});

describe("albumState", () => {
	it("maps every task status onto the document's four states", () => {
		expect(
			Object.fromEntries(
				["NOT_START", "SUBMITTED", "IN_PROGRESS", "MODAL", "SUCCESS", "FAILURE", "CANCEL"].map((s) => [
					s,
					albumState(s),
				]),
			),
		).toEqual({ NOT_START: 10, SUBMITTED: 10, IN_PROGRESS: 20, MODAL: 20, SUCCESS: 30, FAILURE: 2, CANCEL: 2 });
	});
});

describe("integer", () => {
	const page = integer("page", 1, 100, 1);

	it("reads whole numbers in range and falls back when missing", () => {
		expect(page.parse("7")).toBe(7);
		expect(page.parse(" 100 ")).toBe(100);
		expect(page.parse(undefined)).toBe(1);
		expect(page.parse("")).toBe(1);
		expect(integer("x", 1, 5).parse(undefined)).toBeUndefined();
	});

	it("refuses zero, negatives, fractions, words, exponents and values past the range", () => {
		for (const bad of ["0", "-1", "1.5", "1e2", "abc", "0x10", "101", "99999999999999999999", "true"]) {
			const result = page.safeParse(bad);
			expect(result.success, bad).toBe(false);
			expect(result.error?.issues[0]?.message).toBe("page must be an integer from 1 to 100");
		}
	});
});
