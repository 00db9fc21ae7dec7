/**
 * The reconciler's work per run is bounded whatever the backlog: with 3,000 unfinished tasks one
 * run reads a fixed number of D1 rows (the batch limits, not the backlog), and still every stuck
 * task ends within the runs the batches promise. Timed-out tasks are only found by the cron and
 * handed to the task queue in `timeout` messages (a seek that resumes after the last task handed);
 * the queue's consumer fails them through their objects. Lost NOT_START tasks are re-queued, and
 * in-flight tasks the upstream has finished are found by the walk, which resumes where the last
 * run stopped, even when thousands of older healthy tasks come before them.
 *
 * The upstream is a fake list-by-condition (injected through Deps): healthy tasks stay at 50%,
 * tasks whose id starts with "done-" are SUCCESS. Queue sends are recorded; `timeout` messages
 * are delivered by hand to the real consumer (handleTaskBatch), max_batch_size at a time, when a
 * test says so, so it can race a task's normal end against its hand-off.
 */
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { RECONCILE_BATCH, type ReconcileBatch, reconcile } from "../../src/cron/reconcile";
import { instrumentD1, newD1Stats } from "../../src/db/instrument";
import { channels } from "../../src/db/schema";
import { defaultDeps } from "../../src/deps";
import { handleTaskBatch } from "../../src/queue/task-consumer";
import { type TaskMessage, TIMEOUT_IDS_PER_MESSAGE } from "../../src/tasks/messages";
import { taskObject } from "../../src/tasks/task-object-stub";
import { db, userId } from "../helpers/db";

const TASKS = 3_000;
/**
 * Seeded task n: n % 5 === 0 ran past the timeout (600, more than one old batch of 400 and more
 * than two of the small batch below), n % 100 === 1 lost its queue message (30), n % 100 === 2
 * finished upstream without anyone hearing (30); the rest run healthy at 50%. Each timed-out task
 * charged its owner 1, so the owner's balance counts the refunds.
 */
const kindOf = (n: number) =>
	n % 5 === 0 ? "timedOut" : n % 100 === 1 ? "lost" : n % 100 === 2 ? "finished" : "running";
const count = (kind: string) => Array.from({ length: TASKS }, (_, i) => kindOf(i + 1)).filter((k) => k === kind).length;
const UPSTREAM = "https://bound-upstream.test";
/** A small timed-out batch, so that 600 timed-out tasks take three runs: the cursor and its wrap at work. */
const SMALL: ReconcileBatch = { timedOut: 250, lost: 100, walk: 200 };
/** max_batch_size of mj-edge-tasks in wrangler.toml: the most messages one consumer invocation gets. */
const MAX_BATCH_SIZE = 10;

/** A run's own reads: the three seeks with their limits, plus a few rows (the cursors, the channel, each seek's end). */
const rowsPerRun = (batch: ReconcileBatch) => batch.timedOut + batch.lost + batch.walk + 20;

const now = Date.now();
const sent: TaskMessage[] = [];
/** How many of `sent` have been handed to the consumer. */
let delivered = 0;
let owner: number;

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

type Timeout = Extract<TaskMessage, { kind: "timeout" }>;

/** One cron run; answers its D1 figures and the timed-out task ids it handed over. */
async function run(batch: ReconcileBatch): Promise<{ rowsRead: number; handed: string[]; messages: Timeout[] }> {
	const stats = newD1Stats();
	const from = sent.length;
	await reconcile({ ...env, DB: instrumentD1(env.DB, stats) }, { ...defaultDeps(), fetch: upstreamFetch }, batch);
	const messages = sent.slice(from).filter((m): m is Timeout => m.kind === "timeout");
	return { rowsRead: stats.rowsRead, handed: messages.flatMap((m) => m.taskIds), messages };
}

/** Delivers every `timeout` message sent and not yet delivered to the real consumer, a queue batch at a time. */
async function drain(): Promise<void> {
	const pending = sent.slice(delivered).filter((m) => m.kind === "timeout");
	delivered = sent.length;
	for (let i = 0; i < pending.length; i += MAX_BATCH_SIZE) {
		const messages = pending.slice(i, i + MAX_BATCH_SIZE).map((body) => ({
			id: crypto.randomUUID(),
			timestamp: new Date(),
			body,
			attempts: 1,
			ack: vi.fn(),
			retry: vi.fn(),
		}));
		await handleTaskBatch(
			{
				queue: "mj-edge-tasks",
				messages,
				ackAll: () => {},
				retryAll: () => {},
			} as unknown as MessageBatch<TaskMessage>,
			env,
			defaultDeps(),
		);
		for (const message of messages) expect(message.ack).toHaveBeenCalledOnce();
	}
}

