/** Links to the gateway's own copy of a result image. */
import { sign } from "../auth/signing";
import { config } from "../config";
import { parseStringArray, type TaskRow } from "../db/schema";

/** Absolute base URL: PUBLIC_BASE_URL when set, else the origin the request came to. */
export function publicBase(env: Env, requestOrigin?: string): string {
	return config(env).publicBaseUrl || (requestOrigin ?? "").replace(/\/+$/, "");
}

/**
 * The image URL clients see: the gateway's signed link as soon as the task has any image
 * ("" before). The link serves the R2 copy, or the upstream's image while the copy is made,
 * so it never changes and never points at an upstream a client may not reach.
 */
export async function taskImageUrl(
	env: Env,
	base: string,
	task: Pick<TaskRow, "publicId" | "imageKey" | "upstreamImageUrl">,
): Promise<string> {
	if (!task.imageKey && !task.upstreamImageUrl) return "";
	const signature = await sign(env, "image", task.publicId);
	return `${base}/mj/image/${task.publicId}?sig=${signature}`;
}

/** The signed links of a task's result videos: the gateway's copies, or the upstream's while the copy is made. */
export async function taskVideoUrls(
	env: Env,
	base: string,
	task: Pick<TaskRow, "publicId" | "videoUrl" | "videoUrls" | "videoKeys">,
): Promise<string[]> {
	const count = Math.max(
		parseStringArray(task.videoKeys).length,
		parseStringArray(task.videoUrls).length,
		task.videoUrl ? 1 : 0,
	);
	return Promise.all(
		Array.from({ length: count }, async (_, n) => {
			const value = videoLinkValue(task.publicId, n);
			return `${base}/mj/video/${task.publicId}/${n}?sig=${await sign(env, "image", value)}`;
		}),
	);
}

/** What a video link signs: the task and the video's index. */
export function videoLinkValue(publicId: string, n: number): string {
	return `${publicId}/video/${n}`;
}

/** The signed link of a picture uploaded through `/mj/submit/upload-discord-images`. */
export async function uploadUrl(env: Env, base: string, name: string): Promise<string> {
	return `${base}/mj/upload/${name}?sig=${await sign(env, "image", `upload/${name}`)}`;
}
