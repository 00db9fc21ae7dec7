/** Helpers shared by the integration tests: tokens, requests through the Worker, waiting. */
import { env, exports } from "cloudflare:workers";
import { signToken } from "../../src/auth/token";

export const BASE = "http://gateway.test";

let counter = 0;
/** A fresh user per test keeps tests independent of each other's rows. */
export function uniqueSub(prefix = "user"): string {
	counter += 1;
	return `${prefix}-${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export function tokenFor(
	sub: string,
	role: "user" | "admin" = "user",
	expiresIn: string | number = "1h",
): Promise<string> {
	return signToken({ sub, role }, env.JWT_SECRET, expiresIn);
}

export async function call(path: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
	const headers = new Headers(init.headers);
	if (init.token) headers.set("authorization", `Bearer ${init.token}`);
	return exports.default.fetch(new Request(`${BASE}${path}`, { ...init, headers }));
}

export async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
	return (await response.json()) as T;
}

/**
 * Polls `probe` until it returns a value, or fails after `timeoutMs`. The pauses between probes
 * start at 10 ms and double up to 100 ms: most conditions hold within a few hundred
 * milliseconds, and a fixed 100 ms pause lost half of one on average at every wait.
 */
export async function waitFor<T>(
	probe: () => Promise<T | undefined | null | false>,
	timeoutMs = 20_000,
	label = "condition",
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (let pause = 10; ; pause = Math.min(pause * 2, 100)) {
		const value = await probe();
		if (value) return value;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
		await new Promise((resolve) => setTimeout(resolve, pause));
	}
}
