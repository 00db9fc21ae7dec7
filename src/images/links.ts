/** Links to the gateway's own copy of a result image. */
import { sign, signEach } from "../auth/signing";
import { config } from "../config";
import { parseStringArray, type TaskRow } from "../db/schema";

/** Absolute base URL: PUBLIC_BASE_URL when set, else the origin the request came to. */
export function publicBase(env: Env, requestOrigin?: string): string {
	return config(env).publicBaseUrl || (requestOrigin ?? "").replace(/\/+$/, "");
}

/**
 * The origin of a request's URL (`https://host[:port]`), as `new URL(url).origin` answers it:
 * workerd hands a Worker its request URL already parsed and serialised (host lower-cased,
 * default port dropped), so the origin is the text before the path. Parsing a URL again costs
 * more than the rest of a small answer's work; one with credentials in it takes the parser.
 */
export function originOf(url: string): string {
	const start = url.indexOf("://");
	const end = url.indexOf("/", start + 3);
	const origin = end === -1 ? url : url.slice(0, end);
	return start === -1 || origin.includes("@") || origin.includes("?") || origin.includes("#")
		? new URL(url).origin
		: origin;
}

/** publicBase for a request to `url`. */
export const requestBase = (env: Env, url: string): string => config(env).publicBaseUrl || originOf(url);

/**
 * The image URL clients see: the gateway's signed link as soon as the task has any image
 * ("" before). The link serves the R2 copy, or the upstream's image while the copy is made,
 * so it never changes and never points at an upstream a client may not reach.
 */
export async function taskImageUrl(env: Env, base: string, task: ImageSource): Promise<string> {
	if (!hasImage(task)) return "";
	return imageLink(base, task.publicId, await sign(env, "image", task.publicId));
}

type ImageSource = Pick<TaskRow, "publicId" | "imageKey" | "upstreamImageUrl">;

const hasImage = (task: ImageSource) => Boolean(task.imageKey || task.upstreamImageUrl);
const imageLink = (base: string, publicId: string, signature: string) =>
	`${base}/mj/image/${publicId}?sig=${signature}`;

/** taskImageUrl of every task of a page, in order, in one wait (signEach). */
export async function taskImageUrls(env: Env, base: string, tasks: readonly ImageSource[]): Promise<string[]> {
	const signatures = await signEach(
		env,
		"image",
		tasks.map((task) => (hasImage(task) ? task.publicId : null)),
	);
	return tasks.map((task, i) => {
		const signature = signatures[i];
		return signature === null ? "" : imageLink(base, task.publicId, signature);
	});
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
