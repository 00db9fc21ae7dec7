/**
 * Builds the OpenAPI 3.1 document from the app's route groups: every route defined with
 * createRoute (./define.ts), read from each group's registry through the mount table (src/app.ts),
 * with mj-edge's own additions (each surface's envelope and error answer, per-route auth, the
 * speed-mode servers, named components). A pure function of the definitions (no bindings, no
 * I/O), so the Worker serves it and scripts/openapi.mjs writes it to a file from the same code.
 *
 * zod schemas become JSON Schema with zod's own toJSONSchema: request schemas as the client
 * sends them (`io: "input"`: text-to-number parameters show as text), answers as they come out.
 */
import { OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import { z } from "zod";
import type { Surface } from "../context";
import { type Auth, ENVELOPES, ERROR_OF, type Input, type RouteExtras, TAGS } from "./define";
import { RESPONSE_SCHEMAS } from "./responses";

/** A JSON Schema or OpenAPI object, as plain JSON. */
export type Json = { [key: string]: unknown };

export const API_VERSION = "0.1.0";

const REF = "#/components/schemas/";

/** A request schema as JSON Schema, as the client sends it: transforms show their input (text). */
function inputSchema(schema: z.ZodType): Json {
	const { $schema: _, ...json } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Json;
	return json;
}

/** A response body: a $ref to its component when ./responses.ts names it, else inline. */
function outputSchema(schema: z.ZodType): Json {
	const meta = RESPONSE_SCHEMAS.get(schema);
	if (meta) return { $ref: `${REF}${meta.id}` };
	const { $schema: _, ...json } = z.toJSONSchema(schema, { io: "output", unrepresentable: "any" }) as Json;
	return json;
}

/** Every named schema of ./responses.ts, referring to each other by $ref. */
function components(): Record<string, Json> {
	const { schemas } = z.toJSONSchema(RESPONSE_SCHEMAS, { io: "output", uri: (id) => `${REF}${id}` });
	const out: Record<string, Json> = {};
	for (const [id, schema] of Object.entries(schemas)) {
		const { $schema: _s, $id: _i, ...json } = schema as Json;
		out[id] = json;
	}
	return out;
}

/** The success body inside the surface's envelope, as src/routes/envelopes.ts `ok` wraps it. */
function successBody(surface: Surface, data: Json): Json {
	switch (surface) {
		case "seed001":
			return {
				type: "object",
				required: ["success", "message", "data"],
				properties: { success: { const: true }, message: { type: "string" }, data },
			};
		case "album":
			return {
				type: "object",
				required: ["code", "msg", "data"],
				properties: { code: { const: 200 }, msg: { const: "SUCCESS" }, data },
			};
		default:
			return data;
	}
}

const SECURITY: Record<Auth, Json[]> = {
	none: [],
	signature: [],
	user: [{ bearer: [] }, { mjApiSecret: [] }, { bareAuthorization: [] }],
	admin: [{ bearer: [] }, { mjApiSecret: [] }, { bareAuthorization: [] }],
};

/** Query parameters, one per property of an object schema. */
function queryParameters(schema: z.ZodType): Json[] {
	const json = inputSchema(schema);
	const required = new Set((json.required as string[] | undefined) ?? []);
	const properties = (json.properties ?? {}) as Record<string, Json>;
	return Object.entries(properties).map(([name, property]) => ({
		name,
		in: "query",
		required: required.has(name),
		schema: property,
	}));
}

function pathParameters(path: string, schema: z.ZodType | undefined): Json[] {
	const properties = (schema ? inputSchema(schema).properties : {}) as Record<string, Json>;
	return [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
		name,
		in: "path",
		required: true,
		schema: properties[name] ?? { type: "string" },
	}));
}

/** A multipart form only: its text fields and its files. */
function formBody(input: Input): Json {
	const json = inputSchema(input.schema);
	const properties: Json = { ...(json.properties as Json) };
	for (const [name, file] of Object.entries(input.formFiles ?? {})) {
		properties[name] = { type: "string", contentMediaType: file.media, description: file.description };
	}
	return { required: true, content: { "multipart/form-data": { schema: { ...json, properties } } } };
}

