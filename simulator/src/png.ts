/**
 * Streaming PNG encoder. The zlib stream uses *stored* (uncompressed) deflate blocks, so the
 * exact file size is known before a single pixel is produced: callers can send an exact
 * `content-length` and R2 accepts the body, while pixels are generated row by row as the
 * reader pulls and a 200 MB image never sits in memory.
 */

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
/** Largest payload of one stored deflate block (LEN is 16 bits). */
const MAX_STORED_BLOCK = 0xffff;
/** IDAT payload size; decoders accept any split, ~64 KiB keeps each pull small. */
const IDAT_DATA_SIZE = 0x10000;
const CHUNK_OVERHEAD = 12; // length + type + crc
const BLOCK_HEADER_SIZE = 5; // BFINAL/BTYPE byte + LEN + NLEN
const ZLIB_HEADER = Uint8Array.of(0x78, 0x01); // deflate, 32 KiB window, no dictionary, fastest
const IDAT = Uint8Array.of(0x49, 0x44, 0x41, 0x54);

const CRC_TABLE = (() => {
	const table = new Uint32Array(256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		table[n] = c >>> 0;
	}
	return table;
})();

/** CRC-32 (ISO-HDLC, as PNG uses); pass the previous result to continue over more bytes. */
export function crc32(bytes: Uint8Array, previous = 0): number {
	let c = ~previous >>> 0;
	for (let i = 0; i < bytes.length; i++) {
		c = (CRC_TABLE[(c ^ bytes[i]) & 0xff] ?? 0) ^ (c >>> 8);
	}
	return ~c >>> 0;
}

/** Adler-32 as zlib uses; pass the previous result to continue over more bytes. */
export function adler32(bytes: Uint8Array, previous = 1): number {
	let a = previous & 0xffff;
	let b = previous >>> 16;
	let i = 0;
	while (i < bytes.length) {
		// 5552 is the longest run before the sums can overflow 2^32 and must be reduced.
		const end = Math.min(i + 5552, bytes.length);
		for (; i < end; i++) {
			a += bytes[i] ?? 0;
			b += a;
		}
		a %= 65521;
		b %= 65521;
	}
	return ((b << 16) | a) >>> 0;
}

/** Byte length of the PNG `encodePng` produces for these dimensions. */
export function pngLength(width: number, height: number): number {
	const zlibLength = zlibStoredLength(rawLength(width, height));
	const idatChunks = Math.ceil(zlibLength / IDAT_DATA_SIZE);
	return SIGNATURE.length + (CHUNK_OVERHEAD + 13) + idatChunks * CHUNK_OVERHEAD + zlibLength + CHUNK_OVERHEAD;
}

/**
 * Encodes an 8-bit RGB image. `fillRow` writes row `y` (width * 3 bytes) into `row`; it is
 * called once per row, in order, only as the stream is read.
 */
export function encodePng(
	width: number,
	height: number,
	fillRow: (y: number, row: Uint8Array) => void,
): { body: ReadableStream<Uint8Array>; length: number } {
	if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
		throw new RangeError(`invalid PNG size ${width}x${height}`);
	}
	if (width > 0x7fffffff || height > 0x7fffffff) throw new RangeError("PNG dimension too large");
	const length = pngLength(width, height);
	const zlib = new ZlibStoredWriter(width, height, fillRow);
	let zlibLeft = zlibStoredLength(rawLength(width, height));
	let headerSent = false;
	let endSent = false;

	const body = new ReadableStream<Uint8Array>(
		{
			pull(controller) {
				if (!headerSent) {
					headerSent = true;
					controller.enqueue(concat(SIGNATURE, ihdrChunk(width, height)));
					return;
				}
				if (zlibLeft > 0) {
					const size = Math.min(IDAT_DATA_SIZE, zlibLeft);
					zlibLeft -= size;
					const idat = new Uint8Array(CHUNK_OVERHEAD + size);
					const view = new DataView(idat.buffer);
					view.setUint32(0, size);
					idat.set(IDAT, 4);
					zlib.fill(idat.subarray(8, 8 + size));
					view.setUint32(8 + size, crc32(idat.subarray(4, 8 + size)));
					controller.enqueue(idat);
					return;
				}
				if (!endSent) {
					endSent = true;
					controller.enqueue(chunk("IEND", new Uint8Array(0)));
					return;
				}
				controller.close();
			},
		},
		// Produce nothing ahead of the reader: each pull renders ~64 KiB of rows.
		{ highWaterMark: 0 },
	);
	return { body, length };
}

