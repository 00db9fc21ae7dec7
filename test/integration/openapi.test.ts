/**
 * The OpenAPI document (/openapi.json) and the reference page (/docs): the document describes
 * exactly the routes the app has, its request schemas are the routes' own, and real answers,
 * successes and errors alike, have the shapes it promises.
 */
import { env } from "cloudflare:workers";
import { createRoute, OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { apiDocument, CONSOLE_ASSETS, createApp, DOCUMENTED } from "../../src/app";
import type { Surface } from "../../src/context";
import { ApiError } from "../../src/errors";
import {
	about,
	answers,
	ENVELOPES,
	ERROR_OF,
	jsonBody,
	on,
	routeGroup,
	SPEED_MODE_PREFIXES,
} from "../../src/openapi/define";
import { buildDocument, type Json } from "../../src/openapi/document";
import * as body from "../../src/openapi/responses";
import { renderError } from "../../src/routes/envelopes";
import { DOCS_SCRIPT_PATH } from "../../src/routes/openapi";
import { integer } from "../../src/routes/validate";
import { call, json, tokenFor, uniqueSub } from "../helpers/api";
import { finishedImagine } from "../helpers/surface";

const METHODS = ["get", "post", "put", "patch", "delete", "head"] as const;
type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD";

/** Every route the app's groups define with createRoute, with its mount and full path. */
function definitions() {
	const found: { route: RouteConfig & { "x-auth"?: string }; surface: Surface; path: string }[] = [];
	for (const mount of DOCUMENTED) {
		if (!(mount.routes instanceof OpenAPIHono) || mount.server) continue;
		for (const definition of mount.routes.openAPIRegistry.definitions) {
			if (definition.type !== "route") continue;
			const path = `${mount.prefix}${definition.route.path === "/" ? "" : definition.route.path}` || "/";
			found.push({ route: definition.route, surface: mount.surface, path });
		}
	}
	return found;
}

/** "METHOD /path" of every handler of the app, Hono's `:param` as `{param}`, middleware left out. */
function appRoutes(): Set<string> {
	const routes = new Set<string>();
	for (const route of createApp().routes) {
		if (route.method === "ALL" && route.path.endsWith("*")) continue;
		// The console's own files (static assets, not API): documented as part of GET /.
		if (route.path === `${CONSOLE_ASSETS}/*`) continue;
		let path = route.path.replace(/:(\w+)/g, "{$1}");
		if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
		routes.add(`${route.method} ${path}`);
	}
	return routes;
}

/** "METHOD /path" of every documented operation, under each server prefix its path item lists. */
function documentedRoutes(document: Json): Set<string> {
	const routes = new Set<string>();
	for (const [path, item] of Object.entries(document.paths as Record<string, Json>)) {
		const servers = (item.servers as { url: string }[] | undefined) ?? [{ url: "/" }];
		for (const method of METHODS) {
			if (!item[method]) continue;
			for (const { url } of servers) routes.add(`${method.toUpperCase()} ${url === "/" ? "" : url}${path}`);
		}
	}
	return routes;
}

describe("the document covers the app", () => {
	const document = apiDocument();

	it("describes every route the app answers, the speed-mode copies included", () => {
		const documented = documentedRoutes(document);
		const missing = [...appRoutes()].filter((route) => !documented.has(route));
		expect(missing, "define these routes with createRoute (src/openapi/define.ts)").toEqual([]);
	});

	it("describes no route the app lacks", () => {
		const routes = appRoutes();
		const extra = [...documentedRoutes(document)].filter((route) => !routes.has(route));
		expect(extra, "these documented routes do not exist").toEqual([]);
	});

	it("lists the speed-mode prefixes the app mounts the midjourney-proxy API under", () => {
		const routes = appRoutes();
		for (const prefix of SPEED_MODE_PREFIXES) expect(routes.has(`POST ${prefix}/mj/submit/imagine`)).toBe(true);
		const item = (document.paths as Record<string, Json>)["/mj/submit/imagine"];
		expect((item.servers as { url: string }[]).map((s) => s.url)).toEqual(["/", ...SPEED_MODE_PREFIXES]);
	});

	it("gives every operation a unique operationId and an error answer in its surface's envelope", () => {
		const ids = new Set<string>();
		for (const item of Object.values(document.paths as Record<string, Json>)) {
			for (const method of METHODS) {
				const operation = item[method] as Json | undefined;
				if (!operation) continue;
				expect(ids.has(operation.operationId as string)).toBe(false);
				ids.add(operation.operationId as string);
				expect(Object.keys(operation.responses as Json)).toContain("4XX");
			}
		}
	});
});

describe("one definition feeds validation and the document", () => {
	/** A throwaway group with one route, rendered as the app renders errors (seed 001's envelope). */
	function probe(query: z.ZodObject, json?: z.ZodType) {
		const route = createRoute({
			...about("meta", "none"),
			method: json ? "post" : "get",
			path: "/probe",
			request: { query, ...(json ? { body: jsonBody(json) } : {}) },
			responses: answers("seed001", "The values.", z.object({})),
		});
		const group = routeGroup();
		on(group, route, (c) =>
			c.json({
				query: c.req.valid("query"),
				body: json ? (c.req as unknown as { valid(target: "json"): unknown }).valid("json") : null,
			}),
		);
		group.onError((error, c) => renderError(c, "seed001", ApiError.from(error)));
		const document = buildDocument([{ prefix: "/probe-api", surface: "seed001", routes: group }]);
		const operation = (document.paths as Record<string, Json>)["/probe-api/probe"][json ? "post" : "get"] as Json;
		return { group, operation };
	}

	it("documents the query schema the route validates with, and refuses what it refuses in the envelope", async () => {
		const { group, operation } = probe(z.object({ n: integer("n", 1, 5) }));
		expect(operation.parameters).toEqual([
			{
				name: "n",
				in: "query",
				required: false,
				schema: { type: "string", description: "an integer from 1 to 5, as text" },
			},
		]);
		expect(await (await group.request("/probe?n=3")).json()).toMatchObject({ query: { n: 3 } });
		const refused = await group.request("/probe?n=9");
		expect(refused.status).toBe(400);
		expect(await refused.json()).toEqual({ success: false, message: "n must be an integer from 1 to 5" });
		// Another schema, another document and another rule: both come from the one definition.
		const other = probe(z.object({ m: integer("m", 1, 50) }));
		expect((other.operation.parameters as Json[]).map((p) => p.name)).toEqual(["m"]);
		expect((await other.group.request("/probe?m=9")).status).toBe(200);
	});

	it("takes a JSON body only when it is declared JSON, refused in the surface's envelope otherwise", async () => {
		const { group, operation } = probe(z.object({}), z.object({ name: z.string().min(1) }).strict());
		expect((operation.requestBody as Json).content).toEqual({
			"application/json": {
				schema: {
					type: "object",
					properties: { name: { type: "string", minLength: 1 } },
					required: ["name"],
					additionalProperties: false,
				},
			},
		});
		const post = (type: string, text: string) =>
			group.request("/probe", { method: "POST", headers: { "content-type": type }, body: text });
		expect(await (await post("application/json", '{"name":"a"}')).json()).toMatchObject({ body: { name: "a" } });
		const plain = await post("text/plain", '{"name":"a"}');
		expect(plain.status).toBe(400);
		expect(await plain.json()).toEqual({
			success: false,
			message: "the body must be JSON (content-type: application/json)",
		});
		expect((await post("application/json", '{"name":""}')).status).toBe(400);
	});

	it("refuses a body that is not JSON on every app route that validates a JSON body, in its envelope", async () => {
		const admin = await tokenFor(uniqueSub("admin"), "admin");
		const jsonRoutes = definitions().filter(
			({ route }) => route.request?.body?.content["application/json"] && route["x-auth"] !== "signature",
		);
		expect(jsonRoutes.length).toBeGreaterThan(8);
		for (const { route, surface, path } of jsonRoutes) {
			const response = await call(path.replace(/\{\w+\}/g, "1"), {
				method: route.method.toUpperCase(),
				token: admin,
				headers: { "content-type": "text/plain" },
				body: "{}",
			});
			const answer = await response.json();
			expect(response.status, `${route.method} ${path}: ${JSON.stringify(answer)}`).toBe(400);
			expect(ERROR_OF[surface].safeParse(answer).success).toBe(true);
			expect(JSON.stringify(answer)).toContain("the body must be JSON");
		}
	});
});

describe("each definition answers in its mount's envelope", () => {
	it("wraps successes and names errors of the surface the mount table gives the group", () => {
		for (const { route, surface, path } of definitions()) {
			const where = `${route.method} ${path} (${surface})`;
			const responses = route.responses as Record<string, { content?: Record<string, { schema?: unknown }> }>;
			expect(responses["4XX"]?.content?.["application/json"]?.schema, where).toBe(ERROR_OF[surface]);
			expect(responses["5XX"]?.content?.["application/json"]?.schema, where).toBe(ERROR_OF[surface]);
			const success = Object.entries(responses).find(([status]) => status.startsWith("2"))?.[1];
			const schema = success?.content?.["application/json"]?.schema;
			if (!(schema instanceof z.ZodType) || route.path === "/openapi.json") continue;
			const wrapped = ENVELOPES.get(schema);
			if (surface === "seed001" || surface === "album") expect(wrapped?.surface, where).toBe(surface);
			else expect(wrapped, where).toBeUndefined();
		}
	});
});

describe("a route's documented auth is the auth it enforces", () => {
	it("refuses every user and admin route without a token, and every admin route to a user, in its envelope", async () => {
		const user = await tokenFor(uniqueSub("auth"));
		const guarded = definitions().filter(({ route }) => route["x-auth"] === "user" || route["x-auth"] === "admin");
		expect(guarded.length).toBeGreaterThan(50);
		for (const { route, surface, path } of guarded) {
			const url = path.replace(/\{\w+\}/g, "1");
			const method = route.method.toUpperCase();
			const anonymous = await call(url, { method });
			expect(anonymous.status, `${method} ${path}`).toBe(401);
			expect(ERROR_OF[surface].safeParse(await anonymous.json()).success, `${method} ${path}`).toBe(true);
			if (route["x-auth"] !== "admin") continue;
			const refused = await call(url, { method, token: user });
			expect(refused.status, `${method} ${path} as a user`).toBe(403);
		}
	});
});

describe("the document's schemas are the routes' own", () => {
	const document = apiDocument();
	const operationAt = (path: string, method: string) =>
		(document.paths as Record<string, Json>)[path][method] as {
			parameters?: { name: string; in: string; required: boolean; schema: Json }[];
			requestBody?: { content: Record<string, { schema: Json }> };
			security: Json[];
		};

	it("shows text-to-integer parameters as the text clients send", () => {
		const limit = operationAt("/api/v1/task/list", "get").parameters?.find((p) => p.name === "limit");
		expect(limit).toMatchObject({ in: "query", required: false, schema: { type: "string" } });
	});

	it("shows a strict body as closed, and the route refuses what it leaves out", async () => {
		const schema = operationAt("/api/admin/users/{sub}/quota", "put").requestBody?.content["application/json"].schema;
		expect(schema).toMatchObject({ additionalProperties: false, properties: { quota: {}, delta: {} } });
		const token = await tokenFor(uniqueSub("admin"), "admin");
		const response = await call(`/api/admin/users/${uniqueSub()}/quota`, {
			method: "PUT",
			token,
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ quota: 5, bonus: 1 }),
		});
		expect(response.status).toBe(400);
	});

	it("documents required fields the route requires", async () => {
		const schema = operationAt("/mj/submit/imagine", "post").requestBody?.content["application/json"].schema;
		expect(schema?.required).toEqual(["prompt"]);
		const response = await call("/mj/submit/imagine", {
			method: "POST",
			headers: { "mj-api-secret": await tokenFor(uniqueSub()), "content-type": "application/json" },
			body: "{}",
		});
		expect(response.status).toBe(400);
		expect(await json(response)).toMatchObject({ code: 4 });
	});

	it("takes readParams routes' parameters from any body, files where the route takes them", () => {
		const content = operationAt("/imageTemp/create", "post").requestBody?.content ?? {};
		expect(Object.keys(content).sort()).toEqual([
			"application/json",
			"application/x-www-form-urlencoded",
			"multipart/form-data",
		]);
		expect((content["multipart/form-data"].schema.properties as Json).covering).toMatchObject({
			contentMediaType: "image/*",
		});
	});

	it("marks which routes need a token and which are open", () => {
		expect(operationAt("/health", "get").security).toEqual([]);
		expect(operationAt("/api/user/self", "get").security).toContainEqual({ mjApiSecret: [] });
		const sig = operationAt("/mj/image/{id}", "get").parameters?.find((p) => p.name === "sig");
		expect(sig).toMatchObject({ in: "query", required: true });
	});
});

