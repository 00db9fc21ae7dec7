/**
 * The album surface (seed 000) as a specification: POST /userAlbum field by field against the
 * seed's document, with a face-swap and a prompt template in every state; paging, user
 * isolation, bad parameters, the error codes, and the bounded cost of a deep page. Then
 * POST /userAlbum/create: PNG, JPEG and WebP photos accepted by their bytes; anything else
 * (a text file named .png, an oversized picture, an unknown or unaudited styleId, …) refused
 * with 800 and nothing written: no task row, no R2 object, no charge. Last, a face swap end
 * to end through the queue and the simulator.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { sign } from "../../src/auth/signing";
import type { D1Stats } from "../../src/db/instrument";
import type { TaskRow, TemplateRow } from "../../src/db/schema";
import type { ImageTemp } from "../../src/tasks/views/album";
import { bytes, fetchBytes, form, IMAGE_TEMP_KEYS, JPEG, ok, png, post, refused, WEBP } from "../helpers/album";
import { BASE, call, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { insertTaskRow, taskRow, userId } from "../helpers/db";

// ---------------------------------------------------------------------------------------------
// Pictures: real ones, built here. The gateway judges them by their first bytes only.

const TEXT = new TextEncoder().encode("this is a text file, not a picture\n");
const MB = 1024 * 1024;
/** The documented limit: 10 MB. */
const MAX_PHOTO_BYTES = 10 * MB;

// ---------------------------------------------------------------------------------------------
// The surface.

const ITEM_KEYS = [
	"id",
	"taskId",
	"styleId",
	"promptId",
	"covering",
	"origin",
	"reason",
	"state",
	"createdAt",
	"imageTemp",
] as const;

interface AlbumItem {
	id: number;
	taskId: string;
	styleId: number;
	promptId: string;
	covering: string;
	origin: string;
	reason: string;
	state: number;
	createdAt: number;
	imageTemp: ImageTemp;
}

let adminToken: string;
/** Audited: a face swap and a prompt template, as the seed's imageTemp shows them. */
let faceSwap: ImageTemp;
let promptTemplate: ImageTemp;
let unaudited: ImageTemp;

async function createTemplate(fields: Record<string, string | number>, files: Record<string, Uint8Array>) {
	const named = Object.fromEntries(Object.entries(files).map(([k, b]) => [k, { bytes: b, name: `${k}.bin` }]));
	return ok<ImageTemp & { kind: string }>(await post("/imageTemp/create", adminToken, form(fields, named)));
}

const SEED_PROMPT =
	"1girl, black hair, short hair, masterpiece, best quality\n BREAK \nseductive look, looking at viewer";
/** The seed's own template, as its document shows it. */
const SEED_TEMPLATE = {
	title: "Stocking Tease",
	workflowId: 29,
	prompt: SEED_PROMPT,
	isAudit: 1,
	pid: 0,
	sort: 1,
	author: "VelvetRogue",
};

beforeAll(async () => {
	adminToken = await tokenFor(uniqueSub("album-admin"), "admin");
	faceSwap = await createTemplate(
		{ kind: "face_swap", ...SEED_TEMPLATE },
		{ covering: WEBP, image: await png(8, 8, 1) },
	);
	promptTemplate = await createTemplate(
		{ kind: "prompt", title: "Harbour", prompt: "a harbour at night", isAudit: 1, sort: 2, author: "mj" },
		{ covering: JPEG },
	);
	unaudited = await createTemplate(
		{ kind: "face_swap", title: "Draft", isAudit: 0 },
		{ covering: await png(), image: await png(2, 2, 9) },
	);
});

afterEach(() => {
	vi.restoreAllMocks();
});

// ---------------------------------------------------------------------------------------------
// Reading D1 and R2 the way the checks need.

async function templateRow(id: number): Promise<TemplateRow> {
	const row = await env.DB.prepare("SELECT * FROM templates WHERE id = ?").bind(id).first<Record<string, unknown>>();
	if (!row) throw new Error(`no template ${id}`);
	return {
		id: row.id as number,
		kind: row.kind as TemplateRow["kind"],
		title: row.title as string,
		coverKey: row.cover_key as string | null,
		imageKey: row.image_key as string | null,
		workflowId: row.workflow_id as number,
		prompt: row.prompt as string,
		favoriteCount: row.favorite_count as number,
		isAudit: row.is_audit as number,
		pid: row.pid as number,
		sort: row.sort as number,
		author: row.author as string,
		createdAt: row.created_at as number,
		updatedAt: row.updated_at as number,
	};
}

