/**
 * Copies a result image or video into R2 without holding it in memory: its first bytes decide
 * whether it is media at all and its stored type; then a known length streams straight through
 * a FixedLengthStream, an unknown length goes up as a multipart upload in bounded parts.
 */
import { bareType, type MediaType, peek, sniffMediaType } from "./media-type";

export const MAX_IMAGE_BYTES = 256 * 1024 * 1024;
/** R2 parts must be at least 5 MiB except the last. */
const PART_BYTES = 8 * 1024 * 1024;

export class ImageCopyError extends Error {
	readonly retryable: boolean;
	constructor(message: string, retryable: boolean) {
		super(message);
		this.name = "ImageCopyError";
		this.retryable = retryable;
	}
}

export function imageKey(publicId: string): string {
	return `images/${publicId}`;
}

/** R2 key of the gateway's copy of the n-th result video of a task. */
export function videoKey(publicId: string, n: number): string {
	return `videos/${publicId}/${n}`;
}

export interface CopiedImage {
	key: string;
	contentType: MediaType;
	size: number;
}

/**
 * Streams a result into R2 under `key`, stored as the media type its first bytes show. A body
 * that is not PNG, JPEG, WebP, GIF, MP4 or WebM is refused before anything is written, whatever
 * content type the upstream declared: the gateway keeps no file a browser could run as a page.
 */
export async function copyImageToR2(bucket: R2Bucket, key: string, response: Response): Promise<CopiedImage> {
	if (!response.ok || !response.body) {
		await response.body?.cancel();
		throw new ImageCopyError(`image download answered HTTP ${response.status}`, response.status >= 500);
	}
	const declared = Number(response.headers.get("content-length") ?? Number.NaN);
	if (Number.isSafeInteger(declared) && declared > MAX_IMAGE_BYTES) {
		await response.body.cancel();
		throw new ImageCopyError(`image is ${declared} bytes, over the ${MAX_IMAGE_BYTES} limit`, false);
	}
	const { head, body } = await peek(response.body);
	const contentType = sniffMediaType(head);
	if (!contentType) {
		await body.cancel();
		const upstreamType = bareType(response.headers.get("content-type")) || "none";
		throw new ImageCopyError(`${NOT_MEDIA} (declared "${upstreamType}")`, false);
	}
	const httpMetadata = { contentType };
	if (Number.isSafeInteger(declared) && declared > 0) {
		const { readable, writable } = new FixedLengthStream(declared);
		const [object] = await Promise.all([bucket.put(key, readable, { httpMetadata }), pump(body, writable)]);
		return { key, contentType, size: object?.size ?? declared };
	}
	return { key, contentType, size: await multipartCopy(bucket, key, body, httpMetadata) };
}

/** Why a result was not copied: its bytes are none of the media types the gateway serves. */
export const NOT_MEDIA = "the download is not a PNG, JPEG, WebP, GIF, MP4 or WebM file";

/**
 * Moves chunks one at a time with backpressure. pipeTo() cannot join every pair of stream
 * kinds in workerd (an in-process Response body into a FixedLengthStream fails), a pump can.
 */
export async function pump(source: ReadableStream<Uint8Array>, sink: WritableStream<Uint8Array>): Promise<void> {
	const reader = source.getReader();
	const writer = sink.getWriter();
	try {
		for (;;) {
			const { done, value } = await reader.read();
			if (done) break;
			await writer.write(value);
		}
		await writer.close();
	} catch (error) {
		await writer.abort(error).catch(() => {});
		await reader.cancel(error).catch(() => {});
		throw error;
	}
}

async function multipartCopy(
	bucket: R2Bucket,
	key: string,
	body: ReadableStream<Uint8Array>,
	httpMetadata: R2HTTPMetadata,
): Promise<number> {
	const upload = await bucket.createMultipartUpload(key, { httpMetadata });
	const parts: R2UploadedPart[] = [];
	let buffered: Uint8Array[] = [];
	let bufferedBytes = 0;
	let total = 0;
	const flush = async () => {
		const part = new Uint8Array(bufferedBytes);
		let offset = 0;
		for (const chunk of buffered) {
			part.set(chunk, offset);
			offset += chunk.byteLength;
		}
		parts.push(await upload.uploadPart(parts.length + 1, part));
		buffered = [];
		bufferedBytes = 0;
	};
	try {
		for await (const chunk of body) {
			total += chunk.byteLength;
			if (total > MAX_IMAGE_BYTES) throw new ImageCopyError(`image is over the ${MAX_IMAGE_BYTES} byte limit`, false);
			buffered.push(chunk);
			bufferedBytes += chunk.byteLength;
			if (bufferedBytes >= PART_BYTES) await flush();
		}
		if (bufferedBytes > 0 || parts.length === 0) await flush();
		await upload.complete(parts);
		return total;
	} catch (error) {
		await upload.abort();
		throw error;
	}
}
