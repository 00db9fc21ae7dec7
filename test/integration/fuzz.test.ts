/**
 * Property-based fuzzing (fast-check) over every surface's endpoints and content types: whatever
 * arrives, no answer is a 5xx, every answer is in its surface's envelope, and a refused request
 * writes no task, charges nothing and stores no R2 object.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { call, tokenFor, uniqueSub } from "../helpers/api";

type Envelope = "seed002" | "newapi" | "album" | "proxy";

interface Endpoint {
	method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
	path: string;
	envelope: Envelope;
	admin?: boolean;
	/** Parameter names worth filling. */
	params: string[];
}

const ENDPOINTS: Endpoint[] = [
	{
		method: "POST",
		path: "/api/v1/trigger/submit",
		envelope: "seed002",
		params: ["action", "prompt", "taskId", "index", "state", "notifyHook"],
	},
	{
		method: "GET",
		path: "/api/v1/trigger/submit",
		envelope: "seed002",
		params: ["action", "prompt", "taskId", "index"],
	},
	{ method: "POST", path: "/api/v1/task/fetch", envelope: "seed002", params: ["_id"] },
	{ method: "GET", path: "/api/v1/task/list", envelope: "seed002", params: ["limit", "cursor"] },
	{
		method: "GET",
		path: "/api/mj/self",
		envelope: "newapi",
		params: ["p", "page_size", "mj_id", "start_timestamp", "end_timestamp", "cursor"],
	},
	{
		method: "GET",
		path: "/api/mj/",
		envelope: "newapi",
		admin: true,
		params: ["p", "page_size", "channel_id", "cursor"],
	},
	{ method: "GET", path: "/api/user/self", envelope: "newapi", params: [] },
	{ method: "POST", path: "/api/user/keys", envelope: "newapi", params: ["name"] },
	{ method: "DELETE", path: "/api/user/keys/1", envelope: "newapi", params: [] },
	{
		method: "PUT",
		path: "/api/admin/users/fuzz-target/quota",
		envelope: "newapi",
		admin: true,
		params: ["quota", "delta"],
	},
	{
		method: "POST",
		path: "/api/admin/channels",
		envelope: "newapi",
		admin: true,
		params: ["name", "base_url", "secret", "weight", "enabled"],
	},
	{
		method: "PATCH",
		path: "/api/admin/channels/1",
		envelope: "newapi",
		admin: true,
		params: ["name", "weight", "enabled"],
	},
	{ method: "GET", path: "/api/admin/banned-words", envelope: "newapi", admin: true, params: [] },
	{ method: "POST", path: "/api/admin/banned-words", envelope: "newapi", admin: true, params: ["word"] },
	{ method: "DELETE", path: "/api/admin/banned-words/x", envelope: "newapi", admin: true, params: [] },
	{
		method: "GET",
		path: "/api/user/deliveries",
		envelope: "newapi",
		params: ["task_id", "outcome", "cursor", "limit"],
	},
	{ method: "POST", path: "/userAlbum", envelope: "album", params: ["page", "pageSize"] },
	{ method: "POST", path: "/userAlbum/create", envelope: "album", params: ["styleId", "origin", "notifyHook"] },
	{ method: "POST", path: "/imageTemp/list", envelope: "album", params: ["page", "pageSize", "isAudit"] },
	{ method: "POST", path: "/imageTemp/favorite", envelope: "album", params: ["id"] },
	{
		method: "POST",
		path: "/imageTemp/create",
		envelope: "album",
		admin: true,
		params: ["kind", "title", "prompt", "covering", "image", "sort"],
	},
	{
		method: "POST",
		path: "/mj/submit/imagine",
		envelope: "proxy",
		params: ["prompt", "base64Array", "botType", "state", "notifyHook"],
	},
	{ method: "POST", path: "/mj-fast/mj/submit/change", envelope: "proxy", params: ["taskId", "action", "index"] },
	{
		method: "POST",
		path: "/mj/submit/action",
		envelope: "proxy",
		params: ["taskId", "customId", "enableRemix", "strong"],
	},
	{ method: "POST", path: "/mj/submit/modal", envelope: "proxy", params: ["taskId", "prompt", "maskBase64"] },
	{ method: "POST", path: "/mj/submit/blend", envelope: "proxy", params: ["base64Array", "dimensions"] },
	{ method: "POST", path: "/mj/submit/describe", envelope: "proxy", params: ["base64", "link", "language"] },
	{ method: "POST", path: "/mj/submit/edit", envelope: "proxy", params: ["prompt", "image"] },
	{ method: "POST", path: "/mj-relax/mj/submit/retexture", envelope: "proxy", params: ["prompt", "image"] },
	{
		method: "POST",
		path: "/mj/insight-face/video-swap",
		envelope: "proxy",
		params: ["sourceBase64", "sourceUrl", "targetFile", "targetUrl"],
	},
	{ method: "POST", path: "/mj/task/list-by-ids", envelope: "proxy", params: ["ids"] },
	{ method: "GET", path: "/mj/profile/list", envelope: "proxy", params: [] },
	{
		method: "POST",
		path: "/mj/submit/video",
		envelope: "proxy",
		params: ["prompt", "image", "taskId", "index", "motion", "action", "endImage", "loop", "batchSize", "videoType"],
	},
	{
		method: "POST",
		path: "/mj/insight-face/swap",
		envelope: "proxy",
		params: ["sourceBase64", "targetBase64", "sourceUrl"],
	},
	{ method: "POST", path: "/mj/submit/upload-discord-images", envelope: "proxy", params: ["base64Array"] },
	{ method: "POST", path: "/mj/task/list-by-condition", envelope: "proxy", params: ["ids"] },
	{ method: "GET", path: "/mj/task/list", envelope: "proxy", params: ["limit", "cursor"] },
	{ method: "POST", path: "/mj/task/x/cancel", envelope: "proxy", params: [] },
	{ method: "GET", path: "/mj/task/x/image-seed", envelope: "proxy", params: [] },
	{ method: "GET", path: "/mj/image/x", envelope: "proxy", params: ["sig"] },
];

