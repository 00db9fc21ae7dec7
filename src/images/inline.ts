/** Images sent to an upstream inline, as the protocol's base64 data URLs. */
import { base64 } from "../encoding";

/** Inline images larger than this are refused rather than held in memory. */
export const MAX_INLINE_IMAGE_BYTES = 10 * 1024 * 1024;

/** An image a task needs inline is not in R2 (deleted, never stored). */
export class MissingImageError extends Error {}

/** An image a task needs inline is larger than the protocol's inline limit. */
export class InlineImageTooLargeError extends Error {}

/** The R2 object as `data:<type>;base64,…`. */
export async function r2DataUrl(bucket: R2Bucket, key: string): Promise<string> {
	const object = await bucket.get(key);
	if (!object) throw new MissingImageError(`image ${key} is missing`);
	if (object.size > MAX_INLINE_IMAGE_BYTES) {
		await object.body.cancel();
		throw new InlineImageTooLargeError(`image ${key} is over ${MAX_INLINE_IMAGE_BYTES} bytes`);
	}
	const bytes = new Uint8Array(await object.arrayBuffer());
	return `data:${object.httpMetadata?.contentType ?? "image/png"};base64,${base64(bytes)}`;
}
