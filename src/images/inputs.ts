/**
 * Pictures a midjourney-proxy client hands in inline (`base64`, `base64Array`, `maskBase64`,
 * `image`, `sourceBase64`, …) as base64 or `data:` URLs. Each is checked like an album upload
 * (its bytes must be PNG, JPEG or WebP, at most MAX_UPLOAD_BYTES) before anything is written, then
 * kept in R2 under the task, so the queue message and the D1 row carry only keys. The dispatcher
 * sends them upstream again as data URLs.
 */
import { fromBase64 } from "../encoding";
import { badRequest } from "../errors";
import { logError } from "../log";
import { type CheckedImage, checked, EXTENSION_OF, MAX_UPLOAD_BYTES, putImage, tooLarge } from "./upload";

const DATA_URL = /^data:([\w.+-]+\/[\w.+-]+)?(?:;[\w-]+=[\w.-]+)*;base64,/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes one inline picture; the field names it in the error. */
export function decodeInlineImage(value: string, field: string): CheckedImage {
	const text = value.trim();
	const prefix = DATA_URL.exec(text);
	const payload = (prefix ? text.slice(prefix[0].length) : text).replace(/\s+/g, "");
	if (payload === "") throw badRequest(`${field} is empty: send a base64 PNG, JPEG or WebP image`);
	// 4 base64 characters carry 3 bytes: refuse before decoding anything too large.
	if (Math.floor((payload.length * 3) / 4) > MAX_UPLOAD_BYTES + 2) throw tooLarge(field);
	if (payload.length % 4 === 1 || !BASE64.test(payload)) throw badRequest(`${field} is not valid base64`);
	let bytes: Uint8Array;
	try {
		bytes = fromBase64(payload);
	} catch {
		throw badRequest(`${field} is not valid base64`);
	}
	if (bytes.length > MAX_UPLOAD_BYTES) throw tooLarge(field);
	return checked(bytes, field);
}

/** R2 key of the n-th input picture of a task. */
export function inputKey(publicId: string, n: number, image: CheckedImage): string {
	return `inputs/${publicId}/${n}.${EXTENSION_OF[image.type]}`;
}

/** Stores the pictures under the task and returns their keys, in order. */
export async function storeInputs(
	bucket: R2Bucket,
	publicId: string,
	images: readonly CheckedImage[],
): Promise<string[]> {
	const keys = images.map((image, n) => inputKey(publicId, n, image));
	await Promise.all(images.map((image, n) => putImage(bucket, keys[n], image)));
	return keys;
}

/** Removes stored inputs again (a refused submit leaves nothing behind). */
export async function removeInputs(bucket: R2Bucket, keys: readonly string[]): Promise<void> {
	if (keys.length === 0) return;
	await bucket.delete([...keys]).catch((error) => logError("input cleanup failed", keys, error));
}
