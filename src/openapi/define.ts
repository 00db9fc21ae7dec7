/**
 * How a route is defined once: `createRoute` (@hono/zod-openapi) with its method, path, request
 * schemas and answers, attached to its group with `on(group, route, handler)`. The same object
 * feeds validation (the library's zod validators, with `validationHook` so a bad input is a 400
 * in the surface's own envelope), the OpenAPI document (./document.ts reads every group's
 * registry through the mount table) and, from that, /docs and the console's typed client.
 *
 * Routes whose input is read in a way zod-openapi's validators cannot express without changing
 * what clients see (readParams' "query or any body", midjourney-proxy's lenient content types,
 * multipart with files) describe it as `"x-input"` and read it through `inputOf(route)`.
 */
import { OpenAPIHono, type RouteConfig, type RouteHandler } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { z } from "zod";
import { authenticate } from "../auth/middleware";
import type { AppEnv, Surface } from "../context";
import { openRequestDb } from "../db/request-db";
import { TASK_MODES } from "../db/schema";
import { badRequest, notFound } from "../errors";
import { declaresJson, readJsonObject } from "../routes/params";
import { validationHook } from "../routes/validate";
import * as body from "./responses";

/**
 * Who may call: `user` and `admin` take a JWT or an API key (Authorization or mj-api-secret);
 * `signature` is a capability link whose `sig` query parameter is an HMAC the gateway handed out.
 */
export type Auth = "none" | "user" | "admin" | "signature";

/** The document's groups (name: description), in the order the reference shows them. */
export const TAGS = {
	seed002: {
		name: "Seed 002: /api/v1",
		description: "Midjourney-node-api's API: bare answers, errors {code: 0, description}.",
	},
	proxy: {
		name: "midjourney-proxy: /mj",
		description:
			"The midjourney-proxy protocol: errors {code, description, properties?}. Also served under the speed-mode prefixes /mj-fast, /mj-relax and /mj-turbo (each operation's servers).",
	},
	seed001: {
		name: "Seed 001: /api/mj",
		description: "new-api's Midjourney module: {success, message, data}; errors {success: false, message}.",
	},
	album: {
		name: "Album: /userAlbum",
		description: 'The album (seed 000): {code: 200, msg: "SUCCESS", data}; errors {code, msg}.',
	},
	templates: { name: "Image templates: /imageTemp", description: "The album's templates, in the album's envelope." },
	account: { name: "Account", description: "The caller's own account, in the new-api envelope." },
	keys: { name: "API keys", description: "API keys (mjk_…), in the new-api envelope." },
	callbacks: {
		name: "Callbacks",
		description:
			"Signed client callbacks (Standard Webhooks): the secret and the delivery log, in the new-api envelope.",
	},
	live: {
		name: "Live progress",
		description: "Streams of task updates (SSE or WebSocket) opened with a short-lived ticket, never a token.",
	},
	admin: {
		name: "Admin",
		description:
			"Admins only: the dashboard, users' quota, the upstream channels and banned words, in the new-api envelope.",
	},
	images: {
		name: "Images",
		description: "Result images, videos and uploads behind signed links (errors in the midjourney-proxy envelope).",
	},
	upstream: { name: "Upstreams", description: "Not for clients: what upstreams call." },
	meta: { name: "Service", description: "Health and this reference." },
} as const satisfies Record<string, { name: string; description: string }>;
export type Tag = keyof typeof TAGS;

/** The prefixes the midjourney-proxy API is served under besides /mj, as src/app.ts mounts them. */
export const SPEED_MODE_PREFIXES = TASK_MODES.filter((mode) => mode !== "").map((mode) => `/mj-${mode}`);

/** An input read by the route itself (see the file comment), described for the document. */
export interface Input<S extends z.ZodType = z.ZodType> {
	/**
	 * `json`: a JSON body. `query`: the query string. `params`: readParams, i.e. the query string,
	 * or a JSON, urlencoded or multipart body with the same names (values as text or JSON scalars).
	 * `form`: a multipart form only.
	 */
	from: "json" | "query" | "params" | "form";
	schema: S;
	/** Multipart file fields that may stand in for the URL field of the same name. */
	files?: readonly string[];
	/** `form`: the multipart file fields and what they hold. */
	formFiles?: Readonly<Record<string, { media: string; description: string }>>;
}