/** What the app's definitions promise for `method path`: the surface and the success answer. */
interface Promise_ {
	surface: Surface;
	status: number;
	/** The whole success body, its envelope included. */
	schema?: z.ZodType;
}

const pattern = (path: string) => new RegExp(`^${path.replace(/\{\w+\}/g, "[^/]+")}$`);

/** The definition of `method path` (a concrete path, speed-mode prefix allowed) among the app's groups. */
function definitionFor(method: Method, path: string): Promise_ {
	const plain = path.split("?")[0].replace(/(.)\/$/, "$1");
	for (const mount of DOCUMENTED) {
		if (!(mount.routes instanceof OpenAPIHono)) continue;
		for (const definition of mount.routes.openAPIRegistry.definitions) {
			if (definition.type !== "route" || definition.route.method !== method.toLowerCase()) continue;
			const full = `${mount.prefix}${definition.route.path === "/" ? "" : definition.route.path}` || "/";
			if (!pattern(full).test(plain)) continue;
			const [status, answer] = Object.entries(definition.route.responses).find(([code]) => code.startsWith("2")) ?? [];
			const content = (answer as { content?: Record<string, { schema?: unknown }> } | undefined)?.content;
			const schema = content?.["application/json"]?.schema;
			return {
				surface: mount.surface,
				status: Number(status),
				schema: schema instanceof z.ZodType ? schema : undefined,
			};
		}
	}
	throw new Error(`${method} ${path} is not documented`);
}