async function stuck(prefix: string): Promise<Record<string, number>> {
	const row = await env.DB.prepare(
		`SELECT
			SUM(public_id LIKE ?1 || 'timedOut-%' AND status NOT IN ('FAILURE', 'SUCCESS')) AS timedOut,
			SUM(public_id LIKE ?1 || 'finished-%' AND status <> 'SUCCESS') AS finished,
			SUM(public_id LIKE ?1 || 'running-%' AND status <> 'IN_PROGRESS') AS runningDisturbed
		FROM tasks WHERE public_id LIKE ?1 || '%'`,
	)
		.bind(prefix)
		.first<Record<string, number>>();
	const requeued = new Set(sent.flatMap((m) => (m.kind === "submit" ? [m.taskId] : [])));
	const lost = Array.from({ length: TASKS }, (_, i) => i + 1).filter(
		(n) => kindOf(n) === "lost" && !requeued.has(`${prefix}lost-${n}`),
	).length;
	return { ...row, lost } as Record<string, number>;
}

/** Seeds TASKS tasks named `${prefix}${kind}-${n}`; timed-out ones `ageMinutes` old. */
async function seed(prefix: string, channelId: number, ageMinutes: number): Promise<void> {
	const kind = `CASE WHEN n % 5 = 0 THEN 'timedOut' WHEN n % 100 = 1 THEN 'lost' WHEN n % 100 = 2 THEN 'finished' ELSE 'running' END`;
	await env.DB.prepare(
		`INSERT INTO tasks (public_id, user_id, user_seq, action, status, progress, upstream_id, channel_id, submit_time, updated_at, version, quota)
		 WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1),
		 k(n, kind) AS (SELECT n, ${kind} FROM seq)
		 SELECT ?5 || kind || '-' || n, ?2, ?7 + n, 'IMAGINE',
		   CASE kind WHEN 'lost' THEN 'NOT_START' ELSE 'IN_PROGRESS' END,
		   CASE kind WHEN 'lost' THEN '0%' ELSE '50%' END,
		   CASE kind WHEN 'lost' THEN NULL WHEN 'finished' THEN 'done-' || n ELSE 'up-' || n END,
		   CASE kind WHEN 'lost' THEN NULL ELSE ?3 END,
		   CASE kind WHEN 'timedOut' THEN ?4 - ?6 * 60000 - n ELSE ?4 - 5 * 60000 + n END, ?4, 1,
		   CASE kind WHEN 'timedOut' THEN 1 ELSE 0 END
		 FROM k`,
	)
		.bind(TASKS, owner, channelId, now, prefix, ageMinutes, seeded++ * TASKS)
		.run();
}

const balance = async () =>
	(await env.DB.prepare("SELECT quota FROM users WHERE id = ?").bind(owner).first<{ quota: number }>())?.quota;

/** Every timed-out task of `prefix` by its status and version. */
async function endedTimedOut(prefix: string): Promise<{ status: string; version: number; n: number }[]> {
	const { results } = await env.DB.prepare(
		`SELECT status, version, COUNT(*) AS n FROM tasks WHERE public_id LIKE ? || 'timedOut-%' GROUP BY status, version ORDER BY status`,
	)
		.bind(prefix)
		.all<{ status: string; version: number; n: number }>();
	return results;
}

let channelId: number;
/** Seeds so far: each takes its own range of user_seq. */
let seeded = 0;

beforeAll(async () => {
	owner = await userId(`bound-${now}`);
	const [channel] = await db()
		.insert(channels)
		.values({ name: `bound-${now}`, baseUrl: UPSTREAM, secret: "s", enabled: false, createdAt: now, updatedAt: now })
		.returning({ id: channels.id });
	channelId = channel.id;
	vi.spyOn(env.TASK_QUEUE, "sendBatch").mockImplementation(async (messages) => {
		for (const m of messages) sent.push(m.body as TaskMessage);
		return undefined as never;
	});
});

afterAll(() => vi.restoreAllMocks());

