/** Builds the Hono app: error handling and the route groups of every surface. */
import { type Context, type ErrorHandler, Hono, type MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { type CorsOrigins, config } from "./config";
import type { AppEnv, Surface } from "./context";
import { BOOKMARK_HEADER } from "./db/request-db";
import type { TaskMode } from "./db/schema";
import { type Deps, runtimeDeps } from "./deps";
import { ApiError } from "./errors";
import { logError } from "./log";
import { buildDocument, type DocumentedMount, openApiJson } from "./openapi/document";
import { accountRoutes } from "./routes/account";
import { adminRoutes } from "./routes/admin";
import { albumRoutes } from "./routes/album";
import { adminBannedWordRoutes } from "./routes/banned-words";
import { adminDeliveryRoutes, userDeliveryRoutes } from "./routes/deliveries";
import { renderError } from "./routes/envelopes";
import { imageRoutes, uploadRoutes, videoRoutes } from "./routes/images";
import { adminKeyRoutes, userKeyRoutes } from "./routes/keys";
import { MemoRouter } from "./routes/memo-router";
import { CONSOLE_ASSETS, serviceRoutes } from "./routes/openapi";
import { limitBody } from "./routes/params";
import { proxyRoutes } from "./routes/proxy";
import { seed001Routes } from "./routes/seed001";
import { seed002Routes } from "./routes/seed002";
import { streamRoutes } from "./routes/streams";
import { templateRoutes } from "./routes/templates";
import { upstreamCallbackRoutes } from "./routes/upstream-callback";

export interface Mount {
	/** Path prefix: the group answers `prefix` and `prefix/...`. */
	prefix: string;
	/** The client API of every answer under the prefix, unmatched paths included. */
	surface: Surface;
	/** Undefined while a surface is only reserved: its paths answer 404 in its envelope. */
	routes?: Hono<AppEnv>;
	/** A copy of another mount's routes under this extra prefix (a speed mode): see DocumentedMount. */
	server?: string;
}

/**
 * Every surface's prefixes: what is mounted where, and which envelope its answers and errors
 * use. The midjourney-proxy protocol (UPSTREAM.md "Serving this protocol") is served at /mj and
 * under the speed-mode prefixes; /mj/image and /mj/callback are the gateway's own routes there.
 */
export const MOUNTS: readonly Mount[] = [
	{ prefix: "/api/v1", surface: "seed002", routes: seed002Routes },
	// The new-api envelope {success, message}: its Midjourney module and the gateway's own account APIs.
	{ prefix: "/api/mj", surface: "seed001", routes: seed001Routes },
	// Each route authenticates as its definition says (src/openapi/define.ts `on`); the admin and
	// account groups end with a signed-in catch-all for their prefix, so they come last under it.
	{ prefix: "/api/admin", surface: "seed001", routes: adminKeyRoutes },
	{ prefix: "/api/admin", surface: "seed001", routes: adminDeliveryRoutes },
	{ prefix: "/api/admin", surface: "seed001", routes: adminBannedWordRoutes },
	{ prefix: "/api/admin", surface: "seed001", routes: adminRoutes },
	{ prefix: "/api/user/keys", surface: "seed001", routes: userKeyRoutes },
	{ prefix: "/api/user", surface: "seed001", routes: userDeliveryRoutes },
	// Live progress: its stream routes take a ticket, not a token.
	{ prefix: "/api/user", surface: "seed001", routes: streamRoutes },
	{ prefix: "/api/user", surface: "seed001", routes: accountRoutes },
	{ prefix: "/userAlbum", surface: "album", routes: albumRoutes },
	{ prefix: "/imageTemp", surface: "album", routes: templateRoutes },
	{ prefix: "/mj/image", surface: "proxy", routes: imageRoutes },
	{ prefix: "/mj/video", surface: "proxy", routes: videoRoutes },
	{ prefix: "/mj/upload", surface: "proxy", routes: uploadRoutes },
	{ prefix: "/mj/callback", surface: "proxy", routes: upstreamCallbackRoutes },
	// midjourney-proxy's own API, one group per speed mode. Its signed-in catch-alls are scoped to
	// its own paths (/submit/*, /task/*): /mj/image and /mj/callback callers carry no token.
	...(["", "fast", "relax", "turbo"] as const satisfies readonly TaskMode[]).map(
		(mode): Mount => ({
			prefix: mode ? `/mj-${mode}/mj` : "/mj",
			surface: "proxy",
			routes: proxyRoutes(mode),
			...(mode ? { server: `/mj-${mode}` } : {}),
		}),
	),
];

const under = (path: string, prefix: string) =>
	path === prefix || (path.startsWith(prefix) && path.charAt(prefix.length) === "/");

/** Longest prefix first, so /mj/image wins over /mj. */
const BY_LENGTH = [...MOUNTS].sort((a, b) => b.prefix.length - a.prefix.length);

/** The mount a (normalised) path is under, the longest prefix first; undefined outside every mount. */
const mountOf = (path: string): Mount | undefined => BY_LENGTH.find((mount) => under(path, mount.prefix));

/** The surface of a (normalised) path by the mount table; "plain" outside every mount. */
export function surfaceForPath(path: string): Surface {
	return mountOf(path)?.surface ?? "plain";
}

export { CONSOLE_ASSETS };

/** The service's own routes (health, the document, /docs, the console), mounted at "/". */
const SERVICE: DocumentedMount = {
	prefix: "",
	surface: "plain",
	routes: serviceRoutes(() => openApiJson(DOCUMENTED)),
};
/** Every group, as the OpenAPI document reads them. */
export const DOCUMENTED: readonly DocumentedMount[] = [SERVICE, ...MOUNTS];

/** The OpenAPI document of every route of the app (served at /openapi.json; scripts/openapi.mjs writes it). */
export const apiDocument = () => buildDocument(DOCUMENTED);

/** Largest request body of every route but the uploads. */
export const API_BODY_LIMIT = 1024 * 1024;

/** Routes that carry pictures and limit their bodies themselves (uploadLimit, PROXY_BODY_LIMIT). */
const UPLOAD_PATHS = new Set(["/userAlbum/create", "/imageTemp/create", "/imageTemp/update"]);
const PROXY_UPLOADS = /^\/mj(?:-(?:fast|relax|turbo)\/mj)?\/(?:submit|insight-face)\//;

function hasOwnBodyLimit(path: string): boolean {
	return UPLOAD_PATHS.has(path) || PROXY_UPLOADS.test(path);
}

/** The Access-Control-Allow-Origin for `origin`, or null when it may not call the API. */
export function allowedOrigin(origin: string, allowed: CorsOrigins = "*"): string | null {
	if (allowed === "*") return "*";
	return allowed.includes(origin) ? origin : null;
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

const EXPOSE_HEADERS = ["x-next-cursor", "idempotent-replayed", "retry-after", BOOKMARK_HEADER].join(",");

/**
 * Everything every request goes through before its route, in one middleware (each Hono hop is a
 * dispatch and a promise on every request): the deps, the surface's tag, CORS and the body limit.
 *
 * The tag is the longest mount prefix the path is under (surfaceForPath), set for unknown paths
 * too, so a 404 answers in its surface's envelope; outside every mount it stays unset ("plain").
 *
 * CORS: Hono's cors() for browsers (a request with an Origin, and every preflight, which it
 * answers itself), and the same headers, set once on the final answer, for the rest: servers and
 * SDKs send no Origin, and Hono's cors() sets its headers before the route runs, on a placeholder
 * Response whose headers are then copied into the route's own, a cost on every request.
 *
 * Every route takes a small body but the upload routes, which set their own (larger) limits.
 */
function beforeRoutes(deps: Deps | undefined, onError: ErrorHandler<AppEnv>): MiddlewareHandler<AppEnv> {
	const browser = cors({
		origin: (origin, c) => allowedOrigin(origin, config(c.env as Env).corsOrigins),
		allowHeaders: ["authorization", "mj-api-secret", "content-type", "idempotency-key", BOOKMARK_HEADER],
		exposeHeaders: EXPOSE_HEADERS.split(","),
		maxAge: 86_400,
	});
	const smallBodies = limitBody(API_BODY_LIMIT);
	return async (c, next) => {
		c.set("deps", deps ?? runtimeDeps());
		const path = c.req.path;
		const mount = mountOf(path);
		if (mount) c.set("surface", mount.surface);
		const limited = async (): Promise<void> => {
			// A body-less request (every GET) has nothing to limit.
			if (c.req.raw.body === null || hasOwnBodyLimit(path)) return next();
			try {
				await smallBodies(c, next);
			} catch (error) {
				// The limit's refusal, answered here as Hono answers a throw (the route's own throws
				// were answered inside next()), so it still gets the CORS headers below.
				c.error = error as Error;
				c.res = await onError(error as Error, c);
			}
		};
		// A preflight is answered by cors() itself: its Response is the answer.
		if (c.req.method === "OPTIONS" || c.req.raw.headers.has("origin")) return browser(c, limited);
		await limited();
		const allowOrigin = allowedOrigin("", config(c.env).corsOrigins);
		const set = (headers: Headers) => {
			if (allowOrigin) headers.set("Access-Control-Allow-Origin", allowOrigin);
			headers.set("Access-Control-Expose-Headers", EXPOSE_HEADERS);
			headers.append("Vary", "Origin");
		};
		try {
			set(c.res.headers);
		} catch {
			// A response straight from a binding (the console's assets) has immutable headers.
			const copy = new Response(c.res.body, c.res);
			set(copy.headers);
			c.res = copy;
		}
	};
}

/** The request's surface: its mount's tag, else (an error thrown before tagging) the table by prefix. */
const surfaceOf = (c: Context<AppEnv>): Surface => c.get("surface") ?? surfaceForPath(c.req.path);

/** The app; tests may hand it their own network, clock and chance. */
export function createApp(deps?: Deps) {
	// Clients copy the seed documents' URLs as written: "//" inside (/api/v1//task/fetch) and a
	// trailing slash (/api/mj/) both reach the same route as the plain path.
	// A TrieRouter (remembering its answers), not Hono's default SmartRouter: RegExpRouter refuses
	// this route set (a `:id` beside literals under /mj/task), and SmartRouter found that out by
	// building it on every isolate's first request (3-17 ms) before falling back to the trie
	// (bench/README.md, "The router").
	const app = new Hono<AppEnv>({ router: new MemoRouter(), getPath: (request) => normalizePath(request.url) });

	const onError: ErrorHandler<AppEnv> = (error, c) => {
		const apiError = ApiError.from(error);
		if (apiError.code === "INTERNAL") logError("unhandled error", c.req.method, c.req.path, apiError.internal ?? error);
		const response = renderError(c, surfaceOf(c), apiError);
		for (const [name, value] of Object.entries(apiError.headers ?? {})) response.headers.set(name, value);
		return response;
	};
	app.onError(onError);
	app.notFound((c) =>
		renderError(c, surfaceOf(c), new ApiError("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`)),
	);

	// Browser apps call these APIs with tokens in headers (no cookies), so any listed origin may.
	app.use("*", beforeRoutes(deps, onError));

	app.route("/", SERVICE.routes as Hono<AppEnv>);
	for (const mount of MOUNTS) if (mount.routes) app.route(mount.prefix, mount.routes);
	return app;
}
