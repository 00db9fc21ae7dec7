/**
 * The album surface (seed 000) as a specification: POST /userAlbum field by field against the
 * seed's document, with a face-swap and a prompt template in every state; paging, user
 * isolation, bad parameters, the error codes, and the bounded cost of a deep page.
 * POST /userAlbum/create: album-create.test.ts. The fixture: test/helpers/album-fixture.ts.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { sign } from "../../src/auth/signing";
import type { D1Stats } from "../../src/db/instrument";
import type { TaskRow } from "../../src/db/schema";
import { fetchBytes, IMAGE_TEMP_KEYS, ok, png, post, refused, WEBP } from "../helpers/album";
import {
	type AlbumItem,
	createTemplates,
	faceSwap,
	ITEM_KEYS,
	promptTemplate,
	SEED_TEMPLATE,
	templateRow,
} from "../helpers/album-fixture";
import { BASE, call, tokenFor, uniqueSub } from "../helpers/api";
import { insertTaskRow, userId } from "../helpers/db";

beforeAll(createTemplates);

afterEach(() => {
	vi.restoreAllMocks();
});

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
