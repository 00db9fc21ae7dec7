/**
 * What a file is, by its first bytes: the one judge of every picture and video the gateway
 * stores or serves (uploads, inline pictures, result copies, the result link before its copy).
 * A declared content type, a file name or an extension is never trusted: an upstream or a user
 * who calls an SVG with a script "image/png" still gets it judged by its bytes.
 */

/** Everything the gateway stores or serves as media: pictures and the two web video formats. */
export const MEDIA_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif", "video/mp4", "video/webm"] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];

/** How many leading bytes sniffMediaType needs to decide (WebM names its format in its header). */
export const SNIFF_BYTES = 64;

const startsWith = (bytes: Uint8Array, offset: number, expected: readonly number[]) =>
	bytes.length >= offset + expected.length && expected.every((b, i) => bytes[offset + i] === b);

const ascii = (text: string) => [...text].map((ch) => ch.charCodeAt(0));

function contains(bytes: Uint8Array, from: number, to: number, expected: readonly number[]): boolean {
	for (let i = from; i + expected.length <= Math.min(to, bytes.length); i++) {
		if (startsWith(bytes, i, expected)) return true;
	}
	return false;
}

/** ISO base media files that are still pictures (HEIF, AVIF), not MP4 video. */
const STILL_BRANDS = new Set(["avif", "avis", "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"]);

/**
 * The media type of the first bytes of a file, or null for anything else (SVG, HTML, PDF, text…):
 *  - PNG: the signature, then the IHDR chunk;
 *  - JPEG: SOI, then a marker;
 *  - WebP: a RIFF container of type WEBP whose first chunk is VP8, VP8L or VP8X;
 *  - GIF: GIF87a or GIF89a;
 *  - MP4: an ISO base media `ftyp` box first, with a brand that is not a still picture (HEIF, AVIF);
 *  - WebM: an EBML header whose DocType is "webm" (plain Matroska is not a web format).
 * Give it at least SNIFF_BYTES bytes when the file has them.
 */
export function sniffMediaType(bytes: Uint8Array): MediaType | null {
	if (startsWith(bytes, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) && startsWith(bytes, 12, ascii("IHDR"))) {
		return "image/png";
	}
	if (startsWith(bytes, 0, [0xff, 0xd8, 0xff]) && bytes.length > 3 && (bytes[3] ?? 0) >= 0xc0) return "image/jpeg";
	if (
		startsWith(bytes, 0, ascii("RIFF")) &&
		startsWith(bytes, 8, ascii("WEBP")) &&
		(startsWith(bytes, 12, ascii("VP8 ")) ||
			startsWith(bytes, 12, ascii("VP8L")) ||
			startsWith(bytes, 12, ascii("VP8X")))
	) {
		return "image/webp";
	}
	if (startsWith(bytes, 0, ascii("GIF87a")) || startsWith(bytes, 0, ascii("GIF89a"))) return "image/gif";
	if (startsWith(bytes, 4, ascii("ftyp")) && bytes.length >= 12) {
		const brand = String.fromCharCode(...bytes.subarray(8, 12)).toLowerCase();
		return STILL_BRANDS.has(brand) ? null : "video/mp4";
	}
	// The DocType element (0x4282) with a one-byte size of 4 (0x84), then "webm".
	if (
		startsWith(bytes, 0, [0x1a, 0x45, 0xdf, 0xa3]) &&
		contains(bytes, 4, SNIFF_BYTES, [0x42, 0x82, 0x84, ...ascii("webm")])
	) {
		return "video/webm";
	}
	return null;
}

/** True for a content type (parameters and case ignored) the gateway serves media as. */
export function isMediaType(contentType: string | null | undefined): contentType is MediaType {
	return (MEDIA_TYPES as readonly string[]).includes(contentType ?? "");
}

/** The bare, lower-case media type of a Content-Type header value ("" for none). */
export function bareType(contentType: string | null | undefined): string {
	return (contentType ?? "").split(";")[0].trim().toLowerCase();
}

/**
 * Reads the first `count` bytes of a stream (fewer when it ends first) and hands back a stream of
 * the whole body, those bytes included, so the caller can judge a file before streaming it on
 * without holding more than one chunk or two in memory.
 */
export async function peek(
	body: ReadableStream<Uint8Array>,
	count: number = SNIFF_BYTES,
): Promise<{ head: Uint8Array; body: ReadableStream<Uint8Array> }> {
	const reader = body.getReader();
	const chunks: Uint8Array[] = [];
	let size = 0;
	let ended = false;
	try {
		while (size < count) {
			const { done, value } = await reader.read();
			if (done) {
				ended = true;
				break;
			}
			chunks.push(value);
			size += value.byteLength;
		}
	} catch (error) {
		await reader.cancel(error).catch(() => {});
		throw error;
	}
	const head = new Uint8Array(Math.min(size, count));
	let offset = 0;
	for (const chunk of chunks) {
		if (offset >= head.length) break;
		const part = chunk.subarray(0, head.length - offset);
		head.set(part, offset);
		offset += part.byteLength;
	}
	const replay = new ReadableStream<Uint8Array>(
		{
			start(controller) {
				for (const chunk of chunks) controller.enqueue(chunk);
				if (ended) controller.close();
			},
			async pull(controller) {
				const { done, value } = await reader.read();
				if (done) controller.close();
				else controller.enqueue(value);
			},
			cancel(reason) {
				return reader.cancel(reason);
			},
		},
		{ highWaterMark: 0 },
	);
	return { head, body: replay };
}
