/**
 * Builds the OpenAPI 3.1 document from the route registry. A pure function of ./registry.ts
 * and the zod schemas it points at (no bindings, no I/O), so the Worker serves it and
 * scripts/openapi.mjs writes it to a file for the linter from the same code.
 */
import { z } from "zod";
import type { Surface } from "../context";
import { type Auth, type Input, type Method, OPERATIONS, type Operation, SPEED_MODE_PREFIXES, TAGS } from "./registry";
import * as body from "./responses";
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

const ERROR_OF: Record<Surface, z.ZodType> = {
	seed002: body.Seed002Error,
	seed001: body.NewApiError,
	album: body.AlbumError,
	proxy: body.ProxyError,
	plain: body.PlainError,
};

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

const MEDIA: Record<NonNullable<Operation["success"]["media"]>, Json> = {
	image: { "image/*": { schema: { type: "string", contentMediaType: "image/*" } } },
	video: { "video/mp4": { schema: { type: "string", contentMediaType: "video/mp4" } } },
	html: { "text/html": { schema: { type: "string" } } },
	javascript: { "text/javascript": { schema: { type: "string" } } },
	events: { "text/event-stream": { schema: { type: "string" } } },
	openapi: { "application/json": { schema: { type: "object" } } },
};

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

function operationId(method: Method, path: string): string {
	const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean);
	return method.toLowerCase() + words.map((w) => w[0].toUpperCase() + w.slice(1)).join("");
}

function operation(op: Operation, method: Method): Json {
	const parameters: Json[] = pathParameters(op.path, op.pathParams);
	let requestBody: Json | undefined;
	const bodyless = method === "GET" || method === "HEAD";
	if (op.input?.from === "query" || (op.input?.from === "params" && bodyless))
		parameters.push(...queryParameters(op.input.schema));
	else if (op.input?.from === "params") requestBody = paramsBody(op.input);
	else if (op.input?.from === "form") requestBody = formBody(op.input);
	else if (op.input?.from === "json")
		requestBody = { required: true, content: { "application/json": { schema: inputSchema(op.input.schema) } } };
	if (op.auth === "signature")
		parameters.push({
			name: "sig",
			in: "query",
			required: true,
			description: "The HMAC the gateway put in the link it handed out.",
			schema: { type: "string" },
		});
	if (op.idempotent)
		parameters.push({
			name: "Idempotency-Key",
			in: "header",
			required: false,
			description: "Repeats of the same request with this key within 24 h answer the first answer again.",
			schema: { type: "string", minLength: 1, maxLength: 255 },
		});

	const success: Json = { description: op.success.description };
	if (method !== "HEAD") {
		if (op.success.body)
			success.content = { "application/json": { schema: successBody(op.surface, outputSchema(op.success.body)) } };
		else if (op.success.media) success.content = MEDIA[op.success.media];
	}
	if (op.cursorHeader)
		success.headers = {
			"x-next-cursor": { description: "The next page's cursor, when there is one.", schema: { type: "string" } },
		};
	const error = { $ref: `#/components/responses/${errorResponseName(op.surface)}` };
	return {
		operationId: operationId(method, op.path),
		tags: [TAGS[op.tag].name],
		summary: op.summary,
		...(op.description ? { description: op.description } : {}),
		security: SECURITY[op.auth],
		...(parameters.length ? { parameters } : {}),
		...(requestBody ? { requestBody } : {}),
		responses: { [String(op.success.status ?? 200)]: success, "4XX": error, "5XX": error },
	};
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

/** The OpenAPI 3.1 document of `operations` (every public route by default). */
export function buildDocument(operations: readonly Operation[] = OPERATIONS): Json {
	const paths: Record<string, Json> = {};
	for (const op of operations) {
		paths[op.path] ??= {};
		const item = paths[op.path];
		if (op.speedModes)
			item.servers = [
				{ url: "/", description: "The default speed mode: /mj/…" },
				...SPEED_MODE_PREFIXES.map((prefix) => ({ url: prefix, description: `${prefix}/mj/…` })),
			];
		for (const method of op.methods) item[method.toLowerCase()] = operation(op, method);
	}
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
export function openApiJson(): string {
	cached ??= JSON.stringify(buildDocument());
	return cached;
}
