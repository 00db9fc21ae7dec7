/**
 * The reconciler's work per run is bounded whatever the backlog: with 3,000 unfinished tasks one
 * run reads a fixed number of D1 rows (the batch limits, not the backlog), and still every stuck
 * task ends within the runs the batches promise: timed-out tasks fail oldest first, lost NOT_START
 * tasks are re-queued, and in-flight tasks the upstream has finished are found by the walk, which
 * resumes where the last run stopped, even when thousands of older healthy tasks come before them.
 *
 * The upstream is a fake list-by-condition (injected through Deps): healthy tasks stay at 50%,
 * tasks whose id starts with "done-" are SUCCESS. Queue sends are recorded, not delivered.
 */
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { RECONCILE_BATCH, reconcile } from "../../src/cron/reconcile";
import { instrumentD1, newD1Stats } from "../../src/db/instrument";
import { channels } from "../../src/db/schema";
import { defaultDeps } from "../../src/deps";
import type { TaskMessage } from "../../src/tasks/messages";
import { db, userId } from "../helpers/db";

const TASKS = 3_000;
/**
 * Seeded task n: n % 5 === 0 ran past the timeout (600, more than one run's batch), n % 100 === 1
 * lost its queue message (30), n % 100 === 2 finished upstream without anyone hearing (30); the
 * rest run healthy at 50%.
 */
const kindOf = (n: number) =>
	n % 5 === 0 ? "timedOut" : n % 100 === 1 ? "lost" : n % 100 === 2 ? "finished" : "running";
const count = (kind: string) => Array.from({ length: TASKS }, (_, i) => kindOf(i + 1)).filter((k) => k === kind).length;
const UPSTREAM = "https://bound-upstream.test";

/** A run's own reads: the three seeks with their limits, plus a few rows (the cursor, the channel, each seek's end). */
const ROWS_PER_RUN = RECONCILE_BATCH.timedOut + RECONCILE_BATCH.lost + RECONCILE_BATCH.walk + 20;

const now = Date.now();
const sent: TaskMessage[] = [];
let channelId: number;

/** list-by-condition for every id asked: "done-…" finished, the rest running at 50%. */
const upstreamFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
	const request = new Request(input, init);
	if (!request.url.startsWith(`${UPSTREAM}/mj/task/list-by-condition`)) return new Response("no", { status: 404 });
	const { ids } = (await request.json()) as { ids: string[] };
	return Response.json(
		ids.map((id) =>
			id.startsWith("done-")
				? { id, status: "SUCCESS", progress: "100%", finishTime: now }
				: { id, status: "IN_PROGRESS", progress: "50%" },
		),
	);
};

async function run(): Promise<{ rowsRead: number; queries: number }> {
	const stats = newD1Stats();
	await reconcile({ ...env, DB: instrumentD1(env.DB, stats) }, { ...defaultDeps(), fetch: upstreamFetch });
	return { rowsRead: stats.rowsRead, queries: stats.queries };
}

async function stuck(): Promise<Record<string, number>> {
	const row = await env.DB.prepare(
		`SELECT
			SUM(public_id LIKE 'bound-timedOut-%' AND status <> 'FAILURE') AS timedOut,
			SUM(public_id LIKE 'bound-finished-%' AND status <> 'SUCCESS') AS finished,
			SUM(public_id LIKE 'bound-running-%' AND status <> 'IN_PROGRESS') AS runningDisturbed
		FROM tasks WHERE public_id LIKE 'bound-%'`,
	).first<Record<string, number>>();
	const requeued = new Set(sent.map((m) => m.taskId));
	const lost = Array.from({ length: TASKS }, (_, i) => i + 1).filter(
		(n) => kindOf(n) === "lost" && !requeued.has(`bound-lost-${n}`),
	).length;
	return { ...row, lost } as Record<string, number>;
}

beforeAll(async () => {
	const owner = await userId(`bound-${now}`);
	const [channel] = await db()
		.insert(channels)
		.values({ name: `bound-${now}`, baseUrl: UPSTREAM, secret: "s", enabled: false, createdAt: now, updatedAt: now })
		.returning({ id: channels.id });
	channelId = channel.id;
	const kind = `CASE WHEN n % 5 = 0 THEN 'timedOut' WHEN n % 100 = 1 THEN 'lost' WHEN n % 100 = 2 THEN 'finished' ELSE 'running' END`;
	await env.DB.prepare(
		`INSERT INTO tasks (public_id, user_id, user_seq, action, status, progress, upstream_id, channel_id, submit_time, updated_at, version)
		 WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1),
		 k(n, kind) AS (SELECT n, ${kind} FROM seq)
		 SELECT 'bound-' || kind || '-' || n, ?2, n, 'IMAGINE',
		   CASE kind WHEN 'lost' THEN 'NOT_START' ELSE 'IN_PROGRESS' END,
		   CASE kind WHEN 'lost' THEN '0%' ELSE '50%' END,
		   CASE kind WHEN 'lost' THEN NULL WHEN 'finished' THEN 'done-' || n ELSE 'up-' || n END,
		   CASE kind WHEN 'lost' THEN NULL ELSE ?3 END,
		   CASE kind WHEN 'timedOut' THEN ?4 - 40 * 60000 - n ELSE ?4 - 5 * 60000 + n END, ?4, 1
		 FROM k`,
	)
		.bind(TASKS, owner, channelId, now)
		.run();
	vi.spyOn(env.TASK_QUEUE, "sendBatch").mockImplementation(async (messages) => {
		for (const m of messages) sent.push(m.body as TaskMessage);
		return undefined as never;
	});
});

afterAll(() => vi.restoreAllMocks());

describe("reconciler with a backlog of 3,000 unfinished tasks", () => {
	it("reads a fixed number of rows per run and ends every stuck task within the runs its batches promise", async () => {
		expect(await stuck()).toEqual({
			timedOut: count("timedOut"),
			finished: count("finished"),
			runningDisturbed: 0,
			lost: count("lost"),
		});
		// The walk passes every in-flight task once in this many runs; timed-out tasks go sooner.
		const inFlight = TASKS - count("lost");
		const promised = Math.max(
			Math.ceil(inFlight / RECONCILE_BATCH.walk),
			Math.ceil(count("timedOut") / RECONCILE_BATCH.timedOut),
			Math.ceil(count("lost") / RECONCILE_BATCH.lost),
		);
		const runs: { rowsRead: number; queries: number }[] = [];
		let left = await stuck();
		while (runs.length < promised + 1 && (left.timedOut || left.finished || left.lost)) {
			runs.push(await run());
			left = await stuck();
		}
		expect(left).toEqual({ timedOut: 0, finished: 0, runningDisturbed: 0, lost: 0 });
		expect(runs.length).toBeLessThanOrEqual(promised + 1);
		// Far below the 3,000-row backlog, and the same bound at any backlog.
		for (const r of runs) expect(r.rowsRead).toBeLessThanOrEqual(ROWS_PER_RUN);
		expect(ROWS_PER_RUN).toBeLessThan(TASKS / 3);
		// Healthy tasks the upstream reports unchanged cost no object call and are left as they were.
		const failed = await env.DB.prepare(
			"SELECT COUNT(*) AS n FROM tasks WHERE public_id LIKE 'bound-timedOut-%' AND fail_reason LIKE 'timed out%'",
		).first<{ n: number }>();
		expect(failed?.n).toBe(count("timedOut"));
	});
});
