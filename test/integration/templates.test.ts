/**
 * Image templates (/imageTemp) as a specification: only admins create, change and delete them
 * (pictures uploaded or downloaded, checked by their bytes, stored in R2 and served by the
 * gateway); every signed-in user lists them (larger `sort` first, then newest; audited only
 * for non-admins) and favorites them, with favoriteCount exact under concurrent clicks.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { ImageTemp } from "../../src/tasks/views/album";
import { type Envelope, fetchBytes, form, IMAGE_TEMP_KEYS, JPEG, ok, png, post, refused, WEBP } from "../helpers/album";
import { BASE, call, json, tokenFor, uniqueSub } from "../helpers/api";
import { insertTaskRow, userId } from "../helpers/db";
import { realFetch, resetDeps, useFetch } from "../helpers/deps";

interface Template extends ImageTemp {
	kind: string;
	favorited?: boolean;
}

type Files = Record<string, Uint8Array>;

/** The template table and the R2 pictures, to show what a refused request left alone. */
async function footprint() {
	const rows = await env.DB.prepare(
		"SELECT count(*) AS n, coalesce(sum(favorite_count), 0) AS favorites, coalesce(max(updated_at), 0) AS latest FROM templates",
	).first<{ n: number; favorites: number; latest: number }>();
	const objects = await env.IMAGES.list({ prefix: "templates/" });
	return { ...rows, pictures: objects.objects.map((o) => o.key).sort() };
}

/** Every stored template picture is one a template row names, and the reverse. */
async function expectNoOrphans(): Promise<void> {
	const { results } = await env.DB.prepare("SELECT cover_key, image_key FROM templates").all<{
		cover_key: string | null;
		image_key: string | null;
	}>();
	const named = results.flatMap((r) => [r.cover_key, r.image_key]).filter((k): k is string => Boolean(k));
	const stored = (await env.IMAGES.list({ prefix: "templates/" })).objects.map((o) => o.key);
	expect(stored.sort()).toEqual(named.sort());
}

let adminToken: string;
let userToken: string;

beforeAll(async () => {
	adminToken = await tokenFor(uniqueSub("tpl-admin"), "admin");
	userToken = await tokenFor(uniqueSub("tpl-user"));
});

afterEach(() => {
	resetDeps();
	vi.restoreAllMocks();
});

async function create(fields: Record<string, string | number>, files: Files): Promise<Template> {
	return ok<Template>(await post("/imageTemp/create", adminToken, form(fields, files)));
}

/** Answers for the host cdn.test from `routes`; everything else goes on as usual. */
function stubCdn(routes: Record<string, () => Response>): string[] {
	const seen: string[] = [];
	useFetch(async (input, init) => {
		const request = new Request(input, init);
		const url = new URL(request.url);
		if (url.hostname !== "cdn.test") return realFetch(input, init);
		seen.push(url.pathname);
		return routes[url.pathname]?.() ?? new Response("not found", { status: 404 });
	});
	return seen;
}

