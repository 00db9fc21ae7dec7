/**
 * One renderer per client API's error envelope. The surface comes from the path, so
 * unmatched routes and errors thrown before any handler still answer in the right shape.
 */
import type { Context } from "hono";
import type { Surface } from "../context";
import type { ApiError } from "../errors";

export function surfaceForPath(path: string): Surface {
	if (path.startsWith("/api/v1/") || path === "/api/v1") return "seed002";
	// The new-api envelope {success, message}: its Midjourney module and the gateway's own account APIs.
	if (path.startsWith("/api/mj") || path.startsWith("/api/admin") || path.startsWith("/api/user")) return "seed001";
	if (path.startsWith("/userAlbum") || path.startsWith("/imageTemp")) return "album";
	if (path.startsWith("/mj/") || path.startsWith("/mj-")) return "proxy";
	return "plain";
}

/** midjourney-proxy style numeric codes for the proxy surface. */
const PROXY_CODES: Partial<Record<ApiError["code"], number>> = {
	NOT_FOUND: 3,
	UNKNOWN_TASK: 3,
	BAD_REQUEST: 4,
	PAYLOAD_TOO_LARGE: 4,
	CONFLICT: 4,
	QUEUE_FULL: 23,
	BANNED_PROMPT: 24,
};

export function renderError(c: Context, surface: Surface, error: ApiError): Response {
	switch (surface) {
		case "seed002":
			return c.json({ code: 0, description: error.message }, error.status);
		case "seed001":
			return c.json({ success: false, message: error.message }, error.status);
		case "album": {
			// Seed 000 lists 800 (parameter error) and 510 (system error); the gateway adds 401 (missing
			// or invalid token), 402 (not enough quota) and 403 (admins only); see the README.
			const code =
				error.status >= 500
					? 510
					: error.code === "UNAUTHORIZED"
						? 401
						: error.code === "INSUFFICIENT_QUOTA"
							? 402
							: error.code === "FORBIDDEN"
								? 403
								: 800;
			return c.json({ code, msg: error.message }, error.status);
		}
		case "proxy":
			return c.json(
				{
					code: PROXY_CODES[error.code] ?? 9,
					description: error.message,
					...(error.properties ? { properties: error.properties } : {}),
				},
				error.status,
			);
		case "plain":
			return c.json({ error: { code: error.code, message: error.message } }, error.status);
	}
}