/** A readParams body: JSON, urlencoded or multipart alike, files where the route takes them. */
function paramsBody(input: Input): Json {
	const json = inputSchema(input.schema);
	const multipart: Json = { ...json, properties: { ...(json.properties as Json) } };
	for (const name of input.files ?? []) {
		(multipart.properties as Json)[name] = {
			type: "string",
			contentMediaType: "image/*",
			description: "an image file, or its URL as text",
		};
	}
	return {
		description: "The same names are accepted in the query string; JSON values may be numbers or text.",
		content: {
			"application/json": { schema: json },
			"application/x-www-form-urlencoded": { schema: json },
			"multipart/form-data": { schema: multipart },
		},
	};
}

const SIG_PARAMETER: Json = {
	name: "sig",
	in: "query",
	required: true,
	description: "The HMAC the gateway put in the link it handed out.",
	schema: { type: "string" },
};

const IDEMPOTENCY_PARAMETER: Json = {
	name: "Idempotency-Key",
	in: "header",
	required: false,
	description: "Repeats of the same request with this key within 24 h answer the first answer again.",
	schema: { type: "string", minLength: 1, maxLength: 255 },
};

const CURSOR_HEADERS: Json = {
	"x-next-cursor": { description: "The next page's cursor, when there is one.", schema: { type: "string" } },
};

function operationId(method: Method, path: string): string {
	const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean);
	return method.toLowerCase() + words.map((w) => w[0].toUpperCase() + w.slice(1)).join("");
}

const errorResponseName = (surface: Surface) => `${surface[0].toUpperCase()}${surface.slice(1)}Error`;

function errorResponses(): Record<string, Json> {
	const out: Record<string, Json> = {};
	for (const [surface, schema] of Object.entries(ERROR_OF) as [Surface, z.ZodType][]) {
		out[errorResponseName(surface)] = {
			description: "Refused or failed, in this API's error envelope (429 carries Retry-After).",
			content: { "application/json": { schema: outputSchema(schema) } },
		};
	}
	return out;
}

/** A group of the mount table (src/app.ts), as the document reads it. */
export interface DocumentedMount {
	prefix: string;
	surface: Surface;
	routes?: unknown;
	/**
	 * A copy of another mount under an extra leading prefix (the speed modes: /mj-fast/mj is /mj
	 * served at /mj-fast): documented once, with this prefix as one of its path items' servers.
	 */
	server?: string;
}

type RouteDef = RouteConfig & RouteExtras;
type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD";

/** Hono's path joined to the mount prefix, as the app answers it (no trailing slash). */
function fullPath(prefix: string, path: string): string {
	const joined = `${prefix}${path === "/" ? "" : path}`;
	return joined === "" ? "/" : joined;
}

const isZod = (value: unknown): value is z.ZodType => value instanceof z.ZodType;

/** A schema of a route config: zod becomes JSON Schema, anything else is JSON Schema already. */
function requestSchema(schema: unknown): Json {
	return isZod(schema) ? inputSchema(schema) : (schema as Json);
}

function responseSchema(schema: unknown): Json {
	if (!isZod(schema)) return schema as Json;
	const wrapped = ENVELOPES.get(schema);
	return wrapped ? successBody(wrapped.surface, outputSchema(wrapped.data)) : outputSchema(schema);
}

const ERROR_SURFACE = new Map<unknown, Surface>(
	(Object.entries(ERROR_OF) as [Surface, z.ZodType][]).map(([surface, schema]) => [schema, surface]),
);