/** The success answer, its envelope included, as the definition says it is. */
function expectSuccess(op: Promise_, status: number, answer: unknown): void {
	expect(status, JSON.stringify(answer)).toBe(op.status);
	if (!op.schema) throw new Error("this route documents no JSON body");
	const result = op.schema.safeParse(answer);
	expect(result.success, `${result.error?.message}\n${JSON.stringify(answer)}`).toBe(true);
}

async function documented(method: Method, path: string, init: RequestInit & { token?: string } = {}) {
	const response = await call(path, { ...init, method });
	const op = definitionFor(method, path);
	const answer = await response.json();
	return { op, status: response.status, answer };
}

describe("real answers have the documented shapes", () => {
	let token: string;
	let taskId: string;
	const admin = () => tokenFor(uniqueSub("admin"), "admin");

	beforeAll(async () => {
		token = await tokenFor(uniqueSub("openapi"));
		taskId = (await finishedImagine(token, "a lighthouse at dusk"))._id;
	}, 30_000);

	const jsonPost = (value: unknown, auth: string): RequestInit & { token: string } => ({
		token: auth,
		headers: { "content-type": "application/json" },
		body: JSON.stringify(value),
	});

	it("seed 002: submit, fetch and list", async () => {
		for (const [method, path] of [
			["GET", "/api/v1/trigger/submit?action=IMAGINE&prompt=a%20cat"],
			["GET", `/api/v1/task/fetch?_id=${taskId}`],
			["POST", `/api/v1/task/fetch?_id=${taskId}`],
			["GET", "/api/v1/task/list"],
		] as const) {
			const { op, status, answer } = await documented(method, path, { token });
			expectSuccess(op, status, answer);
		}
	});

	it("midjourney-proxy: a finished task with its buttons, lists, seeds, under every prefix", async () => {
		const secret = { "mj-api-secret": token };
		for (const prefix of ["/mj", ...SPEED_MODE_PREFIXES.map((p) => `${p}/mj`)]) {
			const { op, status, answer } = await documented("GET", `${prefix}/task/${taskId}/fetch`, { headers: secret });
			expectSuccess(op, status, answer);
			expect((answer as { buttons: unknown[] }).buttons.length).toBeGreaterThan(0);
		}
		for (const path of ["/mj/task/list", "/mj/task/queue", `/mj/task/${taskId}/image-seed`]) {
			const { op, status, answer } = await documented("GET", path, { headers: secret });
			expectSuccess(op, status, answer);
		}
		const listed = await documented("POST", "/mj/task/list-by-condition", jsonPost({ ids: [taskId] }, token));
		expectSuccess(listed.op, listed.status, listed.answer);
		const submit = await documented("POST", "/mj-fast/mj/submit/imagine", jsonPost({ prompt: "a dog" }, token));
		expectSuccess(submit.op, submit.status, submit.answer);
	});

	it("seed 001, the account, API keys and admin", async () => {
		const adminToken = await admin();
		const created = await documented("POST", "/api/user/keys", jsonPost({ name: "doc" }, token));
		expectSuccess(created.op, created.status, created.answer);
		const keyId = (created.answer as { data: { id: number } }).data.id;
		for (const [method, path, auth] of [
			["GET", "/api/mj/self", token],
			["GET", "/api/mj/", adminToken],
			["GET", "/api/user/self", token],
			["GET", "/api/user/keys", token],
			["GET", "/api/admin/channels", adminToken],
			["DELETE", `/api/user/keys/${keyId}`, token],
		] as const) {
			const { op, status, answer } = await documented(method, path, { token: auth });
			expectSuccess(op, status, answer);
		}
		const channel = await documented(
			"POST",
			"/api/admin/channels",
			jsonPost({ name: uniqueSub("ch"), base_url: "https://mj.example.com" }, adminToken),
		);
		expectSuccess(channel.op, channel.status, channel.answer);
		const quota = await documented("PUT", `/api/admin/users/${uniqueSub()}/quota`, jsonPost({ quota: 3 }, adminToken));
		expectSuccess(quota.op, quota.status, quota.answer);
	});

	it("the album and its templates", async () => {
		for (const [method, path] of [
			["POST", "/userAlbum"],
			["GET", "/imageTemp/list"],
		] as const) {
			const { op, status, answer } = await documented(method, path, { token });
			expectSuccess(op, status, answer);
		}
	});

	it("/health", async () => {
		const { op, status, answer } = await documented("GET", "/health");
		expectSuccess(op, status, answer);
	});

	it("errors, in each surface's documented envelope", async () => {
		for (const path of ["/api/v1/task/list", "/mj/task/list", "/api/mj/self", "/api/user/keys", "/userAlbum"]) {
			const method = path === "/userAlbum" ? "POST" : "GET";
			const { op, status, answer } = await documented(method, path);
			expect(status).toBe(401);
			const result = ERROR_OF[op.surface].safeParse(answer);
			expect(result.success, `${path}: ${JSON.stringify(answer)}`).toBe(true);
		}
		const image = await documented("GET", `/mj/image/${taskId}?sig=wrong`);
		expect(image.status).toBe(403);
		expect(body.ProxyError.safeParse(image.answer).success).toBe(true);
	});
});

