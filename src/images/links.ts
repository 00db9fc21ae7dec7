/** Links to the gateway's own copy of a result image. */
import { sign } from "../auth/signing";
import type { TaskRow } from "../db/schema";

/** Absolute base URL: PUBLIC_BASE_URL when set, else the origin the request came to. */
export function publicBase(env: Env, requestOrigin?: string): string {
	return (env.PUBLIC_BASE_URL || requestOrigin || "").replace(/\/+$/, "");
}

/**
 * The image URL clients see: the gateway's signed copy once it exists, else the upstream's
 * own URL (while the copy is still being made), else "".
 */
export async function taskImageUrl(
	env: Env,
	base: string,
	task: Pick<TaskRow, "publicId" | "imageKey" | "upstreamImageUrl">,
): Promise<string> {
	if (!task.imageKey) return task.upstreamImageUrl;
	const signature = await sign(env, "image", task.publicId);
	return `${base}/mj/image/${task.publicId}?sig=${signature}`;
}