/** What mj-edge adds to a route's OpenAPI operation (OpenAPI extensions, never printed as such). */
export interface RouteExtras {
	"x-auth"?: Auth;
	/** Takes an Idempotency-Key header (src/routes/idempotency.ts). */
	"x-idempotent"?: boolean;
	/** Answers the next page's cursor in an x-next-cursor header. */
	"x-cursor"?: boolean;
	"x-input"?: Input;
}

/** The schema of a route's own `x-input`, to validate with (readParams + parseWith, bodyOf, …). */
export function inputOf<S extends z.ZodType>(route: { "x-input": Input<S> }): S {
	return route["x-input"].schema;
}

/** A bad input, thrown in the surface's envelope like every other validation error. */
const defaultHook = (result: { success: true } | { success: false; error: z.core.$ZodError }) => validationHook(result);

/** A route group: its routes are defined with createRoute and validate through validationHook. */
export function routeGroup() {
	return new OpenAPIHono<AppEnv>({ defaultHook });
}

/** Whether the library validates a JSON body for `route` (request.body with a zod application/json schema). */
const takesJson = (route: RouteConfig) =>
	(route.request?.body?.content["application/json"] as { schema?: unknown } | undefined)?.schema instanceof z.ZodType;

/**
 * What a route's `x-auth` requires before anything else: a user's or an admin's token or key
 * (with the request's D1 session, which reading them needs). The one place a route's auth is
 * enforced, from the same word the document's security comes from, so the two cannot disagree
 * and no route authenticates twice.
 */
function guard(auth: Auth | undefined): MiddlewareHandler<AppEnv>[] {
	if (auth === "user") return [signedIn(authenticate())];
	if (auth === "admin") return [signedIn(authenticate({ role: "admin" }))];
	return [];
}

/**
 * requestDb() and `check` (authenticate()) in one hop, as they answer in two: a refusal still
 * carries the session's bookmark, the route's own errors are answered inside next().
 */
function signedIn(check: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> {
	const passed = async () => {};
	return async (c, next) => {
		const finish = openRequestDb(c);
		try {
			await check(c, passed);
		} catch (error) {
			finish();
			throw error;
		}
		await next();
		finish();
	};
}

/**
 * Attaches `handler` to `route` on `group`, behind the route's own guard (`x-auth`), then its own
 * middleware, then (for a validated JSON body) jsonOnly, then the library's validators. Handlers
 * answer with `ok()` (the surface's envelope) or a bare Response, so the answer's type is not
 * tied to the documented schema here: the document test checks real answers against it instead.
 */
export function on<R extends RouteConfig & RouteExtras>(
	group: OpenAPIHono<AppEnv>,
	route: R,
	handler: (c: Parameters<RouteHandler<R, AppEnv>>[0]) => Response | Promise<Response>,
): OpenAPIHono<AppEnv> {
	const own = route.middleware === undefined ? [] : [route.middleware].flat();
	const middleware = [...guard(route["x-auth"]), ...own, ...(takesJson(route) ? [jsonOnly] : [])];
	group.openapi({ ...route, middleware }, handler as never);
	return group;
}

/**
 * Every other path under the group's prefix is a signed-in API: the token is checked before the
 * 404, so an unknown path tells a caller without one nothing. Registered last in its group.
 */
export function signedInElsewhere(group: OpenAPIHono<AppEnv>, auth: "user" | "admin", path = "*") {
	const [signIn] = guard(auth);
	group.all(path, signIn, (c) => {
		throw notFound(`no route for ${c.req.method} ${c.req.path}`);
	});
	return group;
}

/**
 * A validated JSON body must be declared JSON, and a body that is not is refused in the surface's
 * envelope: zod's validator would read it as `{}` (for a schema of optional fields, quietly
 * ignoring it), and zod-openapi's own media-type check would answer a bare 415. The body is read
 * by the one JSON reader, so a malformed one gets the same words on every route; the library's
 * validator then finds it in Hono's body cache.
 */
const jsonOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
	if (!declaresJson(c.req.header("content-type"))) {
		throw badRequest("the body must be JSON (content-type: application/json)");
	}
	await readJsonObject(c);
	await next();
};