describe("GET /openapi.json and GET /docs", () => {
	it("serves the document the route definitions build, as OpenAPI 3.1", async () => {
		const response = await call("/openapi.json");
		expect(response.status).toBe(200);
		expect(response.headers.get("content-type")).toMatch(/^application\/json/);
		const served = await json(response);
		expect(served.openapi).toBe("3.1.0");
		expect(served).toEqual(JSON.parse(JSON.stringify(apiDocument())));
	});

	it("serves a reference page that loads the document and a local script, no CDN", async () => {
		const response = await call("/docs");
		expect(response.status).toBe(200);
		expect(response.headers.get("content-type")).toMatch(/^text\/html/);
		const page = await response.text();
		expect(page).toContain(`<script src="${DOCS_SCRIPT_PATH}"></script>`);
		expect(page).toContain('url: "/openapi.json"');
		expect(page).not.toMatch(/<(script|link)[^>]+(src|href)="(https?:)?\/\//);
	});

	it("has the page's script in the static assets", async () => {
		const response = await env.ASSETS.fetch(`http://gateway.test${DOCS_SCRIPT_PATH}`);
		expect(response.status).toBe(200);
		expect(response.headers.get("content-type")).toMatch(/javascript/);
		expect(await response.text()).toContain("createApiReference");
	});
});
