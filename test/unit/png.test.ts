import { describe, expect, it } from "vitest";
import { adler32, crc32, encodePng, pngLength } from "../../simulator/src/png";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

interface Chunk {
	type: string;
	data: Uint8Array;
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
	return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Splits a PNG into chunks, failing on any bad CRC. */
function chunksOf(png: Uint8Array): Chunk[] {
	const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
	const chunks: Chunk[] = [];
	let offset = 8;
	while (offset < png.length) {
		const length = view.getUint32(offset);
		const type = String.fromCharCode(...png.subarray(offset + 4, offset + 8));
		const data = png.subarray(offset + 8, offset + 8 + length);
		const crc = view.getUint32(offset + 8 + length);
		expect(crc, `CRC of ${type} chunk at ${offset}`).toBe(crc32(png.subarray(offset + 4, offset + 8 + length)));
		chunks.push({ type, data });
		offset += 12 + length;
	}
	expect(offset).toBe(png.length);
	return chunks;
}

async function inflate(zlib: Uint8Array): Promise<Uint8Array> {
	const stream = new Blob([zlib]).stream().pipeThrough(new DecompressionStream("deflate"));
	return readAll(stream);
}

function concat(parts: Uint8Array[]): Uint8Array {
	const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
	let offset = 0;
	for (const part of parts) {
		out.set(part, offset);
		offset += part.length;
	}
	return out;
}

/** A pattern that differs per pixel and channel, so misplaced bytes show. */
function pixel(x: number, y: number, channel: number): number {
	return (x * 7 + y * 13 + channel * 101) & 0xff;
}

function fillPattern(width: number) {
	return (y: number, row: Uint8Array) => {
		for (let x = 0; x < width; x++) for (let ch = 0; ch < 3; ch++) row[x * 3 + ch] = pixel(x, y, ch);
	};
}

async function decodeAndCheck(width: number, height: number) {
	const { body, length } = encodePng(width, height, fillPattern(width));
	const png = await readAll(body);
	expect(png.length).toBe(length);
	expect(pngLength(width, height)).toBe(length);
	expect([...png.subarray(0, 8)]).toEqual(SIGNATURE);

	const chunks = chunksOf(png);
	expect(chunks[0]?.type).toBe("IHDR");
	expect(chunks.at(-1)?.type).toBe("IEND");
	expect(chunks.at(-1)?.data.length).toBe(0);
	const ihdr = new DataView((chunks[0] as Chunk).data.slice().buffer);
	expect(ihdr.getUint32(0)).toBe(width);
	expect(ihdr.getUint32(4)).toBe(height);
	expect([...(chunks[0] as Chunk).data.subarray(8)]).toEqual([8, 2, 0, 0, 0]);

	const idats = chunks.filter((c) => c.type === "IDAT");
	for (const idat of idats) expect(idat.data.length).toBeLessThanOrEqual(0x10000);
	const raw = await inflate(concat(idats.map((c) => c.data)));
	expect(raw.length).toBe(height * (1 + width * 3));
	for (let y = 0; y < height; y++) {
		const start = y * (1 + width * 3);
		expect(raw[start], `filter byte of row ${y}`).toBe(0);
		for (let x = 0; x < width; x++) {
			for (let ch = 0; ch < 3; ch++) {
				if (raw[start + 1 + x * 3 + ch] !== pixel(x, y, ch)) {
					throw new Error(`pixel (${x}, ${y}) channel ${ch} differs`);
				}
			}
		}
	}
	return { png, idats };
}

describe("checksums", () => {
	it("match the published check values", () => {
		const ascii = (s: string) => new TextEncoder().encode(s);
		expect(crc32(ascii("123456789"))).toBe(0xcbf43926);
		expect(adler32(ascii("Wikipedia"))).toBe(0x11e60398);
		expect(crc32(ascii("6789"), crc32(ascii("12345")))).toBe(0xcbf43926);
		expect(adler32(ascii("pedia"), adler32(ascii("Wiki")))).toBe(0x11e60398);
	});

	it("adler32 stays exact over long runs of 0xff", () => {
		const bytes = new Uint8Array(100_000).fill(0xff);
		let a = 1;
		let b = 0;
		for (const byte of bytes) {
			a = (a + byte) % 65521;
			b = (b + a) % 65521;
		}
		expect(adler32(bytes)).toBe(((b << 16) | a) >>> 0);
	});
});

describe("encodePng", () => {
	it("encodes a tiny image that inflates to the expected rows", async () => {
		const { idats } = await decodeAndCheck(3, 2);
		expect(idats).toHaveLength(1);
	});

	it("spans several stored blocks and IDAT chunks with exact length and CRCs", async () => {
		// 150 rows of 601 bytes = 90,150 raw bytes: two deflate blocks, two IDAT chunks.
		const { idats } = await decodeAndCheck(200, 150);
		expect(idats.length).toBe(2);
	});

	it("renders rows only as the stream is read", async () => {
		const rows: number[] = [];
		const width = 4096;
		const { body, length } = encodePng(width, 5000, (y) => rows.push(y));
		expect(length).toBeGreaterThan(60_000_000);
		expect(rows).toEqual([]);
		const reader = body.getReader();
		await reader.read(); // signature + IHDR
		await reader.read(); // first IDAT: ~64 KiB, about 6 rows of 12 KiB
		expect(rows.length).toBeGreaterThan(0);
		expect(rows.length).toBeLessThan(10);
		expect(rows).toEqual(rows.map((_, i) => i));
		await reader.cancel();
	});

	it("rejects impossible sizes", () => {
		expect(() => encodePng(0, 1, () => {})).toThrow(RangeError);
		expect(() => encodePng(1, 1.5, () => {})).toThrow(RangeError);
	});
});
