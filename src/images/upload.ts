/**
 * Pictures users and admins hand the gateway (album photos, template pictures), as a file or
 * as a URL to download. A picture is accepted only when its bytes are PNG, JPEG or WebP (the
 * name and the declared content type are never trusted) and within MAX_UPLOAD_BYTES; it is
 * never read past that limit.
 */

import type { Deps, Fetch } from "../deps";
import { ApiError, badRequest } from "../errors";
import { logWarning } from "../log";
import { fetchPublic, UrlRefusedError } from "../net/fetch-public";
import { MAX_INLINE_IMAGE_BYTES } from "./inline";
import { bareType, type MediaType, sniffMediaType } from "./media-type";

/**
 * Largest picture accepted: 10 MiB. A face swap sends both the photo and the template picture
 * to the upstream inline, which src/images/inline.ts limits to this size.
 */
export const MAX_UPLOAD_BYTES = MAX_INLINE_IMAGE_BYTES;
/** A download must finish (redirects and body included) within this time. */
export const DOWNLOAD_TIMEOUT_MS = 15_000;

export type ImageType = Extract<MediaType, "image/png" | "image/jpeg" | "image/webp">;

export interface CheckedImage {
	bytes: Uint8Array;
	type: ImageType;
}

/** A file part of a form, or the URL given instead. */
export type ImageInput = File | string;

const isUploadType = (type: MediaType | null): type is ImageType =>
	type === "image/png" || type === "image/jpeg" || type === "image/webp";

/** The picture type by magic bytes (sniffMediaType): PNG, JPEG or WebP; else null. */
export function sniffImageType(bytes: Uint8Array): ImageType | null {
	const type = sniffMediaType(bytes);
	return isUploadType(type) ? type : null;
}

export const EXTENSION_OF: Readonly<Record<ImageType, string>> = {
	"image/png": "png",
	"image/jpeg": "jpg",
	"image/webp": "webp",
};

/** The extension of a picture the gateway stored, by its content type: png for any other (what the gateway writes when it has none). */
export function extensionOf(contentType: string | null | undefined): string {
	const type = bareType(contentType);
	return Object.hasOwn(EXTENSION_OF, type) ? EXTENSION_OF[type as ImageType] : "png";
}

/**
 * A new name for a stored picture: a random UUID and its type's extension. Links to it are
 * capabilities (template pictures, /mj/upload copies), so the name must be unguessable.
 */
export function newFileName(deps: Pick<Deps, "uuid">, contentType: string | null | undefined): string {
	return `${deps.uuid()}.${extensionOf(contentType)}`;
}

export function tooLarge(field: string): ApiError {
	return new ApiError("PAYLOAD_TOO_LARGE", `${field} is larger than ${MAX_UPLOAD_BYTES} bytes (10 MB)`);
}

/** The bytes as a checked picture (PNG, JPEG or WebP by their magic bytes), or a 400 naming the field. */
export function checked(bytes: Uint8Array, field: string): CheckedImage {
	const type = sniffImageType(bytes);
	if (!type) throw badRequest(`${field} must be a PNG, JPEG or WebP image`);
	return { bytes, type };
}

/** Reads a stream into memory, giving up (and cancelling it) as soon as it passes `max` bytes. */
export async function readCapped(stream: ReadableStream<Uint8Array>, max: number, field: string): Promise<Uint8Array> {
	const reader = stream.getReader();
	const chunks: Uint8Array[] = [];
	let total = 0;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		total += value.byteLength;
		if (total > max) {
			await reader.cancel().catch(() => {});
			throw tooLarge(field);
		}
		chunks.push(value);
	}
	const bytes = new Uint8Array(total);
	let offset = 0;
	for (const chunk of chunks) {
		bytes.set(chunk, offset);
		offset += chunk.byteLength;
	}
	return bytes;
}

/**
 * Downloads a file from a URL the caller gave, through fetchPublic: every URL, redirect targets
 * included, must pass the gateway's URL policy (public addresses only in production), at most 3
 * redirects; the body is read up to MAX_UPLOAD_BYTES and the whole download may take
 * DOWNLOAD_TIMEOUT_MS.
 */
export async function downloadBytes(
	url: string,
	field: string,
	options: { env: Pick<Env, "ENVIRONMENT">; fetch: Fetch; timeoutMs?: number },
): Promise<Uint8Array> {
	const signal = AbortSignal.timeout(options.timeoutMs ?? DOWNLOAD_TIMEOUT_MS);
	// The network's own words (hosts, ports, "connection lost") go to the log, never to the client.
	const failed = (error: unknown) => {
		logWarning("download failed", field, error);
		return badRequest(`${field} could not be downloaded: ${signal.aborted ? "timed out" : "the connection failed"}`);
	};
	let response: Response;
	try {
		response = await fetchPublic(url, { signal }, { env: options.env, fetch: options.fetch, field });
	} catch (error) {
		throw error instanceof UrlRefusedError ? badRequest(error.message) : failed(error);
	}
	if (!response.ok || !response.body) {
		await response.body?.cancel();
		throw badRequest(`${field} could not be downloaded: HTTP ${response.status}`);
	}
	const declared = Number(response.headers.get("content-length") ?? Number.NaN);
	if (Number.isFinite(declared) && declared > MAX_UPLOAD_BYTES) {
		await response.body.cancel();
		throw tooLarge(field);
	}
	try {
		return await readCapped(response.body, MAX_UPLOAD_BYTES, field);
	} catch (error) {
		if (error instanceof ApiError) throw error;
		throw failed(error);
	}
}

/** A picture from a URL the caller gave (see downloadBytes), checked to be PNG, JPEG or WebP. */
export async function downloadImage(
	url: string,
	field: string,
	options: { env: Pick<Env, "ENVIRONMENT">; fetch: Fetch; timeoutMs?: number },
): Promise<CheckedImage> {
	return checked(await downloadBytes(url, field, options), field);
}

/** The picture of a form field: an uploaded file, or a URL to download. */
export async function readImage(
	input: ImageInput,
	field: string,
	options: { env: Pick<Env, "ENVIRONMENT">; fetch: Fetch },
): Promise<CheckedImage> {
	if (typeof input === "string") return downloadImage(input, field, options);
	if (input.size > MAX_UPLOAD_BYTES) throw tooLarge(field);
	return checked(await readCapped(input.stream(), MAX_UPLOAD_BYTES, field), field);
}

/** Stores a checked picture under `key` with its real content type. */
export async function putImage(bucket: R2Bucket, key: string, image: CheckedImage): Promise<void> {
	await bucket.put(key, image.bytes, { httpMetadata: { contentType: image.type } });
}
