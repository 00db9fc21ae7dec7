/** Links to the gateway's own copy of a result image. */
import { sign } from "../auth/signing";
import type { TaskRow } from "../db/schema";

/** Absolute base URL: PUBLIC_BASE_URL when set, else the origin the request came to. */
export function publicBase(env: Env, requestOrigin?: string): string {
	return (env.PUBLIC_BASE_URL || requestOrigin || "").replace(/\/+$/, "");
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
