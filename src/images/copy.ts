/**
 * Copies a result image into R2 without holding it in memory: a known length streams
 * straight through a FixedLengthStream; an unknown length goes up as a multipart upload
 * in bounded parts.
 */
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
	contentType: string;
	size: number;
}

export async function copyImageToR2(bucket: R2Bucket, key: string, response: Response): Promise<CopiedImage> {
	if (!response.ok || !response.body) {
		await response.body?.cancel();
		throw new ImageCopyError(`image download answered HTTP ${response.status}`, response.status >= 500);
	}
	const contentType = (response.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
	if (!contentType.startsWith("image/") && !contentType.startsWith("video/")) {
		await response.body.cancel();
		throw new ImageCopyError(`image download has content type "${contentType || "none"}"`, false);
	}
	const httpMetadata = { contentType };
	const declared = Number(response.headers.get("content-length") ?? Number.NaN);
	if (Number.isSafeInteger(declared) && declared > 0) {
		if (declared > MAX_IMAGE_BYTES) {
			await response.body.cancel();
			throw new ImageCopyError(`image is ${declared} bytes, over the ${MAX_IMAGE_BYTES} limit`, false);
		}
		const { readable, writable } = new FixedLengthStream(declared);
		const [object] = await Promise.all([bucket.put(key, readable, { httpMetadata }), pump(response.body, writable)]);
		return { key, contentType, size: object?.size ?? declared };
	}
	return { key, contentType, size: await multipartCopy(bucket, key, response.body, httpMetadata) };
}

/**
 * Moves chunks one at a time with backpressure. pipeTo() cannot join every pair of stream
 * kinds in workerd (an in-process Response body into a FixedLengthStream fails), a pump can.
 */
async function pump(source: ReadableStream<Uint8Array>, sink: WritableStream<Uint8Array>): Promise<void> {
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