/** One operation of a route defined with createRoute (src/openapi/define.ts). */
function routeOperation(route: RouteDef, path: string): Json {
	const method = route.method.toUpperCase() as Method;
	const request = route.request ?? {};
	const parameters: Json[] = pathParameters(path, isZod(request.params) ? request.params : undefined);
	let requestBody: Json | undefined;
	const input = route["x-input"];
	if (isZod(request.query)) parameters.push(...queryParameters(request.query));
	if (input) {
		const bodyless = method === "GET" || method === "HEAD";
		if (input.from === "query" || (input.from === "params" && bodyless))
			parameters.push(...queryParameters(input.schema));
		else if (input.from === "params") requestBody = paramsBody(input);
		else if (input.from === "form") requestBody = formBody(input);
		else requestBody = { required: true, content: { "application/json": { schema: inputSchema(input.schema) } } };
	} else if (request.body) {
		const content: Json = {};
		for (const [media, value] of Object.entries(request.body.content))
			content[media] = { schema: requestSchema((value as { schema?: unknown }).schema) };
		requestBody = { ...(request.body.required ? { required: true } : {}), content };
	}
	const auth = route["x-auth"] ?? "none";
	if (auth === "signature") parameters.push(SIG_PARAMETER);
	if (route["x-idempotent"]) parameters.push(IDEMPOTENCY_PARAMETER);

	const responses: Json = {};
	for (const [status, answer] of Object.entries(route.responses) as [string, Json][]) {
		const content = answer.content as Record<string, { schema?: unknown }> | undefined;
		const errorOf = content && ERROR_SURFACE.get(content["application/json"]?.schema);
		if (errorOf) {
			responses[status] = { $ref: `#/components/responses/${errorResponseName(errorOf)}` };
			continue;
		}
		const out: Json = { description: answer.description };
		if (content && method !== "HEAD") {
			out.content = Object.fromEntries(
				Object.entries(content).map(([media, value]) => [media, { schema: responseSchema(value.schema) }]),
			);
		}
		if (route["x-cursor"] && status.startsWith("2")) out.headers = CURSOR_HEADERS;
		responses[status] = out;
	}
	return {
		operationId: operationId(method, path),
		...(route.tags ? { tags: route.tags } : {}),
		summary: route.summary,
		...(route.description ? { description: route.description } : {}),
		security: SECURITY[auth],
		...(parameters.length ? { parameters } : {}),
		...(requestBody ? { requestBody } : {}),
		responses,
	};
}

/** Every route a mount's group defines with createRoute, with its full path. */
function* mountedRoutes(mount: DocumentedMount): Generator<{ route: RouteDef; path: string }> {
	if (!(mount.routes instanceof OpenAPIHono)) return;
	for (const definition of mount.routes.openAPIRegistry.definitions) {
		if (definition.type !== "route") continue;
		yield { route: definition.route as RouteDef, path: fullPath(mount.prefix, definition.route.path) };
	}
}

/** The OpenAPI 3.1 document of the app's mount table. */
export function buildDocument(mounts: readonly DocumentedMount[]): Json {
	const paths: Record<string, Json> = {};
	const serversOf = new Map<string, Json[]>();
	for (const mount of mounts) {
		for (const { route, path: served } of mountedRoutes(mount)) {
			if (mount.server) {
				const path = served.slice(mount.server.length);
				const servers = serversOf.get(path) ?? [
					{ url: "/", description: `The default speed mode: ${path.split("/").slice(0, 2).join("/")}/…` },
				];
				if (!servers.some((s) => s.url === mount.server))
					servers.push({ url: mount.server, description: `${mount.server}${path.split("/").slice(0, 2).join("/")}/…` });
				serversOf.set(path, servers);
				continue;
			}
			paths[served] ??= {};
			paths[served][route.method] = routeOperation(route, served);
		}
	}
	for (const [path, servers] of serversOf) if (paths[path]) paths[path] = { servers, ...paths[path] };
	return {
		openapi: "3.1.0",
		info: {
			title: "mj-edge",
			version: API_VERSION,
			description:
				"A Midjourney task gateway. Each API keeps the field names, status codes and error envelope of the document its clients were written for. Every authenticated call takes a JWT or an API key (mjk_…) as `Authorization: Bearer …`, a bare `Authorization`, or `mj-api-secret`.",
		},
		servers: [{ url: "/", description: "This gateway" }],
		tags: Object.values(TAGS),
		paths,
		components: {
			schemas: components(),
			responses: errorResponses(),
			securitySchemes: {
				bearer: {
					type: "http",
					scheme: "bearer",
					description: "A JWT (HS256, with sub and exp; role user or admin) or an API key mjk_….",
				},
				mjApiSecret: {
					type: "apiKey",
					in: "header",
					name: "mj-api-secret",
					description: "The same token or key, as midjourney-proxy clients send it.",
				},
				bareAuthorization: {
					type: "apiKey",
					in: "header",
					name: "Authorization",
					description: "The token or key without the Bearer word (the album's clients).",
				},
			},
		},
	};
}

let cached: string | undefined;

/** The document as JSON text, built once per isolate. */
export function openApiJson(mounts: readonly DocumentedMount[]): string {
	cached ??= JSON.stringify(buildDocument(mounts));
	return cached;
}
