/** sniffMediaType, the one judge of what a file is, and peek, which lets it judge a stream. */
import { describe, expect, it } from "vitest";
import { isMediaType, peek, SNIFF_BYTES, sniffMediaType } from "../../src/images/media-type";

const ascii = (text: string) => [...text].map((ch) => ch.charCodeAt(0));
const of = (...parts: (number[] | string)[]) =>
	Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? ascii(p) : p)));

const PNG = of([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13], "IHDR", [0, 0, 0, 1]);
const EBML = [0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 1, 0x42, 0xf7, 0x81, 1];
const ftyp = (brand: string) => of([0, 0, 0, 0x20], "ftyp", brand, [0, 0, 2, 0], "isomiso2");

describe("sniffMediaType", () => {
	it.each([
		["PNG", PNG, "image/png"],
		["JPEG", of([0xff, 0xd8, 0xff, 0xdb, 0, 0x43]), "image/jpeg"],
		["WebP", of("RIFF", [30, 0, 0, 0], "WEBPVP8X"), "image/webp"],
		["GIF87a", of("GIF87a", [1, 0, 1, 0]), "image/gif"],
		["GIF89a", of("GIF89a", [1, 0, 1, 0]), "image/gif"],
		["MP4 (isom)", ftyp("isom"), "video/mp4"],
		["MP4 (mp42)", ftyp("mp42"), "video/mp4"],
		["WebM", of(EBML, [0x42, 0x82, 0x84], "webm", [0x42, 0x87, 0x81, 4]), "video/webm"],
	])("knows %s", (_name, bytes, type) => {
		expect(sniffMediaType(bytes)).toBe(type);
		expect(isMediaType(type)).toBe(true);
	});

	it.each([
		["an SVG with a script", of('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')],
		["an SVG after an XML declaration", of('<?xml version="1.0"?><svg><script>alert(1)</script></svg>')],
		["an HTML page", of("<!doctype html><script>alert(1)</script>")],
		["HTML after a BOM", of([0xef, 0xbb, 0xbf], "<html><script>alert(1)</script>")],
		["a PDF", of("%PDF-1.7\n")],
		["JSON", of('{"imageUrl":"x"}')],
		["nothing", of()],
		["a PNG signature alone", PNG.subarray(0, 8)],
		["a GIF cut short", of("GIF8")],
		["HEIC (a still picture in an ftyp box)", ftyp("heic")],
		["AVIF", ftyp("avif")],
		["an ftyp box cut short", of([0, 0, 0, 0x20], "ftyp")],
		["Matroska that is not WebM", of(EBML, [0x42, 0x82, 0x88], "matroska")],
		["a WebM DocType past the header", of(EBML, new Array(SNIFF_BYTES).fill(0), [0x42, 0x82, 0x84], "webm")],
	])("refuses %s", (_name, bytes) => {
		expect(sniffMediaType(bytes)).toBeNull();
	});

	it("judges only a content type it serves as media", () => {
		for (const type of ["image/svg+xml", "text/html", "application/octet-stream", "", null, "image/png; x=1"]) {
			expect(isMediaType(type)).toBe(false);
		}
	});
});

describe("peek", () => {
	const chunked = (chunks: Uint8Array[]) => {
		let pulled = 0;
		const body = new ReadableStream<Uint8Array>(
			{
				pull(controller) {
					if (pulled === chunks.length) return controller.close();
					controller.enqueue(chunks[pulled]);
					pulled += 1;
				},
			},
			{ highWaterMark: 0 },
		);
		return { body, pulled: () => pulled };
	};

	it("reads only the chunks that hold the first bytes, and replays the whole body", async () => {
		const chunks = Array.from({ length: 10 }, (_, n) => Uint8Array.from({ length: 40 }, (_, i) => (n * 40 + i) & 255));
		const source = chunked(chunks);
		const { head, body } = await peek(source.body);
		expect(head).toEqual(Uint8Array.from({ length: SNIFF_BYTES }, (_, i) => i));
		expect(source.pulled()).toBe(2);
		const all = new Uint8Array(await new Response(body).arrayBuffer());
		expect(all).toEqual(Uint8Array.from({ length: 400 }, (_, i) => i & 255));
	});

	it("hands back a short body whole", async () => {
		const { head, body } = await peek(chunked([of("GIF89a")]).body);
		expect(head).toEqual(of("GIF89a"));
		expect(new Uint8Array(await new Response(body).arrayBuffer())).toEqual(of("GIF89a"));
	});
});
