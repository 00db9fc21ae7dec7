/** Builds the Hono app: error handling and the route groups of every surface. */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./context";
import { ApiError, type ErrorCode } from "./errors";
import { renderError, surfaceForPath } from "./routes/envelopes";
import { imageRoutes } from "./routes/images";
import { seed002Routes } from "./routes/seed002";
import { upstreamCallbackRoutes } from "./routes/upstream-callback";

function toApiError(error: unknown): ApiError {
	if (error instanceof ApiError) return error;
	if (error instanceof HTTPException) {
		const code: ErrorCode =
			error.status === 413
				? "PAYLOAD_TOO_LARGE"
				: error.status === 401
					? "UNAUTHORIZED"
					: error.status < 500
						? "BAD_REQUEST"
						: "INTERNAL";
		return new ApiError(code, error.message || "request rejected");
	}
	return new ApiError("INTERNAL", "internal error", { internal: error });
}

export function createApp() {
	// Clients copy the seed's own URLs, which contain "//" (e.g. /api/v1//task/fetch).
	const app = new Hono<AppEnv>({
		getPath: (request) => {
			const url = request.url;
			const start = url.indexOf("/", url.indexOf("://") + 3);
			const end = url.indexOf("?", start);
			const path = end === -1 ? url.slice(start) : url.slice(start, end);
			return path.includes("//") ? path.replace(/\/{2,}/g, "/") : path;
		},
	});

	app.onError((error, c) => {
		const apiError = toApiError(error);
		if (apiError.code === "INTERNAL")
			console.error("unhandled error", c.req.method, c.req.path, apiError.internal ?? error);
		return renderError(c, surfaceForPath(c.req.path), apiError);
	});
	app.notFound((c) =>
		renderError(c, surfaceForPath(c.req.path), new ApiError("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`)),
	);

	app.get("/health", (c) => c.json({ ok: true }));
	app.route("/api/v1", seed002Routes);
	app.route("/mj/image", imageRoutes);
	app.route("/mj/callback", upstreamCallbackRoutes);
	return app;
}
