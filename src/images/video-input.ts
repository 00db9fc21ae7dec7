/**
 * A video a client hands in (the target of `/mj/insight-face/video-swap`): a file part or a URL
 * to download, accepted only when its bytes are an MP4 (an ISO base media file whose first box
 * is `ftyp`) and within MAX_UPLOAD_BYTES, never read past that limit.
 */

import type { Fetch } from "../deps";
import { badRequest } from "../errors";
import { downloadBytes, MAX_UPLOAD_BYTES, readCapped, tooLarge } from "./upload";

/** True for the bytes of an MP4 (or another ISO base media file: MOV, M4V) by its first box. */
export function isMp4(bytes: Uint8Array): boolean {
	if (bytes.length < 12) return false;
	const type = String.fromCharCode(bytes[4] ?? 0, bytes[5] ?? 0, bytes[6] ?? 0, bytes[7] ?? 0);
	return type === "ftyp";
}

function checkedVideo(bytes: Uint8Array, field: string): Uint8Array {
	if (!isMp4(bytes)) throw badRequest(`${field} must be an MP4 video`);
	return bytes;
}

export async function readVideo(file: File, field: string): Promise<Uint8Array> {
	if (file.size > MAX_UPLOAD_BYTES) throw tooLarge(field);
	return checkedVideo(await readCapped(file.stream(), MAX_UPLOAD_BYTES, field), field);
}

export async function downloadVideo(
	url: string,
	field: string,
	options: { env: Pick<Env, "ENVIRONMENT">; fetch: Fetch },
): Promise<Uint8Array> {
	return checkedVideo(await downloadBytes(url, field, options), field);
}