function rawLength(width: number, height: number): number {
	return height * (1 + width * 3);
}

function zlibStoredLength(raw: number): number {
	const blocks = Math.max(1, Math.ceil(raw / MAX_STORED_BLOCK));
	return ZLIB_HEADER.length + blocks * BLOCK_HEADER_SIZE + raw + 4;
}

function ihdrChunk(width: number, height: number): Uint8Array {
	const data = new Uint8Array(13);
	const view = new DataView(data.buffer);
	view.setUint32(0, width);
	view.setUint32(4, height);
	data[8] = 8; // bit depth
	data[9] = 2; // colour type: RGB
	// compression, filter and interlace methods stay 0
	return chunk("IHDR", data);
}

function chunk(type: string, data: Uint8Array): Uint8Array {
	const out = new Uint8Array(CHUNK_OVERHEAD + data.length);
	const view = new DataView(out.buffer);
	view.setUint32(0, data.length);
	for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
	out.set(data, 8);
	view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
	return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
	const out = new Uint8Array(a.length + b.length);
	out.set(a, 0);
	out.set(b, a.length);
	return out;
}

/** Produces the zlib stream (header, stored blocks of filtered rows, adler32) sequentially. */
class ZlibStoredWriter {
	readonly #height: number;
	readonly #fillRow: (y: number, row: Uint8Array) => void;
	/** Filter byte (always 0) followed by the row's pixels. */
	readonly #row: Uint8Array;
	#rowPos: number;
	#nextY = 0;
	#rawLeft: number;
	#blockLeft = 0;
	#pending: Uint8Array = ZLIB_HEADER;
	#pendingPos = 0;
	#adler = 1;
	#trailerQueued = false;

	constructor(width: number, height: number, fillRow: (y: number, row: Uint8Array) => void) {
		this.#height = height;
		this.#fillRow = fillRow;
		this.#row = new Uint8Array(1 + width * 3);
		this.#rowPos = this.#row.length;
		this.#rawLeft = rawLength(width, height);
	}

	/** Writes the next `out.length` bytes of the stream into `out`. */
	fill(out: Uint8Array): void {
		let o = 0;
		while (o < out.length) {
			if (this.#pendingPos < this.#pending.length) {
				const n = Math.min(out.length - o, this.#pending.length - this.#pendingPos);
				out.set(this.#pending.subarray(this.#pendingPos, this.#pendingPos + n), o);
				this.#pendingPos += n;
				o += n;
				continue;
			}
			if (this.#rawLeft === 0) {
				if (this.#trailerQueued) throw new Error("read past the end of the zlib stream");
				this.#trailerQueued = true;
				this.#queue(
					Uint8Array.of(
						this.#adler >>> 24,
						(this.#adler >>> 16) & 0xff,
						(this.#adler >>> 8) & 0xff,
						this.#adler & 0xff,
					),
				);
				continue;
			}
			if (this.#blockLeft === 0) {
				const n = Math.min(MAX_STORED_BLOCK, this.#rawLeft);
				this.#blockLeft = n;
				const final = n === this.#rawLeft ? 1 : 0;
				this.#queue(Uint8Array.of(final, n & 0xff, n >>> 8, ~n & 0xff, (~n >>> 8) & 0xff));
				continue;
			}
			if (this.#rowPos === this.#row.length) this.#nextRow();
			const n = Math.min(out.length - o, this.#blockLeft, this.#row.length - this.#rowPos);
			out.set(this.#row.subarray(this.#rowPos, this.#rowPos + n), o);
			this.#rowPos += n;
			this.#blockLeft -= n;
			this.#rawLeft -= n;
			o += n;
		}
	}

	#queue(bytes: Uint8Array): void {
		this.#pending = bytes;
		this.#pendingPos = 0;
	}

	#nextRow(): void {
		if (this.#nextY >= this.#height) throw new Error("read past the last row");
		this.#fillRow(this.#nextY++, this.#row.subarray(1));
		this.#adler = adler32(this.#row, this.#adler);
		this.#rowPos = 0;
	}
}