/** Values that have broken parsers before: numbers in other notations, huge, empty, odd types. */
const tricky = fc.oneof(
	fc.constantFrom(
		"",
		" ",
		"0",
		"-1",
		"1e2",
		"0x10",
		"+2",
		"1.5",
		"NaN",
		"99999999999999999999",
		"null",
		"[]",
		"{}",
		"IMAGINE",
		"UPSCALE",
		"data:image/png;base64,AAAA",
		"http://127.0.0.1/x",
		"\u0000",
		"%00",
		"../../etc",
	),
	fc.string({ maxLength: 40 }),
	fc.integer(),
	fc.double(),
	fc.boolean(),
	fc.constant(null),
	fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
);

const contentTypes = fc.constantFrom(
	"application/json",
	"application/json; charset=utf-8",
	"application/x-www-form-urlencoded",
	"multipart/form-data; boundary=application/json",
	"multipart/form-data; boundary=xyz",
	"text/plain",
	"application/xml",
	undefined,
);

const request = fc.record({
	endpoint: fc.constantFrom(...ENDPOINTS),
	values: fc.array(fc.tuple(fc.nat(10), tricky), { maxLength: 5 }),
	contentType: contentTypes,
	rawBody: fc.option(
		fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom("{", "[1,2]", '{"a":', "null", "--xyz--")),
		{ nil: undefined },
	),
	inQuery: fc.boolean(),
	headers: fc.record(
		{
			"if-none-match": fc.constantFrom('W/"x', "*", "junk", '"a", b'),
			range: fc.constantFrom("bytes=999999-", "bytes=-0", "bytes=5-1", "items=1-2"),
			"idempotency-key": fc.constantFrom("k1", "", "a b", "x".repeat(300)),
		},
		{ requiredKeys: [] },
	),
	asAdmin: fc.boolean(),
});