describe("reconciler with a backlog of 3,000 unfinished tasks", () => {
	it("hands each timed-out task over once per pass, reads a fixed number of rows, and ends every stuck task within the runs its batches promise", async () => {
		const prefix = "bound-";
		await seed(prefix, channelId, 40);
		expect(await stuck(prefix)).toEqual({
			timedOut: count("timedOut"),
			finished: count("finished"),
			runningDisturbed: 0,
			lost: count("lost"),
		});
		const runs: { rowsRead: number }[] = [];
		const mine = (ids: string[]) => ids.filter((id) => id.startsWith(`${prefix}timedOut-`));

		// Three runs before any message is consumed: each hands the next timed-out tasks after the
		// last one handed, never the same ones again, in messages a consumer invocation can bear.
		const passes: string[][] = [];
		for (let i = 0; i < 3; i++) {
			const { handed, messages, rowsRead } = await run(SMALL);
			runs.push({ rowsRead });
			passes.push(mine(handed));
			for (const m of messages) {
				expect(m.taskIds.length).toBeLessThanOrEqual(TIMEOUT_IDS_PER_MESSAGE);
				expect(m.failReason).toBe("timed out after 30 minutes");
			}
		}
		const handedOnce = passes.flat();
		expect(new Set(handedOnce).size).toBe(handedOnce.length);
		expect(handedOnce.length).toBe(count("timedOut"));
		expect(passes[0].length).toBe(SMALL.timedOut);

		// One of them ends normally between its hand-off and the consumer: it stays a SUCCESS.
		const finishing = passes[0][7];
		expect(await taskObject(env, finishing).apply(finishing, { status: "SUCCESS", progress: "100%" })).toMatchObject({
			applied: true,
		});

		// The third run reached the end, so the fourth starts over from the oldest: the tasks whose
		// messages are still waiting are handed again, which must be harmless.
		const again = await run(SMALL);
		runs.push({ rowsRead: again.rowsRead });
		expect(mine(again.handed)).toEqual(handedOnce.filter((id) => id !== finishing).slice(0, SMALL.timedOut));

		await drain();
		expect(await endedTimedOut(prefix)).toEqual([
			// One accepted change each (version 1 -> 2): one end, so one refund and one callback.
			{ status: "FAILURE", version: 2, n: count("timedOut") - 1 },
			{ status: "SUCCESS", version: 2, n: 1 },
		]);
		expect(await balance()).toBe(count("timedOut") - 1);

		// The walk passes every in-flight task once in this many runs; the rest is done by then.
		const inFlight = TASKS - count("lost");
		const promised = Math.ceil(inFlight / SMALL.walk);
		let left = await stuck(prefix);
		while (runs.length < promised + 1 && (left.timedOut || left.finished || left.lost)) {
			runs.push({ rowsRead: (await run(SMALL)).rowsRead });
			await drain();
			left = await stuck(prefix);
		}
		expect(left).toEqual({ timedOut: 0, finished: 0, runningDisturbed: 0, lost: 0 });
		expect(runs.length).toBeLessThanOrEqual(promised + 1);
		// Far below the 3,000-row backlog, and the same bound at any backlog.
		for (const r of runs) expect(r.rowsRead).toBeLessThanOrEqual(rowsPerRun(SMALL));
		expect(rowsPerRun(SMALL)).toBeLessThan(TASKS / 3);
		// Nothing was ended twice by the later runs either.
		expect(await endedTimedOut(prefix)).toEqual([
			{ status: "FAILURE", version: 2, n: count("timedOut") - 1 },
			{ status: "SUCCESS", version: 2, n: 1 },
		]);
	}, 120_000);

	it("with the production batch, hands 600 timed-out tasks over in one run and its messages end them all", async () => {
		const prefix = "bound2-";
		await seed(prefix, channelId, 50);
		const before = await balance();
		const first = await run(RECONCILE_BATCH);
		const handed = first.handed.filter((id) => id.startsWith(`${prefix}timedOut-`));
		expect(new Set(handed).size).toBe(count("timedOut"));
		expect(first.messages.every((m) => m.taskIds.length <= TIMEOUT_IDS_PER_MESSAGE)).toBe(true);
		expect(first.rowsRead).toBeLessThanOrEqual(rowsPerRun(RECONCILE_BATCH));
		await drain();
		expect((await stuck(prefix)).timedOut).toBe(0);
		expect(await endedTimedOut(prefix)).toEqual([{ status: "FAILURE", version: 2, n: count("timedOut") }]);
		expect(await balance()).toBe((before ?? 0) + count("timedOut"));
		// The next run finds none of them: they left the partial index when they ended.
		const second = await run(RECONCILE_BATCH);
		expect(second.handed.filter((id) => id.startsWith(prefix))).toEqual([]);
	}, 120_000);
});
