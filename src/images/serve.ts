/**
 * Serving media over HTTP, for result images and videos, uploads, album photos and template
 * pictures alike: an R2 object (content type, ETag, If-None-Match (304) and a single byte Range
 * (206, or 416 past the end)), or an upstream's body before its copy exists. Every answer goes
 * out through mediaHeaders, the one place that decides what a browser may do with it.
 */
import { ApiError } from "../errors";
import { pump } from "./copy";
import { bareType, isMediaType, peek, sniffMediaType } from "./media-type";

/**
 * Media answers share the gateway's origin with the console, so a file must never run as a page
 * there: `sandbox` gives a document opened from it an opaque origin (no storage, no cookies, no
 * script), `default-src 'none'` lets it load nothing, and nosniff stops a browser from guessing
 * a type the gateway did not send.
 */
export const MEDIA_CSP = "default-src 'none'; sandbox";

/**
 * Sets the headers of a media answer: its content type only when it is a media type the gateway
 * serves (PNG, JPEG, WebP, GIF, MP4, WebM), else application/octet-stream as an attachment, a
 * download no browser renders (an object stored before its bytes were judged, say); plus the
 * CSP and nosniff.
 */
export function mediaHeaders(headers: Headers): Headers {
	const type = bareType(headers.get("content-type"));
	if (isMediaType(type)) {
		headers.set("content-type", type);
	} else {
		headers.set("content-type", "application/octet-stream");
		headers.set("content-disposition", "attachment");
	}
	headers.set("x-content-type-options", "nosniff");
	headers.set("content-security-policy", MEDIA_CSP);
	return headers;
}

type ByteRange = { offset: number; length?: number } | { suffix: number };

/**
 * A single `bytes=` range, or null for anything else: RFC 9110 says a Range header the
 * server does not understand is ignored, not refused.
 */
export function parseRange(header: string | undefined): ByteRange | null {
	const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
	if (!match || (match[1] === "" && match[2] === "")) return null;
	if (match[1] === "") return { suffix: Number(match[2]) };
	const offset = Number(match[1]);
	if (match[2] === "") return { offset };
	const last = Number(match[2]);
	return last < offset ? null : { offset, length: last - offset + 1 };
}

const ETAG = /^(?:W\/)?"[\x21\x23-\x7e]*"$/;

/** A well-formed If-Match / If-None-Match value: `*` or a list of entity tags. */
function validEtags(value: string): boolean {
	const text = value.trim();
	return text === "*" || (text !== "" && text.split(",").every((tag) => ETAG.test(tag.trim())));
}

/**
 * The request's conditional headers that are well formed. R2 throws on a malformed one; RFC 9110
 * lets a server ignore a condition it cannot parse, which is what happens here.
 */
function conditions(headers: Headers): Headers {
	const kept = new Headers();
	for (const name of ["if-match", "if-none-match"]) {
		const value = headers.get(name);
		if (value !== null && validEtags(value)) kept.set(name, value);
	}
	for (const name of ["if-modified-since", "if-unmodified-since"]) {
		const value = headers.get(name);
		if (value !== null && !Number.isNaN(Date.parse(value))) kept.set(name, value);
	}
	return kept;
}

/** The object's response, or null when there is no object under `key`. */
export async function serveR2Object(
	bucket: R2Bucket,
	key: string,
	request: Request,
	cacheControl: string,
): Promise<Response | null> {
	const head = request.method === "HEAD";
	const range = parseRange(request.headers.get("range") ?? undefined);
	let object: R2Object | R2ObjectBody | null;
	try {
		object = await bucket.get(key, { onlyIf: conditions(request.headers), range: range ?? undefined });
	} catch (error) {
		// R2 refuses a range that starts past the end.
		const meta = range ? await bucket.head(key) : null;
		if (!meta) throw error;
		throw new ApiError("RANGE_NOT_SATISFIABLE", `the range is outside the object's ${meta.size} bytes`, {
			headers: { "content-range": `bytes */${meta.size}` },
		});
	}
	if (!object) return null;

	const headers = new Headers();
	object.writeHttpMetadata(headers);
	mediaHeaders(headers);
	headers.set("etag", object.httpEtag);
	headers.set("cache-control", cacheControl);
	headers.set("accept-ranges", "bytes");
	if (!("body" in object)) return new Response(null, { status: 304, headers });
	const served = object.range as { offset?: number; length?: number } | undefined;
	if (range && served?.length !== undefined && served.length < object.size) {
		const offset = served.offset ?? 0;
		headers.set("content-range", `bytes ${offset}-${offset + served.length - 1}/${object.size}`);
		headers.set("content-length", String(served.length));
		return new Response(head ? null : object.body, { status: 206, headers });
	}
	headers.set("content-length", String(object.size));
	return new Response(head ? null : object.body, { status: 200, headers });
}

/** What every public, immutable file link answers with: the same bytes for ever. */
export const IMMUTABLE = "public, max-age=31536000, immutable";

/**
 * serveR2Object with the Cache API in front, for immutable objects behind a link that names
 * them (signed image links, template pictures): a repeat view in the same location is answered
 * from the cache without reading R2. Plain GETs only; ranges and conditional requests go to R2,
 * which answers them exactly.
 */
export async function serveImmutable(
	bucket: R2Bucket,
	key: string,
	request: Request,
	waitUntil: (promise: Promise<unknown>) => void,
): Promise<Response | null> {
	const plain =
		request.method === "GET" &&
		!["range", "if-none-match", "if-match", "if-modified-since", "if-unmodified-since"].some((h) =>
			request.headers.has(h),
		);
	if (!plain) return serveR2Object(bucket, key, request, IMMUTABLE);
	const cache = caches.default;
	const hit = await cache.match(request);
	// Entries cached before an answer carried today's headers still get them.
	if (hit) return new Response(hit.body, { status: hit.status, headers: mediaHeaders(new Headers(hit.headers)) });
	const response = await serveR2Object(bucket, key, request, IMMUTABLE);
	if (response?.status === 200) waitUntil(cache.put(request, response.clone()));
	return response;
}

/**
 * An upstream's media body, streamed uncached until the gateway's copy exists. Its first bytes
 * decide its type (the upstream's Content-Type is never passed on); a body that is not media goes
 * out only as a download.
 */
export async function serveUpstreamBody(
	body: ReadableStream<Uint8Array>,
	contentLength: string | null,
	head: boolean,
): Promise<Response> {
	const peeked = await peek(body);
	const headers = mediaHeaders(
		new Headers({ "cache-control": "no-store", "content-type": sniffMediaType(peeked.head) ?? "" }),
	);
	const length = Number(contentLength ?? Number.NaN);
	const known = Number.isSafeInteger(length) && length > 0;
	if (known) headers.set("content-length", String(length));
	if (head) {
		await peeked.body.cancel();
		return new Response(null, { status: 200, headers });
	}
	if (!known) return new Response(peeked.body, { status: 200, headers });
	// A stream made in the Worker is sent with its length (not chunked) only through a FixedLengthStream.
	const { readable, writable } = new FixedLengthStream(length);
	pump(peeked.body, writable).catch(() => {});
	return new Response(readable, { status: 200, headers });
}