describe("creating a template (admins)", () => {
	it("stores uploaded pictures in R2 and answers the template as imageTemp plus its kind", async () => {
		const image = await png(8, 8, 3);
		const before = Math.floor(Date.now() / 1000);
		const created = await create(
			{
				kind: "face_swap",
				title: "Stocking Tease",
				workflowId: 29,
				prompt: "1girl, black hair",
				isAudit: 1,
				pid: 0,
				sort: 1,
				author: "VelvetRogue",
			},
			{ covering: WEBP, image },
		);
		expect(Object.keys(created)).toEqual([...IMAGE_TEMP_KEYS, "kind"]);
		expect(created).toMatchObject({
			title: "Stocking Tease",
			workflowId: 29,
			prompt: "1girl, black hair",
			favoriteCount: 0,
			isAudit: 1,
			pid: 0,
			sort: 1,
			author: "VelvetRogue",
			kind: "face_swap",
		});
		expect(created.createdAt).toBeGreaterThanOrEqual(before);
		expect(created.createdAt).toBeLessThan(before + 60);
		expect(created.updatedAt).toBe(created.createdAt);

		const cover = await fetchBytes(created.covering);
		expect(cover.response.status).toBe(200);
		expect(cover.response.headers.get("content-type")).toBe("image/webp");
		expect(cover.body).toEqual(WEBP);
		const picture = await fetchBytes(created.image);
		expect(picture.response.headers.get("content-type")).toBe("image/png");
		expect(picture.body).toEqual(image);
		await expectNoOrphans();
	});

	it("downloads pictures given as URLs, following redirects, judging them by their bytes", async () => {
		const image = await png(5, 5, 7);
		const seen = stubCdn({
			"/thumb": () => new Response(null, { status: 301, headers: { location: "http://cdn.test/thumb.webp" } }),
			"/thumb.webp": () => new Response(WEBP, { headers: { "content-type": "text/plain" } }),
			"/full.jpg": () => new Response(image),
		});
		const created = await ok<Template>(
			await post("/imageTemp/create", adminToken, {
				kind: "face_swap",
				title: "From URLs",
				covering: "http://cdn.test/thumb",
				image: "http://cdn.test/full.jpg",
			}),
		);
		expect(seen.sort()).toEqual(["/full.jpg", "/thumb", "/thumb.webp"]);
		expect(created.covering).toMatch(/\.webp$/);
		expect(created.image).toMatch(/\.png$/);
		expect((await fetchBytes(created.covering)).body).toEqual(WEBP);
		expect((await fetchBytes(created.image)).body).toEqual(image);
	});

	it("creates a prompt template with only a cover", async () => {
		const created = await create(
			{ kind: "prompt", title: "Harbour", prompt: "a harbour at night" },
			{ covering: JPEG },
		);
		expect(created).toMatchObject({ kind: "prompt", image: "", isAudit: 0, sort: 0, author: "", workflowId: 0 });
		expect(created.covering).toMatch(/\.jpg$/);
	});

	it.each([
		["no kind", { title: "t" }, { covering: "png", image: "png" }, /kind is required/],
		["an unknown kind", { kind: "video", title: "t" }, { covering: "png", image: "png" }, /kind must be/],
		["no title", { kind: "face_swap" }, { covering: "png", image: "png" }, /title/],
		["a blank title", { kind: "face_swap", title: "  " }, { covering: "png", image: "png" }, /title/],
		["a face swap without its image", { kind: "face_swap", title: "t" }, { covering: "png" }, /image/],
		["a prompt template without a prompt", { kind: "prompt", title: "t" }, { covering: "png" }, /prompt/],
		["no covering", { kind: "prompt", title: "t", prompt: "p" }, {}, /covering/],
		[
			"a covering that is text",
			{ kind: "prompt", title: "t", prompt: "p" },
			{ covering: "text" },
			/covering must be a PNG/,
		],
		[
			"an image that is text",
			{ kind: "face_swap", title: "t" },
			{ covering: "png", image: "text" },
			/image must be a PNG/,
		],
		["sort=abc", { kind: "prompt", title: "t", prompt: "p", sort: "abc" }, { covering: "png" }, /sort/],
		["isAudit=2", { kind: "prompt", title: "t", prompt: "p", isAudit: 2 }, { covering: "png" }, /isAudit/],
		["workflowId=-1", { kind: "prompt", title: "t", prompt: "p", workflowId: -1 }, { covering: "png" }, /workflowId/],
	])("refuses %s with 800 and stores nothing", async (_, fields, fileKinds, message) => {
		const pngBytes = await png();
		const files = Object.fromEntries(
			Object.entries(fileKinds).map(([k, kind]) => [k, kind === "png" ? pngBytes : new TextEncoder().encode("hello")]),
		);
		const before = await footprint();
		const msg = await refused(await post("/imageTemp/create", adminToken, form(fields, files)), 800, 400);
		expect(msg).toMatch(message);
		expect(await footprint()).toEqual(before);
	});

	it("refuses a URL it may not or cannot download, storing nothing", async () => {
		stubCdn({ "/page.png": () => new Response("<html></html>", { headers: { "content-type": "image/png" } }) });
		const before = await footprint();
		for (const covering of [
			"http://cdn.test/missing.png",
			"http://cdn.test/page.png",
			"file:///etc/passwd",
			"http://u:p@cdn.test/a.png",
		]) {
			await refused(
				await post("/imageTemp/create", adminToken, { kind: "prompt", title: "t", prompt: "p", covering }),
				800,
				400,
			);
		}
		expect(await footprint()).toEqual(before);
	});
});

