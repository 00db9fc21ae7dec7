import { sign } from "../auth/signing";
import { config } from "../config";

/**
 * The notifyHook handed to an upstream: a per-task URL carrying an HMAC, so nobody else
 * can post progress for the task. Undefined without PUBLIC_BASE_URL (polling still works).
 */
export async function upstreamCallbackUrl(env: Env, publicId: string): Promise<string | undefined> {
	const base = config(env).publicBaseUrl;
	if (!base) return undefined;
	return `${base}/mj/callback/${publicId}?sig=${await sign(env, "upstream-callback", publicId)}`;
}
