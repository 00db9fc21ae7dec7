/**
 * The isolate's cache of finished task rows (src/db/settled-tasks.ts): a settled task is read
 * from D1 once and then answered without a query; another user's request for it answers as an
 * unknown id; a row that can still change is read from D1 every time; and no update the
 * gateway can make afterwards changes a cached row in D1.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { type NewTaskRow, tasks } from "../../src/db/schema";
import { settledTaskCache } from "../../src/db/settled-tasks";
import { setTaskImage, setTaskVideoKeys, writeTaskProgress } from "../../src/db/tasks";
import { taskObject } from "../../src/tasks/task-object-stub";
import { json, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { db, insertTaskRow, taskRow, userId } from "../helpers/db";
import { withStats } from "../helpers/seed001";
import { fetchTask, imagine } from "../helpers/surface";

const fetchPath = (id: string) => `/api/v1/task/fetch?_id=${encodeURIComponent(id)}`;

/** A user whose first request (the users upsert) is already made, so counts show only the task reads. */
async function signedIn(): Promise<{ token: string; uid: number }> {
	const sub = uniqueSub("settled");
	const token = await tokenFor(sub);
	const uid = await userId(sub);
	await withStats("/api/mj/self?page_size=1", token);
	return { token, uid };
}

const SETTLED_SUCCESS: Partial<NewTaskRow> = {
	status: "SUCCESS",
	progress: "100%",
	upstreamImageUrl: "https://cdn.example/grid.png",
	imageKey: "images/grid",
	imageType: "image/png",
	finishTime: 1_700_000_000_000,
	buttons: JSON.stringify([{ customId: "MJ::JOB::upsample::1::0a1b2c3d-0000-4000-8000-000000000001", label: "U1" }]),
};

async function queriesOf(path: string, token: string): Promise<{ queries: number; status: number; body: unknown }> {
	const { response, stats } = await withStats(path, token);
	return { queries: stats?.queries ?? -1, status: response.status, body: await response.json() };
}

beforeEach(() => settledTaskCache.clear());