describe("admins only", () => {
	it("answers a user's create, update and delete with code 403 (HTTP 403) and changes nothing", async () => {
		const target = await create(
			{ kind: "prompt", title: "Keep me", prompt: "p", isAudit: 1 },
			{ covering: await png() },
		);
		const before = await footprint();
		const msg = await refused(
			await post(
				"/imageTemp/create",
				userToken,
				form({ kind: "prompt", title: "t", prompt: "p" }, { covering: await png() }),
			),
			403,
			403,
		);
		expect(msg).toMatch(/admin/);
		await refused(await post("/imageTemp/update", userToken, { id: target.id, title: "Hacked" }), 403, 403);
		await refused(await post("/imageTemp/delete", userToken, { id: target.id }), 403, 403);
		expect(await footprint()).toEqual(before);
		const listed = await ok<Template[]>(await post("/imageTemp/list", userToken, { pageSize: 100 }));
		expect(listed.find((t) => t.id === target.id)?.title).toBe("Keep me");
	});
});

describe("listing templates", () => {
	let ids: Record<string, number>;
	let admin: string;

	beforeAll(async () => {
		// A separate admin's view is still everyone's templates; fix the set by title prefix.
		admin = await tokenFor(uniqueSub("list-admin"), "admin");
		ids = {};
		const cover = await png();
		for (const [title, sort, isAudit] of [
			["L-a", 5, 1],
			["L-b", 9, 1],
			["L-c", 5, 0],
			["L-d", 5, 1],
			["L-e", -1, 1],
		] as const) {
			ids[title] = (await create({ kind: "prompt", title, prompt: "p", sort, isAudit }, { covering: cover })).id;
		}
	});

	const titles = (list: Template[]) => list.map((t) => t.title).filter((t) => t.startsWith("L-"));

	it("shows users the audited templates, larger sort first, then newest, with the same fields plus kind and favorited", async () => {
		const list = await ok<Template[]>(await post("/imageTemp/list", userToken, { page: 1, pageSize: 100 }));
		expect(titles(list)).toEqual(["L-b", "L-d", "L-a", "L-e"]);
		expect(list.every((t) => t.isAudit === 1)).toBe(true);
		for (const t of list) expect(Object.keys(t)).toEqual([...IMAGE_TEMP_KEYS, "kind", "favorited"]);
		// Sorted over everything listed, not only these.
		for (let i = 1; i < list.length; i++) {
			const [a, b] = [list[i - 1] as Template, list[i] as Template];
			expect(a.sort > b.sort || (a.sort === b.sort && a.id > b.id), `${a.title} before ${b.title}`).toBe(true);
		}
	});

	it("shows admins every template, or those with isAudit", async () => {
		const all = await ok<Template[]>(await post("/imageTemp/list", admin, { pageSize: 100 }));
		expect(titles(all)).toEqual(["L-b", "L-d", "L-c", "L-a", "L-e"]);
		const drafts = await ok<Template[]>(await post("/imageTemp/list?isAudit=0", admin, { pageSize: 100 }));
		expect(drafts.every((t) => t.isAudit === 0)).toBe(true);
		expect(titles(drafts)).toEqual(["L-c"]);
		// A user's isAudit=0 still shows audited ones only.
		const mine = await ok<Template[]>(await post("/imageTemp/list", userToken, { pageSize: 100, isAudit: 0 }));
		expect(mine.every((t) => t.isAudit === 1)).toBe(true);
	});

	it("pages with page and pageSize, and refuses bad values with 800", async () => {
		const all = await ok<Template[]>(await post("/imageTemp/list", userToken, { pageSize: 100 }));
		const pages: Template[] = [];
		for (let page = 1; ; page++) {
			const part = await ok<Template[]>(await post(`/imageTemp/list?page=${page}&pageSize=2`, userToken));
			if (part.length === 0) break;
			expect(part.length).toBeLessThanOrEqual(2);
			pages.push(...part);
		}
		expect(pages.map((t) => t.id)).toEqual(all.map((t) => t.id));
		for (const bad of ["page=0", "page=-1", "page=x", "pageSize=0", "pageSize=101", "pageSize=1.5"]) {
			await refused(await post(`/imageTemp/list?${bad}`, userToken), 800, 400);
		}
	});
});