let userToken: string;
let adminToken: string;

async function footprint() {
	const tasks = await env.DB.prepare("SELECT count(*) AS n, coalesce(sum(quota), 0) AS q FROM tasks").first<{
		n: number;
		q: number;
	}>();
	const quota = await env.DB.prepare("SELECT coalesce(sum(quota), 0) AS q FROM users").first<{ q: number }>();
	let objects = 0;
	for (const prefix of ["inputs/", "uploads/", "album-origins/", "templates/"]) {
		objects += (await env.IMAGES.list({ prefix })).objects.length;
	}
	return { tasks: tasks?.n ?? 0, quota: quota?.q ?? 0, objects };
}

function inEnvelope(envelope: Envelope, body: unknown): boolean {
	if (typeof body !== "object" || body === null) return false;
	const b = body as Record<string, unknown>;
	switch (envelope) {
		case "seed002":
			return b.code === 0 && typeof b.description === "string";
		case "newapi":
			return b.success === false && typeof b.message === "string";
		case "album":
			return typeof b.code === "number" && b.code !== 200 && typeof b.msg === "string";
		case "proxy":
			return typeof b.code === "number" && b.code !== 1 && typeof b.description === "string";
	}
}

beforeAll(async () => {
	userToken = await tokenFor(uniqueSub("fuzz"));
	adminToken = await tokenFor(uniqueSub("fuzz-admin"), "admin");
	await call("/api/user/self", { token: userToken });
	await call("/api/user/self", { token: adminToken });
});

describe("fuzzing every endpoint and content type", () => {
	it("never answers 5xx, always answers errors in the surface's envelope, and refused requests write nothing", async () => {
		await fc.assert(
			fc.asyncProperty(request, async (r) => {
				const { endpoint } = r;
				const fields: Record<string, unknown> = {};
				for (const [n, value] of r.values) {
					const name = endpoint.params.length > 0 ? endpoint.params[n % endpoint.params.length] : `p${n}`;
					fields[name] = value;
				}
				const url = new URL(`http://gateway.test${endpoint.path}`);
				let body: string | undefined;
				if (r.inQuery || endpoint.method === "GET") {
					for (const [k, v] of Object.entries(fields))
						url.searchParams.set(k, typeof v === "string" ? v : JSON.stringify(v));
				} else if (r.rawBody !== undefined) {
					body = r.rawBody;
				} else if (r.contentType?.startsWith("application/x-www-form-urlencoded")) {
					body = new URLSearchParams(Object.entries(fields).map(([k, v]) => [k, String(v)])).toString();
				} else {
					body = JSON.stringify(fields);
				}
				const headers: Record<string, string> = { ...r.headers };
				if (r.contentType && body !== undefined) headers["content-type"] = r.contentType;
				const token = r.asAdmin || endpoint.admin ? adminToken : userToken;
				if (endpoint.envelope === "proxy") headers["mj-api-secret"] = token;
				else headers.authorization = `Bearer ${token}`;
				const before = await footprint();
				const response = await call(`${url.pathname}${url.search}`, {
					method: endpoint.method,
					headers,
					body: endpoint.method === "GET" ? undefined : body,
				});
				const text = await response.text();
				expect(response.status, `${endpoint.method} ${url.pathname} → ${response.status} ${text}`).toBeLessThan(500);
				if (response.status >= 400) {
					let parsed: unknown;
					try {
						parsed = JSON.parse(text);
					} catch {
						parsed = undefined;
					}
					expect(inEnvelope(endpoint.envelope, parsed), `${endpoint.method} ${url.pathname} → ${text}`).toBe(true);
					expect(await footprint(), `${endpoint.method} ${url.pathname} was refused but wrote`).toEqual(before);
				}
			}),
			{ numRuns: 250, seed: 20261202, endOnFailure: true },
		);
	}, 240_000);
});