describe("a settled task is answered from the isolate", () => {
	it("reads D1 once, then answers the same body with no query, on seed 002 and the proxy API", async () => {
		const { token, uid } = await signedIn();
		const row = await insertTaskRow({ userId: uid, ...SETTLED_SUCCESS });

		const first = await queriesOf(fetchPath(row.publicId), token);
		expect(first.status).toBe(200);
		expect(first.queries).toBe(1);
		expect(settledTaskCache.has(row.publicId)).toBe(true);

		const second = await queriesOf(fetchPath(row.publicId), token);
		expect(second).toEqual({ ...first, queries: 0 });

		const proxy = await queriesOf(`/mj/task/${row.publicId}/fetch`, token);
		expect(proxy.queries).toBe(0);
		expect(proxy.body).toMatchObject({ id: row.publicId, status: "SUCCESS", progress: "100%" });
	});

	it("caches a FAILURE and a CANCEL once their refund is recorded", async () => {
		const { token, uid } = await signedIn();
		for (const status of ["FAILURE", "CANCEL"] as const) {
			const row = await insertTaskRow({ userId: uid, status, failReason: "no", refunded: true, finishTime: 1 });
			await queriesOf(fetchPath(row.publicId), token);
			expect((await queriesOf(fetchPath(row.publicId), token)).queries, status).toBe(0);
		}
	});

	it("answers another user's request for a cached task exactly as for an unknown id, on every surface", async () => {
		const owner = await signedIn();
		const other = await signedIn();
		const row = await insertTaskRow({ userId: owner.uid, ...SETTLED_SUCCESS });
		await queriesOf(fetchPath(row.publicId), owner.token);
		expect(settledTaskCache.has(row.publicId)).toBe(true);

		const unknown = crypto.randomUUID();
		const seed002 = await queriesOf(fetchPath(row.publicId), other.token);
		const seed002Unknown = await queriesOf(fetchPath(unknown), other.token);
		expect(seed002.status).toBe(seed002Unknown.status);
		expect(JSON.stringify(seed002.body).replaceAll(row.publicId, "ID")).toBe(
			JSON.stringify(seed002Unknown.body).replaceAll(unknown, "ID"),
		);
		expect(JSON.stringify(seed002.body)).not.toContain("grid");

		const proxy = await queriesOf(`/mj/task/${row.publicId}/fetch`, other.token);
		expect(proxy.status).toBe(404);
		expect(JSON.stringify(proxy.body)).not.toContain("grid");

		// Still cached for its owner, who is answered without a query.
		expect((await queriesOf(fetchPath(row.publicId), owner.token)).queries).toBe(0);
	});

	it("list-by-condition answers cached and live tasks in the order asked, reading D1 only for the rest", async () => {
		const { token, uid } = await signedIn();
		const done1 = await insertTaskRow({ userId: uid, ...SETTLED_SUCCESS });
		const live = await insertTaskRow({ userId: uid, status: "IN_PROGRESS", progress: "40%" });
		const done2 = await insertTaskRow({ userId: uid, ...SETTLED_SUCCESS });
		const ids = [done2.publicId, live.publicId, done1.publicId];
		const condition = async (asToken: string) => {
			const { response, stats } = await withStats("/mj/task/list-by-condition", asToken, {}, { ids });
			return { queries: stats?.queries ?? -1, tasks: await json<{ id: string; progress: string }[]>(response) };
		};

		const first = await condition(token);
		expect(first.tasks.map((task) => task.id)).toEqual(ids);
		expect(first.queries).toBe(1);
		const second = await condition(token);
		expect(second.tasks.map((task) => task.id)).toEqual(ids);
		expect(second.queries).toBe(1);

		await db().update(tasks).set({ progress: "80%", version: 5 }).where(eq(tasks.publicId, live.publicId));
		const third = await condition(token);
		expect(third.tasks.find((task) => task.id === live.publicId)?.progress).toBe("80%");

		// Another user asking for the same ids sees none of them.
		const stranger = await signedIn();
		expect((await condition(stranger.token)).tasks).toEqual([]);
	});
});