interface Footprint {
	tasks: number;
	albumCount: number;
	quota: number;
	photos: number;
}

/** Everything a refused create must leave as it was. */
async function footprint(sub: string): Promise<Footprint> {
	const user = await env.DB.prepare(
		"SELECT quota, album_count AS albumCount, (SELECT count(*) FROM tasks WHERE user_id = users.id) AS tasks FROM users WHERE sub = ?",
	)
		.bind(sub)
		.first<{ quota: number; albumCount: number; tasks: number }>();
	const photos = await env.IMAGES.list({ prefix: "album-origins/" });
	return {
		tasks: user?.tasks ?? 0,
		albumCount: user?.albumCount ?? 0,
		quota: user?.quota ?? 0,
		photos: photos.objects.length,
	};
}

// ---------------------------------------------------------------------------------------------

describe("POST /userAlbum", () => {
	/** Alice's album, oldest first: a face swap and a prompt picture in each of the four states. */
	let alice: { sub: string; id: number; token: string };
	let rows: TaskRow[];
	const STATES = [
		{ status: "NOT_START", state: 10 },
		{ status: "SUBMITTED", state: 10 },
		{ status: "IN_PROGRESS", state: 20 },
		{ status: "MODAL", state: 20 },
		{ status: "SUCCESS", state: 30 },
		{ status: "FAILURE", state: 2 },
		{ status: "CANCEL", state: 2 },
	] as const;
	const photoBytes = new Map<string, Uint8Array>();
	const resultBytes = new Map<string, Uint8Array>();

	beforeAll(async () => {
		const sub = uniqueSub("alice");
		alice = { sub, id: await userId(sub), token: await tokenFor(sub) };
		rows = [];
		const t0 = Date.UTC(2025, 9, 15, 1, 57, 36, 611);
		let seq = 0;
		for (const template of [faceSwap, promptTemplate]) {
			for (const { status } of STATES) {
				seq += 1;
				const publicId = crypto.randomUUID();
				let originKey: string | null = null;
				if (template === faceSwap) {
					originKey = `album-origins/${crypto.randomUUID()}.png`;
					const photo = await png(3, 3, seq);
					photoBytes.set(publicId, photo);
					await env.IMAGES.put(originKey, photo, { httpMetadata: { contentType: "image/png" } });
				}
				let imageKey: string | null = null;
				if (status === "SUCCESS") {
					imageKey = `images/${publicId}`;
					const result = await png(5, 5, seq);
					resultBytes.set(publicId, result);
					await env.IMAGES.put(imageKey, result, { httpMetadata: { contentType: "image/png" } });
				}
				rows.push(
					await insertTaskRow({
						userId: alice.id,
						publicId,
						albumSeq: seq,
						styleId: template.id,
						originKey,
						imageKey,
						imageType: imageKey ? "image/png" : null,
						action: template === faceSwap ? "SWAP_FACE" : "IMAGINE",
						prompt: template === faceSwap ? "" : template.prompt,
						status,
						failReason: status === "FAILURE" ? "simulated failure" : "",
						submitTime: t0 + seq * 61_000,
					}),
				);
			}
		}
		// The album count hands out album_seq; rows written directly must keep it in step.
		await env.DB.prepare("UPDATE users SET album_count = ? WHERE id = ?").bind(seq, alice.id).run();
	});

	/** The item the document describes for a task row, computed from D1 and the signing key. */
	async function expected(row: TaskRow): Promise<AlbumItem> {
		const template = await templateRow(row.styleId as number);
		const link = (key: string | null) => (key ? `${BASE}/imageTemp/file/${key.slice("templates/".length)}` : "");
		const name = row.originKey?.slice("album-origins/".length);
		return {
			id: row.albumSeq as number,
			taskId: String(row.id),
			styleId: template.id,
			promptId: row.publicId,
			covering: row.imageKey ? `${BASE}/mj/image/${row.publicId}?sig=${await sign(env, "image", row.publicId)}` : "",
			origin: name ? `${BASE}/userAlbum/origin/${name}?sig=${await sign(env, "album-origin", name)}` : "",
			reason: row.failReason,
			state: STATES.find((s) => s.status === row.status)?.state ?? -1,
			createdAt: Math.floor(row.submitTime / 1000),
			imageTemp: {
				id: template.id,
				title: template.title,
				covering: link(template.coverKey),
				image: link(template.imageKey),
				workflowId: template.workflowId,
				prompt: template.prompt,
				favoriteCount: template.favoriteCount,
				isAudit: template.isAudit,
				pid: template.pid,
				sort: template.sort,
				author: template.author,
				createdAt: Math.floor(template.createdAt / 1000),
				updatedAt: Math.floor(template.updatedAt / 1000),
			},
		};
	}

	it("answers {code: 200, msg: SUCCESS, data} with exactly the document's fields, in its order, newest first", async () => {
		const data = await ok<AlbumItem[]>(await post("/userAlbum", alice.token, { page: 1, pageSize: 20 }));
		expect(data).toHaveLength(rows.length);
		for (const item of data) {
			expect(Object.keys(item)).toEqual([...ITEM_KEYS]);
			expect(Object.keys(item.imageTemp)).toEqual([...IMAGE_TEMP_KEYS]);
		}
		const newestFirst = [...rows].reverse();
		expect(data).toEqual(await Promise.all(newestFirst.map(expected)));
	});

	it("gives each field the document's type and meaning", async () => {
		const data = await ok<AlbumItem[]>(await post("/userAlbum", alice.token, { page: 1, pageSize: 20 }));
		for (const item of data) {
			const row = rows.find((r) => r.publicId === item.promptId);
			expect(row, item.promptId).toBeDefined();
			if (!row) continue;
			expect(item.id).toBe(row.albumSeq);
			expect(item.taskId).toBe(String(row.id));
			expect(item.taskId).toMatch(/^\d+$/);
			expect(item.styleId).toBe(item.imageTemp.id);
			expect(item.createdAt).toBe(Math.floor(row.submitTime / 1000));
			expect(item.createdAt).toBeLessThan(10_000_000_000);
			// The result image is the gateway's own signed copy, only once there is one.
			if (row.status === "SUCCESS")
				expect(item.covering).toMatch(/^http:\/\/gateway\.test\/mj\/image\/[0-9a-f-]{36}\?sig=/);
			else expect(item.covering).toBe("");
			// The user's photo for face swaps (signed), nothing for prompt templates.
			if (item.styleId === faceSwap.id)
				expect(item.origin).toMatch(/^http:\/\/gateway\.test\/userAlbum\/origin\/.+\?sig=.+/);
			else expect(item.origin).toBe("");
			expect(item.reason).toBe(row.status === "FAILURE" ? "simulated failure" : "");
			expect(item.imageTemp.createdAt).toBeLessThan(10_000_000_000);
			expect(item.imageTemp.updatedAt).toBeGreaterThanOrEqual(item.imageTemp.createdAt);
		}
		const swap = data.find((i) => i.styleId === faceSwap.id) as AlbumItem;
		expect(swap.imageTemp).toMatchObject(SEED_TEMPLATE);
		expect(swap.imageTemp.covering).toMatch(/^http:\/\/gateway\.test\/imageTemp\/file\/[0-9a-f-]{36}\.webp$/);
		expect(swap.imageTemp.image).toMatch(/^http:\/\/gateway\.test\/imageTemp\/file\/[0-9a-f-]{36}\.png$/);
		const prompt = data.find((i) => i.styleId === promptTemplate.id) as AlbumItem;
		expect(prompt.imageTemp.covering).toMatch(/\.jpg$/);
		expect(prompt.imageTemp.image).toBe("");
	});

	it("maps the task states: 10 waiting (NOT_START, SUBMITTED), 20 generating (IN_PROGRESS, MODAL), 30 done, 2 failed (FAILURE, CANCEL)", async () => {
		const data = await ok<AlbumItem[]>(await post("/userAlbum", alice.token, { pageSize: 20 }));
		for (const template of [faceSwap, promptTemplate]) {
			const byStatus = Object.fromEntries(
				data
					.filter((item) => item.styleId === template.id)
					.map((item) => [rows.find((r) => r.publicId === item.promptId)?.status, item.state]),
			);
			expect(byStatus).toEqual({
				NOT_START: 10,
				SUBMITTED: 10,
				IN_PROGRESS: 20,
				MODAL: 20,
				SUCCESS: 30,
				FAILURE: 2,
				CANCEL: 2,
			});
		}
	});

	it("serves every link of an item: the result, the photo (private), the template's pictures (public)", async () => {
		const data = await ok<AlbumItem[]>(await post("/userAlbum", alice.token, { pageSize: 20 }));
		const done = data.find((i) => i.state === 30 && i.styleId === faceSwap.id) as AlbumItem;

		const result = await fetchBytes(done.covering);
		expect(result.response.status).toBe(200);
		expect(result.body).toEqual(resultBytes.get(done.promptId));

		const photo = await fetchBytes(done.origin);
		expect(photo.response.status).toBe(200);
		expect(photo.response.headers.get("content-type")).toBe("image/png");
		expect(photo.response.headers.get("cache-control")).toMatch(/^private/);
		expect(photo.body).toEqual(photoBytes.get(done.promptId));

		const cover = await fetchBytes(done.imageTemp.covering);
		expect(cover.response.status).toBe(200);
		expect(cover.response.headers.get("content-type")).toBe("image/webp");
		expect(cover.response.headers.get("cache-control")).toMatch(/public.*immutable/);
		expect(cover.body).toEqual(WEBP);
		const picture = await fetchBytes(done.imageTemp.image);
		expect(picture.response.headers.get("content-type")).toBe("image/png");
		expect(picture.body).toEqual(await png(8, 8, 1));
	});

	it("refuses a photo link with a wrong or missing signature: 403 in the album envelope", async () => {
		const data = await ok<AlbumItem[]>(await post("/userAlbum", alice.token, { pageSize: 20 }));
		const origin = (data.find((i) => i.origin) as AlbumItem).origin;
		const path = origin.slice(BASE.length);
		await refused(await call(path.replace(/sig=.*/, "sig=AAAA")), 403, 403);
		await refused(await call(path.replace(/\?sig=.*/, "")), 403, 403);
		// Another photo's signature does not open this one.
		const other = data.filter((i) => i.origin)[1] as AlbumItem;
		const otherSig = new URL(other.origin).searchParams.get("sig");
		await refused(await call(path.replace(/sig=.*/, `sig=${otherSig}`)), 403, 403);
	});

	it("pages by page and pageSize, newest first, from the query, a form or a JSON body alike", async () => {
		const all = await ok<AlbumItem[]>(await post("/userAlbum", alice.token, { pageSize: 100 }));
		expect(all.map((i) => i.id)).toEqual([14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);

		const viaQuery = await ok<AlbumItem[]>(await post("/userAlbum?page=2&pageSize=4", alice.token));
		const body = new URLSearchParams({ page: "2", pageSize: "4" });
		const viaForm = await ok<AlbumItem[]>(await call("/userAlbum", { method: "POST", token: alice.token, body }));
		const viaJson = await ok<AlbumItem[]>(await post("/userAlbum", alice.token, { page: "2", pageSize: 4 }));
		expect(viaQuery.map((i) => i.id)).toEqual([10, 9, 8, 7]);
		expect(viaForm).toEqual(viaQuery);
		expect(viaJson).toEqual(viaQuery);

		const last = await ok<AlbumItem[]>(await post("/userAlbum", alice.token, { page: 4, pageSize: 4 }));
		expect(last.map((i) => i.id)).toEqual([2, 1]);
		expect(await ok<AlbumItem[]>(await post("/userAlbum", alice.token, { page: 5, pageSize: 4 }))).toEqual([]);
		// Defaults: page 1 of 20.
		expect((await ok<AlbumItem[]>(await post("/userAlbum", alice.token))).map((i) => i.id)).toEqual(
			all.map((i) => i.id),
		);
	});

	it("shows each user only their own pictures", async () => {
		const bobSub = uniqueSub("bob");
		const bobToken = await tokenFor(bobSub);
		expect(await ok<AlbumItem[]>(await post("/userAlbum", bobToken, { page: 1, pageSize: 20 }))).toEqual([]);
		const bobId = await userId(bobSub);
		const own = await insertTaskRow({ userId: bobId, albumSeq: 1, styleId: promptTemplate.id, status: "SUCCESS" });
		await env.DB.prepare("UPDATE users SET album_count = 1 WHERE id = ?").bind(bobId).run();
		// A task outside the album (no album_seq) is not a picture.
		await insertTaskRow({ userId: bobId, status: "SUCCESS" });

		const bobs = await ok<AlbumItem[]>(await post("/userAlbum", bobToken, { pageSize: 20 }));
		expect(bobs.map((i) => i.promptId)).toEqual([own.publicId]);
		const alices = await ok<AlbumItem[]>(await post("/userAlbum", alice.token, { pageSize: 20 }));
		expect(alices.map((i) => i.promptId)).not.toContain(own.publicId);
		expect(alices).toHaveLength(rows.length);
	});

	it.each([
		["page=0", { page: 0 }],
		["page=-1", { page: -1 }],
		["page=abc", { page: "abc" }],
		["page=1.5", { page: 1.5 }],
		["page=true", { page: true }],
		["pageSize=0", { pageSize: 0 }],
		["pageSize=-5", { pageSize: -5 }],
		["pageSize=abc", { pageSize: "abc" }],
		["pageSize=101 (the maximum is 100)", { pageSize: 101 }],
		["page=99999999999999999999", { page: "99999999999999999999" }],
	])("refuses %s with code 800 (HTTP 400)", async (_, params) => {
		const msg = await refused(await post("/userAlbum", alice.token, params), 800, 400);
		expect(msg).toMatch(/page|pageSize/);
		const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
		await refused(await post(`/userAlbum?${query}`, alice.token), 800, 400);
	});

	it("refuses a malformed JSON body with 800", async () => {
		const response = await call("/userAlbum", {
			method: "POST",
			token: alice.token,
			body: "{page: 1",
			headers: { "content-type": "application/json" },
		});
		await refused(response, 800, 400);
	});

	it("takes the bare token in Authorization, as the seed's client sends it", async () => {
		// Refused tokens, on every surface and in every header: auth-matrix.test.ts.
		const bare = await call("/userAlbum", { method: "POST", headers: { authorization: alice.token } });
		expect(await ok<AlbumItem[]>(bare)).toHaveLength(rows.length);
	});

	it("answers a system error with code 510 (HTTP 500) and no detail", async () => {
		vi.spyOn(console, "error").mockImplementation(() => {});
		const down = () => {
			throw new Error("D1 is down: secret internal detail");
		};
		const brokenDb = { withSession: () => ({ prepare: down, batch: down, getBookmark: () => null }) };
		const response = await createApp().fetch(
			new Request(`${BASE}/userAlbum`, { method: "POST", headers: { authorization: `Bearer ${alice.token}` } }),
			{ ...env, DB: brokenDb as unknown as D1Database },
			createExecutionContext(),
		);
		const msg = await refused(response, 510, 500);
		expect(msg).not.toMatch(/secret|D1/);
	});

	it("reads a deep page as cheaply as the first: 2 queries, pageSize rows plus its templates, by index", async () => {
		const sub = uniqueSub("big-album");
		const id = await userId(sub);
		const token = await tokenFor(sub);
		const PICTURES = 400;
		const statements: D1PreparedStatement[] = [];
		for (let seq = 1; seq <= PICTURES; seq++) {
			statements.push(
				env.DB.prepare(
					"INSERT INTO tasks (public_id, user_id, user_seq, album_seq, style_id, action, status, submit_time, updated_at) VALUES (?, ?, ?, ?, ?, 'IMAGINE', 'SUCCESS', ?, ?)",
				).bind(crypto.randomUUID(), id, seq, seq, seq % 2 ? faceSwap.id : promptTemplate.id, seq * 1000, seq * 1000),
			);
		}
		statements.push(env.DB.prepare("UPDATE users SET album_count = ? WHERE id = ?").bind(PICTURES, id));
		await env.DB.batch(statements);

		const app = createApp();
		const page = async (n: number) => {
			const response = await app.fetch(
				new Request(`${BASE}/userAlbum?page=${n}&pageSize=20`, {
					method: "POST",
					headers: { authorization: `Bearer ${token}` },
				}),
				{ ...env, D1_STATS: "true" },
				createExecutionContext(),
			);
			const data = await ok<AlbumItem[]>(response);
			return { data, stats: JSON.parse(response.headers.get("x-d1-stats") ?? "null") as D1Stats };
		};
		await page(1); // signs the user in once (the first request of a user in an isolate writes its row)
		for (const n of [1, 10, 20]) {
			const { data, stats } = await page(n);
			expect(data.map((i) => i.id)).toEqual(Array.from({ length: 20 }, (_, k) => PICTURES - (n - 1) * 20 - k));
			expect(stats.queries, JSON.stringify(stats)).toBeLessThanOrEqual(2);
			// The user's row, 20 task rows, 2 templates (at most pageSize + 2 + templates).
			expect(stats.rowsRead, JSON.stringify(stats)).toBeLessThanOrEqual(20 + 2 + 2);
			expect(stats.plans[0]).toMatch(
				/SEARCH tasks USING INDEX tasks_user_album_seq \(user_id=\? AND album_seq>\? AND album_seq<\?\)/,
			);
			expect(stats.plans.join(" ")).not.toMatch(/SCAN|TEMP B-TREE/);
		}
	});
});

// ---------------------------------------------------------------------------------------------

describe("POST /userAlbum/create", () => {
	let carol: { sub: string; token: string };

	beforeAll(async () => {
		const sub = uniqueSub("carol");
		carol = { sub, token: await tokenFor(sub) };
		// The first call creates the user with the starting quota.
		await ok(await post("/userAlbum", carol.token));
	});

	async function createOk(
		fields: Record<string, string | number>,
		photo?: { bytes: Uint8Array; name: string; type?: string },
	) {
		const item = await ok<AlbumItem>(
			await post("/userAlbum/create", carol.token, form(fields, photo ? { origin: photo } : {})),
		);
		expect(Object.keys(item)).toEqual([...ITEM_KEYS]);
		return item;
	}

	it.each([
		["PNG", "image/png", () => png(6, 6, 3)],
		["JPEG", "image/jpeg", async () => JPEG],
		["WebP", "image/webp", async () => WEBP],
	])(
		"accepts a %s photo for a face-swap template: a waiting picture, its photo stored as sent",
		async (_, type, make) => {
			const before = await footprint(carol.sub);
			const photo = await make();
			// Named and labelled wrongly on purpose: only the bytes count.
			const item = await createOk({ styleId: faceSwap.id }, { bytes: photo, name: "me.gif", type: "text/plain" });
			expect(item).toMatchObject({
				styleId: faceSwap.id,
				covering: "",
				reason: "",
				state: 10,
				id: before.albumCount + 1,
			});
			expect(item.imageTemp.id).toBe(faceSwap.id);

			const row = await taskRow(item.promptId);
			expect(row.action).toBe("SWAP_FACE");
			expect(String(row.id)).toBe(item.taskId);
			expect(row.styleId).toBe(faceSwap.id);
			expect(row.albumSeq).toBe(item.id);
			expect(row.originKey).toMatch(/^album-origins\/[0-9a-f-]{36}\.(png|jpg|webp)$/);

			const stored = await env.IMAGES.get(row.originKey as string);
			expect(stored?.httpMetadata?.contentType).toBe(type);
			expect(new Uint8Array(await (stored as R2ObjectBody).arrayBuffer())).toEqual(photo);
			const served = await fetchBytes(item.origin);
			expect(served.response.headers.get("content-type")).toBe(type);
			expect(served.body).toEqual(photo);

			const after = await footprint(carol.sub);
			expect(after).toEqual({
				tasks: before.tasks + 1,
				albumCount: before.albumCount + 1,
				quota: before.quota - 100,
				photos: before.photos + 1,
			});
			// It is in the album at once, newest first.
			const [first] = await ok<AlbumItem[]>(await post("/userAlbum", carol.token, { page: 1, pageSize: 1 }));
			expect(first).toEqual(item);
		},
	);

	it("takes the photo from a URL (origin=<url>) and from JSON", async () => {
		const photo = await png(7, 7, 5);
		const seen: string[] = [];
		const original = globalThis.fetch;
		vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
			const request = new Request(input, init);
			if (new URL(request.url).hostname !== "photos.test") return original(input, init);
			seen.push(request.url);
			if (request.url.endsWith("/moved")) return new Response(null, { status: 302, headers: { location: "/me.png" } });
			return new Response(photo, { headers: { "content-type": "application/octet-stream" } });
		});
		const item = await ok<AlbumItem>(
			await post("/userAlbum/create", carol.token, { styleId: faceSwap.id, origin: "http://photos.test/moved" }),
		);
		expect(seen).toEqual(["http://photos.test/moved", "http://photos.test/me.png"]);
		expect((await fetchBytes(item.origin)).body).toEqual(photo);
	});

	it('makes a prompt template\'s picture an IMAGINE of its prompt, with no photo (origin "")', async () => {
		const before = await footprint(carol.sub);
		const item = await ok<AlbumItem>(
			await post(
				"/userAlbum/create",
				carol.token,
				form({ styleId: promptTemplate.id }, { origin: { bytes: await png(), name: "x.png" } }),
			),
		);
		expect(item.origin).toBe("");
		const row = await taskRow(item.promptId);
		expect(row.action).toBe("IMAGINE");
		expect(row.prompt).toBe("a harbour at night");
		expect(row.originKey).toBeNull();
		const after = await footprint(carol.sub);
		expect(after.photos).toBe(before.photos);
		expect(after.tasks).toBe(before.tasks + 1);
	});

	/** Sends the request and checks: code 800 (with `status`), and nothing written. */
	async function refusedWithNothingWritten(send: () => Promise<Response>, status = 400): Promise<string> {
		const before = await footprint(carol.sub);
		const msg = await refused(await send(), 800, status);
		expect(await footprint(carol.sub)).toEqual(before);
		return msg;
	}

	it("refuses a text file renamed .png: 800, nothing written", async () => {
		const msg = await refusedWithNothingWritten(() =>
			post(
				"/userAlbum/create",
				carol.token,
				form({ styleId: faceSwap.id }, { origin: { bytes: TEXT, name: "me.png", type: "image/png" } }),
			),
		);
		expect(msg).toMatch(/PNG, JPEG or WebP/);
	});

	it.each([
		["a GIF", bytes("GIF89a", [1, 0, 1, 0, 0, 0, 0])],
		["an empty file", new Uint8Array(0)],
		["a PNG signature without its header chunk", bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
		["a RIFF file that is not WebP", bytes("RIFF", [4, 0, 0, 0], "WAVEfmt ")],
	])("refuses %s: 800, nothing written", async (_, photo) => {
		await refusedWithNothingWritten(() =>
			post(
				"/userAlbum/create",
				carol.token,
				form({ styleId: faceSwap.id }, { origin: { bytes: photo, name: "me.webp" } }),
			),
		);
	});

	it("refuses a real PNG just over 10 MB: 800 (HTTP 413), nothing written", async () => {
		// 1870 x 1870 RGB is 10,491,170 bytes of pixels: a valid PNG over the limit.
		const big = await png(1870, 1870);
		expect(big.length).toBeGreaterThan(MAX_PHOTO_BYTES);
		expect(big.length).toBeLessThan(MAX_PHOTO_BYTES + 64 * 1024);
		const msg = await refusedWithNothingWritten(
			() =>
				post(
					"/userAlbum/create",
					carol.token,
					form({ styleId: faceSwap.id }, { origin: { bytes: big, name: "big.png" } }),
				),
			413,
		);
		expect(msg).toMatch(/10 MB/);
	});

	it("refuses a body far over the limit without reading it all: 800 (HTTP 413), nothing written", async () => {
		let pulled = 0;
		const head = new TextEncoder().encode(
			`--b\r\ncontent-disposition: form-data; name="styleId"\r\n\r\n${faceSwap.id}\r\n--b\r\ncontent-disposition: form-data; name="origin"; filename="a.png"\r\n\r\n`,
		);
		const pngStart = await png(2, 2);
		const endless = new ReadableStream<Uint8Array>({
			pull(controller) {
				const chunk = pulled === 0 ? new Uint8Array([...head, ...pngStart]) : new Uint8Array(256 * 1024);
				pulled += chunk.length;
				controller.enqueue(chunk);
				if (pulled > 100 * MB) controller.close();
			},
		});
		await refusedWithNothingWritten(
			() =>
				call("/userAlbum/create", {
					method: "POST",
					token: carol.token,
					headers: { "content-type": "multipart/form-data; boundary=b" },
					body: endless,
					duplex: "half",
				} as RequestInit),
			413,
		);
		expect(pulled).toBeLessThan(12 * MB);
	});

	it("refuses a declared Content-Length over the limit from the header alone: 800 (HTTP 413)", async () => {
		const msg = await refusedWithNothingWritten(
			() =>
				call("/userAlbum/create", {
					method: "POST",
					token: carol.token,
					headers: { "content-type": "multipart/form-data; boundary=b", "content-length": String(30 * MB) },
					body: new Uint8Array(16),
				}),
			413,
		);
		expect(msg).toMatch(/larger than/);
	});

	it.each([
		["an unknown styleId", () => ({ styleId: 999_999 })],
		["an unaudited template", () => ({ styleId: unaudited.id })],
		["no styleId", () => ({})],
		["styleId=abc", () => ({ styleId: "abc" })],
		["styleId=0", () => ({ styleId: 0 })],
	])("refuses %s: 800, nothing written", async (_, fields) => {
		const msg = await refusedWithNothingWritten(async () =>
			post(
				"/userAlbum/create",
				carol.token,
				form(fields() as Record<string, string | number>, { origin: { bytes: await png(), name: "me.png" } }),
			),
		);
		expect(msg).toMatch(/styleId/);
	});

	it("refuses a face swap without a photo, with an empty one, or with a URL that is not a picture", async () => {
		await refusedWithNothingWritten(() => post("/userAlbum/create", carol.token, { styleId: faceSwap.id }));
		await refusedWithNothingWritten(() => post("/userAlbum/create", carol.token, { styleId: faceSwap.id, origin: "" }));
		await refusedWithNothingWritten(() =>
			post("/userAlbum/create", carol.token, { styleId: faceSwap.id, origin: "ftp://x/y.png" }),
		);
		const original = globalThis.fetch;
		vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
			const request = new Request(input, init);
			if (new URL(request.url).hostname !== "photos.test") return original(input, init);
			if (request.url.endsWith("/missing.png")) return new Response("not found", { status: 404 });
			return new Response("<html>a web page</html>", { headers: { "content-type": "image/png" } });
		});
		await refusedWithNothingWritten(() =>
			post("/userAlbum/create", carol.token, { styleId: faceSwap.id, origin: "http://photos.test/missing.png" }),
		);
		await refusedWithNothingWritten(() =>
			post("/userAlbum/create", carol.token, { styleId: faceSwap.id, origin: "http://photos.test/page.png" }),
		);
	});

	it("refuses a face swap the user cannot pay for with 402, and removes the stored photo again", async () => {
		const sub = uniqueSub("poor");
		const token = await tokenFor(sub);
		const id = await userId(sub);
		await env.DB.prepare("UPDATE users SET quota = 50 WHERE id = ?").bind(id).run();
		const before = await footprint(sub);
		const response = await post(
			"/userAlbum/create",
			token,
			form({ styleId: faceSwap.id }, { origin: { bytes: await png(), name: "me.png" } }),
		);
		await refused(response, 402, 402);
		expect(await footprint(sub)).toEqual(before);
	});

	it("lets an admin try an unaudited template", async () => {
		const item = await ok<AlbumItem>(
			await post(
				"/userAlbum/create",
				adminToken,
				form({ styleId: unaudited.id }, { origin: { bytes: await png(), name: "me.png" } }),
			),
		);
		expect(item.styleId).toBe(unaudited.id);
	});

	it("runs a face swap end to end: queue, simulator, R2 copy, state 30 with the result served", async () => {
		const photo = await png(9, 9, 42);
		const item = await createOk({ styleId: faceSwap.id }, { bytes: photo, name: "me.jpg" });
		const done = await waitFor(
			async () => {
				const data = await ok<AlbumItem[]>(await post("/userAlbum", carol.token, { page: 1, pageSize: 100 }));
				const now = data.find((i) => i.promptId === item.promptId);
				if (now?.state === 2) throw new Error(`face swap failed: ${now.reason}`);
				return now?.state === 30 && (await env.IMAGES.head(`images/${item.promptId}`)) ? now : undefined;
			},
			20_000,
			"the face swap to finish",
		);
		expect(done).toMatchObject({ id: item.id, taskId: item.taskId, reason: "", origin: item.origin });
		expect(done.covering).toMatch(/^http:\/\/gateway\.test\/mj\/image\//);
		const result = await fetchBytes(done.covering);
		expect(result.response.status).toBe(200);
		expect(result.response.headers.get("content-type")).toBe("image/png");
		expect([...result.body.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
		const row = await taskRow(item.promptId);
		expect(row.status).toBe("SUCCESS");
		expect(row.action).toBe("SWAP_FACE");
	});
});