describe("favorites", () => {
	let target: Template;

	beforeAll(async () => {
		target = await create({ kind: "prompt", title: "Popular", prompt: "p", isAudit: 1 }, { covering: await png() });
	});

	const count = async (id: number) => {
		const row = await env.DB.prepare(
			"SELECT favorite_count AS n, (SELECT count(*) FROM template_favorites WHERE template_id = ?1) AS rows FROM templates WHERE id = ?1",
		)
			.bind(id)
			.first<{ n: number; rows: number }>();
		return row ?? { n: -1, rows: -1 };
	};

	it("counts 20 users favoriting at once exactly", async () => {
		const tokens = await Promise.all(Array.from({ length: 20 }, () => tokenFor(uniqueSub("fan"))));
		const answers = await Promise.all(tokens.map((t) => post("/imageTemp/favorite", t, { id: target.id })));
		const data = await Promise.all(
			answers.map((a) => ok<{ id: number; favoriteCount: number; favorited: boolean }>(a)),
		);
		expect(data.every((d) => d.id === target.id && d.favorited)).toBe(true);
		// Each answer saw its own click counted: all different, 1..20.
		expect(data.map((d) => d.favoriteCount).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
		expect(await count(target.id)).toEqual({ n: 20, rows: 20 });
	});

	it("counts one user once however many clicks arrive at once, and takes it back once", async () => {
		const token = await tokenFor(uniqueSub("clicker"));
		const start = (await count(target.id)).n;
		const clicks = await Promise.all(
			Array.from({ length: 10 }, () => post("/imageTemp/favorite", token, { id: target.id })),
		);
		for (const click of clicks) expect((await ok<{ favoriteCount: number }>(click)).favoriteCount).toBe(start + 1);
		expect(await count(target.id)).toEqual({ n: start + 1, rows: start + 1 });

		const listed = await ok<Template[]>(await post("/imageTemp/list", token, { pageSize: 100 }));
		expect(listed.find((t) => t.id === target.id)).toMatchObject({ favorited: true, favoriteCount: start + 1 });

		const unclicks = await Promise.all(
			Array.from({ length: 10 }, () => post("/imageTemp/unfavorite", token, { id: target.id })),
		);
		for (const unclick of unclicks) {
			expect(await ok<{ favoriteCount: number; favorited: boolean }>(unclick)).toEqual({
				id: target.id,
				favoriteCount: start,
				favorited: false,
			});
		}
		expect(await count(target.id)).toEqual({ n: start, rows: start });
		// Unfavoriting what was never favorited changes nothing.
		await ok(await post("/imageTemp/unfavorite", token, { id: target.id }));
		expect(await count(target.id)).toEqual({ n: start, rows: start });
	});

	it("mixes favorites and unfavorites of many users at once and still counts exactly", async () => {
		const users = await Promise.all(Array.from({ length: 12 }, () => tokenFor(uniqueSub("mixed"))));
		const start = (await count(target.id)).n;
		// Every user clicks favorite 3 times; the even ones also unfavorite twice, all interleaved.
		const requests = users.flatMap((t, i) => [
			...Array.from({ length: 3 }, () => () => post("/imageTemp/favorite", t, { id: target.id })),
			...(i % 2 === 0
				? Array.from({ length: 2 }, () => () => post("/imageTemp/unfavorite", t, { id: target.id }))
				: []),
		]);
		await Promise.all(requests.map((send) => send()));
		const { n, rows } = await count(target.id);
		expect(n).toBe(rows);
		expect(n).toBeGreaterThanOrEqual(start + 6);
		expect(n).toBeLessThanOrEqual(start + 12);
	});

	it("refuses an unknown template, and a user's favorite of an unaudited one, with 800", async () => {
		await refused(await post("/imageTemp/favorite", userToken, { id: 9_999_999 }), 800, 400);
		await refused(await post("/imageTemp/unfavorite", userToken, { id: 9_999_999 }), 800, 400);
		await refused(await post("/imageTemp/favorite", userToken, { id: "abc" }), 800, 400);
		const draft = await create({ kind: "prompt", title: "Draft", prompt: "p", isAudit: 0 }, { covering: await png() });
		await refused(await post("/imageTemp/favorite", userToken, { id: draft.id }), 800, 400);
		// Unfavorite does not tell a user that an unaudited template exists either.
		const unknown = await refused(await post("/imageTemp/unfavorite", userToken, { id: 9_999_998 }), 800, 400);
		const hidden = await refused(await post("/imageTemp/unfavorite", userToken, { id: draft.id }), 800, 400);
		expect(hidden.replace(String(draft.id), "N")).toBe(unknown.replace("9999998", "N"));
		expect(await count(draft.id)).toEqual({ n: 0, rows: 0 });
		expect(
			await ok<{ favoriteCount: number }>(await post("/imageTemp/favorite", adminToken, { id: draft.id })),
		).toMatchObject({
			favoriteCount: 1,
		});
	});
});

describe("changing and deleting templates", () => {
	it("changes the given fields, replaces a picture with a new link and deletes the old one", async () => {
		const original = await create(
			{ kind: "face_swap", title: "Before", sort: 1, isAudit: 0, author: "a" },
			{ covering: await png(), image: await png(3, 3, 1) },
		);
		const oldCover = original.covering;
		const newCover = await png(6, 6, 2);
		const changed = await ok<Template>(
			await post(
				"/imageTemp/update",
				adminToken,
				form({ id: original.id, title: "After", sort: 7, isAudit: 1 }, { covering: newCover }),
			),
		);
		expect(changed).toMatchObject({
			id: original.id,
			title: "After",
			sort: 7,
			isAudit: 1,
			author: "a",
			kind: "face_swap",
		});
		expect(changed.image).toBe(original.image);
		expect(changed.covering).not.toBe(oldCover);
		expect(changed.updatedAt).toBeGreaterThanOrEqual(original.updatedAt);
		expect((await fetchBytes(changed.covering)).body).toEqual(newCover);
		const gone = await call(oldCover.slice(BASE.length));
		expect(gone.status).toBe(404);
		expect((await json<Envelope<never>>(gone)).code).toBe(800);
		await expectNoOrphans();
	});

	it("refuses changes that would break the template, or to an unknown one, with 800 and changes nothing", async () => {
		const target = await create({ kind: "face_swap", title: "Stable" }, { covering: await png(), image: await png() });
		const before = await footprint();
		await refused(await post("/imageTemp/update", adminToken, { id: target.id, kind: "prompt" }), 800, 400);
		await refused(await post("/imageTemp/update", adminToken, { id: target.id, title: "" }), 800, 400);
		await refused(await post("/imageTemp/update", adminToken, { id: 9_999_999, title: "x" }), 800, 400);
		await refused(await post("/imageTemp/update", adminToken, { title: "x" }), 800, 400);
		await refused(
			await post("/imageTemp/update", adminToken, form({ id: target.id }, { image: new TextEncoder().encode("text") })),
			800,
			400,
		);
		expect(await footprint()).toEqual(before);
	});

	it("leaves no orphaned picture when admins replace the same cover at once", async () => {
		const target = await create({ kind: "prompt", title: "Contested", prompt: "p" }, { covering: await png() });
		const covers = await Promise.all(Array.from({ length: 6 }, (_, i) => png(4, 4, 100 + i)));
		const answers = await Promise.all(
			covers.map((cover) => post("/imageTemp/update", adminToken, form({ id: target.id }, { covering: cover }))),
		);
		const codes = await Promise.all(answers.map(async (a) => (await json<Envelope<Template>>(a)).code));
		expect(codes.filter((c) => c === 200).length).toBeGreaterThanOrEqual(1);
		expect(codes.every((c) => c === 200 || c === 800)).toBe(true);
		await expectNoOrphans();
		const [listed] = (await ok<Template[]>(await post("/imageTemp/list", adminToken, { pageSize: 100 }))).filter(
			(t) => t.id === target.id,
		);
		const served = (await fetchBytes((listed as Template).covering)).body;
		expect(covers.some((c) => c.length === served.length && c.every((b, i) => b === served[i]))).toBe(true);
	});

	it("deletes a template with its favorites and pictures; its album pictures keep an empty imageTemp", async () => {
		const target = await create(
			{ kind: "prompt", title: "Doomed", prompt: "p", isAudit: 1, author: "x", sort: 3 },
			{ covering: await png(), image: await png() },
		);
		await ok(await post("/imageTemp/favorite", userToken, { id: target.id }));
		const sub = uniqueSub("owner");
		const owner = await userId(sub);
		const picture = await insertTaskRow({ userId: owner, albumSeq: 1, styleId: target.id, status: "SUCCESS" });
		await env.DB.prepare("UPDATE users SET album_count = 1 WHERE id = ?").bind(owner).run();

		expect(await ok<{ id: number }>(await post("/imageTemp/delete", adminToken, { id: target.id }))).toEqual({
			id: target.id,
		});
		const row = await env.DB.prepare(
			"SELECT (SELECT count(*) FROM templates WHERE id = ?1) AS templates, (SELECT count(*) FROM template_favorites WHERE template_id = ?1) AS favorites",
		)
			.bind(target.id)
			.first<{ templates: number; favorites: number }>();
		expect(row).toEqual({ templates: 0, favorites: 0 });
		for (const link of [target.covering, target.image]) expect((await call(link.slice(BASE.length))).status).toBe(404);
		await expectNoOrphans();
		const listed = await ok<Template[]>(await post("/imageTemp/list", adminToken, { pageSize: 100 }));
		expect(listed.map((t) => t.id)).not.toContain(target.id);

		const [item] = await ok<{ promptId: string; styleId: number; imageTemp: Record<string, unknown> }[]>(
			await post("/userAlbum", await tokenFor(sub), { page: 1, pageSize: 20 }),
		);
		expect(item?.promptId).toBe(picture.publicId);
		expect(item?.styleId).toBe(target.id);
		expect(item?.imageTemp).toEqual({
			id: target.id,
			title: "",
			covering: "",
			image: "",
			workflowId: 0,
			prompt: "",
			favoriteCount: 0,
			isAudit: 0,
			pid: 0,
			sort: 0,
			author: "",
			createdAt: 0,
			updatedAt: 0,
		});

		await refused(await post("/imageTemp/delete", adminToken, { id: target.id }), 800, 400);
		await refused(await post("/imageTemp/favorite", userToken, { id: target.id }), 800, 400);
	});
});

describe("GET /imageTemp/file/{name}", () => {
	let link: string;
	let picture: Uint8Array;

	beforeAll(async () => {
		picture = await png(10, 10, 4);
		link = (await create({ kind: "prompt", title: "Served", prompt: "p" }, { covering: picture })).covering.slice(
			BASE.length,
		);
	});

	it("serves the picture publicly with its type, length, ETag and immutable caching", async () => {
		const response = await call(link);
		expect(response.status).toBe(200);
		expect(response.headers.get("content-type")).toBe("image/png");
		expect(response.headers.get("content-length")).toBe(String(picture.length));
		expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
		const etag = response.headers.get("etag");
		expect(etag).toBeTruthy();
		expect(new Uint8Array(await response.arrayBuffer())).toEqual(picture);

		const again = await call(link, { headers: { "if-none-match": etag as string } });
		expect(again.status).toBe(304);
		expect(await again.text()).toBe("");
		const head = await call(link, { method: "HEAD" });
		expect(head.status).toBe(200);
		expect(await head.text()).toBe("");
	});

	it("serves a byte range", async () => {
		const response = await call(link, { headers: { range: "bytes=0-7" } });
		expect(response.status).toBe(206);
		expect(response.headers.get("content-range")).toBe(`bytes 0-7/${picture.length}`);
		expect(new Uint8Array(await response.arrayBuffer())).toEqual(picture.subarray(0, 8));
	});

	it("answers an unknown or malformed name with 404 (code 800)", async () => {
		for (const name of [`${crypto.randomUUID()}.png`, "abc.png", `${crypto.randomUUID()}.gif`]) {
			const response = await call(`/imageTemp/file/${name}`);
			expect(response.status, name).toBe(404);
			expect((await json<Envelope<never>>(response)).code).toBe(800);
		}
		// "../images/x" leaves /imageTemp/file/ once the URL is resolved: an unknown signed-in path,
		// so the token is checked before its 404.
		const escaped = await call("/imageTemp/file/../images/x");
		expect(escaped.status).toBe(401);
		expect((await json<Envelope<never>>(escaped)).code).toBe(401);
	});
});
