/** Builds the Hono app: error handling and the route groups of every surface. */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./context";
import { BOOKMARK_HEADER } from "./db/request-db";
import { TASK_MODES } from "./db/schema";
import { ApiError, type ErrorCode } from "./errors";
import { accountRoutes } from "./routes/account";
import { adminRoutes } from "./routes/admin";
import { albumRoutes } from "./routes/album";
import { adminDeliveryRoutes, userDeliveryRoutes } from "./routes/deliveries";
import { renderError, surfaceForPath } from "./routes/envelopes";
import { imageRoutes, uploadRoutes, videoRoutes } from "./routes/images";
import { adminKeyRoutes, userKeyRoutes } from "./routes/keys";
import { proxyRoutes } from "./routes/proxy";
import { seed001Routes } from "./routes/seed001";
import { seed002Routes } from "./routes/seed002";
import { templateRoutes } from "./routes/templates";
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

/** Largest request body the /api/* JSON endpoints accept. */
export const API_BODY_LIMIT = 1024 * 1024;

/** CORS_ORIGINS is "*" (any origin) or a comma-separated list of origins. */
export function allowedOrigin(origin: string, setting: string | undefined): string | null {
	const value = (setting ?? "*").trim();
	if (value === "*") return "*";
	return value.split(",").some((allowed) => allowed.trim() === origin) ? origin : null;
}

/** The URL's path with repeated slashes collapsed and no trailing slash (except "/"). */
export function normalizePath(url: string): string {
	const start = url.indexOf("/", url.indexOf("://") + 3);
	if (start === -1) return "/";
	const query = url.indexOf("?", start);
	let path = query === -1 ? url.slice(start) : url.slice(start, query);
	if (path.includes("//")) path = path.replace(/\/{2,}/g, "/");
	return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

export function createApp() {
	// Clients copy the seed documents' URLs as written: "//" inside (/api/v1//task/fetch) and a
	// trailing slash (/api/mj/) both reach the same route as the plain path.
	const app = new Hono<AppEnv>({ getPath: (request) => normalizePath(request.url) });

	app.onError((error, c) => {
		const apiError = toApiError(error);
		if (apiError.code === "INTERNAL")
			console.error("unhandled error", c.req.method, c.req.path, apiError.internal ?? error);
		return renderError(c, surfaceForPath(c.req.path), apiError);
	});
	app.notFound((c) =>
		renderError(c, surfaceForPath(c.req.path), new ApiError("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`)),
	);

	// Browser apps call these APIs with tokens in headers (no cookies), so any listed origin may.
	app.use(
		"*",
		cors({
			origin: (origin, c) => allowedOrigin(origin, (c.env as Env).CORS_ORIGINS),
			allowHeaders: ["authorization", "mj-api-secret", "content-type", BOOKMARK_HEADER],
			exposeHeaders: ["x-next-cursor", BOOKMARK_HEADER],
			maxAge: 86_400,
		}),
	);
	// The JSON APIs take small bodies; uploads have their own limits on their own routes.
	app.use(
		"/api/*",
		bodyLimit({
			maxSize: API_BODY_LIMIT,
			onError: () => {
				throw new ApiError("PAYLOAD_TOO_LARGE", `request body is over ${API_BODY_LIMIT} bytes`);
			},
		}),
	);

	app.get("/health", (c) => c.json({ ok: true }));
	app.route("/api/v1", seed002Routes);
	app.route("/api/mj", seed001Routes);
	app.route("/api/admin", adminKeyRoutes); // before adminRoutes, whose .use() would authenticate twice
	app.route("/api/admin", adminDeliveryRoutes); // likewise
	app.route("/api/admin", adminRoutes);
	app.route("/api/user/keys", userKeyRoutes); // before accountRoutes, likewise
	app.route("/api/user", userDeliveryRoutes); // likewise
	app.route("/api/user", accountRoutes);
	app.route("/userAlbum", albumRoutes);
	app.route("/imageTemp", templateRoutes);
	app.route("/mj/image", imageRoutes);
	app.route("/mj/video", videoRoutes);
	app.route("/mj/upload", uploadRoutes);
	app.route("/mj/callback", upstreamCallbackRoutes);
	for (const mode of TASK_MODES) app.route(mode ? `/mj-${mode}/mj` : "/mj", proxyRoutes(mode));
	return app;
}