describe("a row that can still change is read from D1 every time", () => {
	/** Each row, the gateway's next write to it, and what that write leaves: a row still in flight, or a settled one. */
	const cases: [string, Partial<NewTaskRow>, (publicId: string) => Promise<unknown>, "in flight" | "settled"][] = [
		[
			"IN_PROGRESS",
			{ status: "IN_PROGRESS", progress: "10%", version: 1 },
			(id) => writeTaskProgress(db(), id, 2, { progress: "60%" }, Date.now()),
			"in flight",
		],
		[
			"SUBMITTED",
			{ status: "SUBMITTED", progress: "0%", version: 1 },
			(id) => writeTaskProgress(db(), id, 2, { status: "IN_PROGRESS", progress: "5%" }, Date.now()),
			"in flight",
		],
		[
			"NOT_START",
			{ status: "NOT_START", version: 1 },
			(id) => writeTaskProgress(db(), id, 2, { status: "SUBMITTED" }, Date.now()),
			"in flight",
		],
		[
			"MODAL",
			{ status: "MODAL", version: 1 },
			(id) => writeTaskProgress(db(), id, 2, { status: "NOT_START" }, Date.now()),
			"in flight",
		],
		[
			"SUCCESS before its image copy",
			{ ...SETTLED_SUCCESS, imageKey: null, version: 3 },
			(id) => setTaskImage(db(), id, `images/${id}`, "image/webp"),
			"settled",
		],
		[
			"SUCCESS before its video copies",
			{
				...SETTLED_SUCCESS,
				upstreamImageUrl: "",
				imageKey: null,
				videoUrls: JSON.stringify(["https://cdn.example/0.mp4", "https://cdn.example/1.mp4"]),
				videoKeys: JSON.stringify(["videos/x/0"]),
			},
			(id) => setTaskVideoKeys(db(), id, [`videos/${id}/0`, `videos/${id}/1`]),
			"settled",
		],
		[
			"FAILURE before its refund",
			{ status: "FAILURE", failReason: "upstream said no", refunded: false, version: 3 },
			(id) => db().update(tasks).set({ refunded: true }).where(eq(tasks.publicId, id)),
			"settled",
		],
	];

	for (const [name, fields, nextWrite, leaves] of cases) {
		it(`${name}: not cached until its last write is in D1`, async () => {
			const { token, uid } = await signedIn();
			const row = await insertTaskRow({ userId: uid, ...fields });
			const before = await queriesOf(fetchPath(row.publicId), token);
			expect(before.queries).toBe(1);
			expect(settledTaskCache.has(row.publicId)).toBe(false);
			expect((await queriesOf(fetchPath(row.publicId), token)).queries).toBe(1);

			await nextWrite(row.publicId);
			const after = await queriesOf(fetchPath(row.publicId), token);
			expect(after.queries).toBe(1);
			if (leaves === "in flight") {
				// The write shows at once, and the row is still read from D1 each time.
				expect(after.body).not.toEqual(before.body);
				expect(after.body).toMatchObject({ status: (await taskRow(row.publicId)).status });
				expect(settledTaskCache.has(row.publicId)).toBe(false);
				expect((await queriesOf(fetchPath(row.publicId), token)).queries).toBe(1);
			} else {
				// Its last write made it settled: from now on it is answered from the isolate, unchanged.
				expect(settledTaskCache.has(row.publicId)).toBe(true);
				const next = await queriesOf(fetchPath(row.publicId), token);
				expect(next).toEqual({ ...after, queries: 0 });
			}
		});
	}

	it("a row larger than the per-row limit is read from D1 each time", async () => {
		const { token, uid } = await signedIn();
		const row = await insertTaskRow({ userId: uid, ...SETTLED_SUCCESS, prompt: "p".repeat(40_000) });
		await queriesOf(fetchPath(row.publicId), token);
		expect(settledTaskCache.has(row.publicId)).toBe(false);
		expect((await queriesOf(fetchPath(row.publicId), token)).queries).toBe(1);
	});
});

describe("through the real pipeline", () => {
	it("a task is cached only once settled in D1, and no later update changes its row", async () => {
		const sub = uniqueSub("settled-flow");
		const token = await tokenFor(sub);
		const id = await imagine(token, "a settled lighthouse");
		// Poll as a client does: every answer before the end is read from D1, never cached.
		const seen = new Set<string>();
		await waitFor(
			async () => {
				const task = await fetchTask(token, id);
				seen.add(task.status);
				const row = await taskRow(id);
				if (!settledTaskCache.has(id)) return undefined;
				// Cached means D1 already held everything: the image key is written.
				expect(row.status).toBe("SUCCESS");
				expect(row.imageKey).toBe(`images/${id}`);
				return task;
			},
			20_000,
			"the finished task to be cached",
		);
		expect(seen.has("SUCCESS")).toBe(true);
		const cachedRow = await taskRow(id);

		// Every update an upstream, a poll or a cancel could still bring is refused for a finished task.
		const object = taskObject(env, id);
		for (const update of [
			{ status: "IN_PROGRESS", progress: "50%" },
			{ status: "FAILURE", failReason: "late failure" },
			{ status: "SUCCESS", progress: "100%", imageUrl: "https://cdn.example/other.png" },
			{ status: "CANCEL" },
		] as const) {
			await object.apply(id, update);
		}
		expect(await taskRow(id)).toEqual(cachedRow);
		expect(await fetchTask(token, id)).toMatchObject({ status: "SUCCESS", progress: "done" });
	});
});