/** A required JSON body, validated by the library (`on` adds jsonOnly in front). */
export const jsonBody = <S extends z.ZodType>(schema: S) => ({
	required: true,
	content: { "application/json": { schema } },
});

/** Records which surface wraps a success body, so the document shows the envelope around its named schema. */
export const ENVELOPES = new WeakMap<z.ZodType, { surface: Surface; data: z.ZodType }>();

/** The success body inside the surface's envelope, as src/routes/envelopes.ts `ok` wraps it. */
export function envelope(surface: Surface, data: z.ZodType): z.ZodType {
	let wrapped: z.ZodType;
	switch (surface) {
		case "seed001":
			wrapped = z.strictObject({ success: z.literal(true), message: z.string(), data });
			break;
		case "album":
			wrapped = z.strictObject({ code: z.literal(200), msg: z.literal("SUCCESS"), data });
			break;
		default:
			return data;
	}
	ENVELOPES.set(wrapped, { surface, data });
	return wrapped;
}

/** Each surface's error body (named components of ./responses.ts). */
export const ERROR_OF: Record<Surface, z.ZodType> = {
	seed002: body.Seed002Error,
	seed001: body.NewApiError,
	album: body.AlbumError,
	proxy: body.ProxyError,
	plain: body.PlainError,
};

function errors(surface: Surface) {
	const error = {
		description: "Refused or failed, in this API's error envelope (429 carries Retry-After).",
		content: { "application/json": { schema: ERROR_OF[surface] } },
	};
	return { "4XX": error, "5XX": error };
}

/** A JSON success (in the surface's envelope) and the surface's errors. */
export function answers<Status extends 200 | 201 | 202 = 200>(
	surface: Surface,
	description: string,
	data: z.ZodType,
	status: Status = 200 as Status,
) {
	return {
		[status]: { description, content: { "application/json": { schema: envelope(surface, data) } } },
		...errors(surface),
	} as Record<Status, { description: string; content: { "application/json": { schema: z.ZodType } } }> &
		ReturnType<typeof errors>;
}

const MEDIA = {
	image: { "image/*": { schema: { type: "string", contentMediaType: "image/*" } } },
	video: { "video/mp4": { schema: { type: "string", contentMediaType: "video/mp4" } } },
	html: { "text/html": { schema: { type: "string" } } },
	javascript: { "text/javascript": { schema: { type: "string" } } },
	events: { "text/event-stream": { schema: { type: "string" } } },
	openapi: { "application/json": { schema: { type: "object" } } },
} as const;

/** A non-JSON success (a file, a page, an event stream) and the surface's errors. */
export function mediaAnswers(surface: Surface, description: string, media: keyof typeof MEDIA) {
	return { 200: { description, content: MEDIA[media] }, ...errors(surface) };
}

/** No success at all: the route always refuses (documented for the clients that call it). */
export function refusalOnly(surface: Surface, description: string) {
	return { 200: { description }, ...errors(surface) };
}

/** A route's group in the reference and who may call it: spread into createRoute. */
export const about = (tag: Tag, auth: Auth): { tags: string[]; "x-auth": Auth } => ({
	tags: [TAGS[tag].name],
	"x-auth": auth,
});

type Method = RouteConfig["method"];

/** One handler for `route` under each of `methods` (GET and HEAD of a file; seed 002's GET and POST). */
export function onMethods<R extends RouteConfig>(
	group: OpenAPIHono<AppEnv>,
	methods: readonly Method[],
	route: R,
	handler: (c: Parameters<RouteHandler<R, AppEnv>>[0]) => Response | Promise<Response>,
): OpenAPIHono<AppEnv> {
	for (const method of methods) on(group, { ...route, method }, handler as never);
	return group;
}

/** readParams' input (the query string, or a JSON, urlencoded or multipart body): see Input. */
export const paramsInput = <S extends z.ZodType>(schema: S, files?: readonly string[]): Input<S> => ({
	from: "params",
	schema,
	...(files ? { files } : {}),
});

/** An input read by the route itself from one place (see Input). */
export const ownInput = <S extends z.ZodType>(
	from: Input["from"],
	schema: S,
	extra: Pick<Input, "formFiles"> = {},
): Input<S> => ({ from, schema, ...extra });
