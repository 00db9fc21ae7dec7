/**
 * Per-route ceilings: a bare Worker (no Hono, no drizzle, no zod) that issues, by hand through
 * the D1 binding, the very statements one request of a route issues, in the same order and with
 * the same session use, on the gateway's own D1 database (it runs in the gateway's workerd
 * process, bound to the same database): what the route would cost if the gateway's own code cost
 * nothing. The SQL is what the gateway sends (drizzle's text before the hand-built statements,
 * the hand-built text after: SQLite runs the same plan for both). Each answer is the rows as JSON,
 * the D1 bookmark in `x-d1-bookmark`, as the routes answer.
 *
 * Per request, every authenticated route first checks `users.disabled_at` on the primary (the
 * token was seen before in the isolate: src/auth/middleware.ts), read at most once a second per
 * user as the gateway does (ENABLED_TRUST_MS in src/db/users.ts); then, on a session opened at
 * "first-unconstrained" (no bookmark was sent):
 *  - list002: the user's newest 21 rows by (submit_time, id) (tasks_user_time);
 *  - self:    the users row joined to the page's user_seq range (tasks_user_seq);
 *  - adminP1 / adminP1000: the 'tasks' counter joined to the page's task_seq range, newest first,
 *    LIMIT 21 (tasks_seq);
 *    these three read only the task columns their views show (LIST_COLUMNS, as the gateway's
 *    SEED002_ROWS and SEED001_ROWS in src/tasks/views/; test/integration/hand-reads.test.ts
 *    fails when these statements and the gateway's differ by a character);
 *  - album:   the users row joined to the page's album_seq range, then the page's templates by
 *    primary key, UNION ALL'ed into one statement;
 *  - fetchPending: the task by (public_id, user_id) (an unfinished task is never cached);
 *  - submit:  first the SUBMIT_LIMITER call with the gateway's key (`user:<id>`), then the checks
 *    (unfinished count, capped, and an enabled channel) beside the banned words' version on the
 *    primary, then one batch (charge, counter, insert, count after), then one message on
 *    TASK_QUEUE. Not included: the first-request-per-isolate work (banned words, simulator channel).
 *
 * The SUBMIT_LIMITER call is in the submit's ceiling since 5 December 2026 (issue 20), as platform
 * work like the queue send, not the gateway's code: Miniflare runs a rate-limit binding as a fetch
 * to a Durable Object that reads and rewrites an on-disk SQLite row per call, measured at ~0.4 ms
 * of the workerd process's CPU per call (`/limiter` 0.47-0.52 ms/req against `/nothing` 0.06-0.07,
 * below the limit; bench/README.md, "The submit route against its ceiling"), about a third of what
 * separated the route from its ceiling (5.72 / 4.12 CPU ms/req). The ceiling's binding has the
 * gateway's limit, period and key shape, in a namespace of its own (bench/lib/workerd.mjs), so its
 * calls do not use up the bench users' allowance on the route. `limiter=0` leaves the call out, and
 * `/limiter` and `/nothing` answer the call alone and nothing at all: information, for measuring it.
 */

/** The tasks columns in schema order: what `select()` of a task row reads. */
export const TASK_COLUMNS = [
	"id",
	"public_id",
	"user_id",
	"user_seq",
	"task_seq",
	"action",
	"prompt",
	"prompt_en",
	"final_prompt",
	"task_index",
	"parent_id",
	"client_state",
	"notify_hook",
	"status",
	"progress",
	"description",
	"fail_reason",
	"upstream_id",
	"channel_id",
	"upstream_image_url",
	"image_key",
	"image_type",
	"video_url",
	"video_urls",
	"buttons",
	"submit_time",
	"start_time",
	"finish_time",
	"updated_at",
	"version",
	"quota",
	"refunded",
	"style_id",
	"origin_key",
	"album_seq",
	"mode",
	"bot_type",
	"custom_id",
	"inputs",
	"options",
	"video_keys",
	"seed",
	"width",
	"height",
	"hook_events",
];

/**
 * The task columns each list reads (the gateway's SEED002_ROWS and SEED001_ROWS, in schema order):
 * list002 shows seed 002's task, self and admin seed 001's item.
 */
export const LIST_COLUMNS = {
	seed002: TASK_COLUMNS.filter((c) =>
		[
			"id",
			"public_id",
			"action",
			"prompt",
			"prompt_en",
			"final_prompt",
			"task_index",
			"parent_id",
			"client_state",
			"notify_hook",
			"status",
			"progress",
			"description",
			"upstream_image_url",
			"image_key",
			"buttons",
			"submit_time",
			"finish_time",
			"custom_id",
		].includes(c),
	),
	seed001: TASK_COLUMNS.filter((c) =>
		[
			"id",
			"public_id",
			"user_id",
			"user_seq",
			"action",
			"prompt",
			"prompt_en",
			"status",
			"progress",
			"fail_reason",
			"channel_id",
			"upstream_image_url",
			"image_key",
			"video_url",
			"video_urls",
			"submit_time",
			"start_time",
			"finish_time",
			"quota",
		].includes(c),
	),
};

const UNFINISHED_COUNT = `(SELECT count(*) FROM (select 1 from "tasks" where ("tasks"."user_id" = ? and "tasks"."status" in (?, ?, ?, ?)) limit ?) "unfinished")`;

/**
 * The submit's insert as src/db/tasks.ts builds it (every column bound but the computed ones) and,
 * per column, the JavaScript expression of its parameters in the ceiling Worker.
 */
const INSERT_VALUES = {
	id: ["null", ""],
	public_id: ["?", "publicId"],
	user_id: ["?", "uid"],
	user_seq: ["(SELECT task_count FROM users WHERE id = ? AND quota >= 0)", "uid"],
	task_seq: ["(SELECT value FROM counters WHERE name = ?)", '"tasks"'],
	action: ["?", '"IMAGINE"'],
	prompt: ["?", "PROMPT"],
	status: ["?", '"NOT_START"'],
	progress: ["?", '"0%"'],
	description: ["?", '"/imagine " + PROMPT'],
	submit_time: [
		`(SELECT last_submit_time FROM users WHERE id = ? AND ${UNFINISHED_COUNT} < ?)`,
		"uid, uid, ...UNFINISHED, cap, cap",
	],
	updated_at: ["(SELECT ? FROM users WHERE id = ? AND disabled_at IS NULL)", "now, uid"],
	quota: ["?", "1"],
	hook_events: ["?", '"final"'],
};
/** The defaults drizzle (and the hand-built insert) bind for the columns a submit leaves out. */
const INSERT_DEFAULTS = {
	prompt_en: '""',
	final_prompt: '""',
	client_state: '""',
	notify_hook: '""',
	fail_reason: '""',
	upstream_image_url: '""',
	video_url: '""',
	video_urls: '"[]"',
	buttons: '"[]"',
	version: "0",
	refunded: "0",
	mode: '""',
	bot_type: '""',
	custom_id: '""',
	inputs: '"[]"',
	options: '"{}"',
	video_keys: '"[]"',
	seed: '""',
};
const INSERT = `insert into "tasks" (${TASK_COLUMNS.map((c) => `"${c}"`).join(", ")}) values (${TASK_COLUMNS.map((c) => INSERT_VALUES[c]?.[0] ?? "?").join(", ")}) returning "submit_time"`;
const INSERT_ARGS = TASK_COLUMNS.filter((c) => c !== "id")
	.map((c) => INSERT_VALUES[c]?.[1] ?? INSERT_DEFAULTS[c] ?? "null")
	.join(", ");

/** The statements the ceiling Worker issues, by name. */
export function ceilingStatements() {
	const all = TASK_COLUMNS.map((c) => `"${c}"`).join(", ");
	const qualified = (columns) => columns.map((c) => `"tasks"."${c}"`).join(", ");
	const seed002 = qualified(LIST_COLUMNS.seed002);
	const seed001 = qualified(LIST_COLUMNS.seed001);
	return {
		disabled: `select "disabled_at" from "users" where "users"."id" = ?`,
		list002: `select ${seed002} from "tasks" where "tasks"."user_id" = ? order by "tasks"."submit_time" desc, "tasks"."id" desc limit ?`,
		self: `select ${seed001}, "users"."task_count" from "users" left join "tasks" on ("tasks"."user_id" = "users"."id" and "tasks"."user_seq" <= "users"."task_count" - ? and "tasks"."user_seq" >= "users"."task_count" - ?) where "users"."id" = ?`,
		admin: `select ${seed001}, "counters"."value" from "counters" left join "tasks" on ("tasks"."task_seq" <= "counters"."value" - ? and "tasks"."task_seq" >= "counters"."value" - ?) where "counters"."name" = ? order by "tasks"."task_seq" desc limit ?`,
		album: `select "tasks"."id", "tasks"."public_id", "tasks"."album_seq", "tasks"."style_id", "tasks"."origin_key", "tasks"."image_key", "tasks"."upstream_image_url", "tasks"."fail_reason", "tasks"."status", "tasks"."submit_time" from "users" inner join "tasks" on ("tasks"."user_id" = "users"."id" and "tasks"."album_seq" <= "users"."album_count" - ? and "tasks"."album_seq" > "users"."album_count" - ?) where "users"."id" = ? order by "tasks"."album_seq" desc limit ?`,
		template: `select "id", "kind", "title", "cover_key", "image_key", "workflow_id", "prompt", "favorite_count", "is_audit", "pid", "sort", "author", "created_at", "updated_at" from "templates" where "templates"."id" = ?`,
		fetch: `select ${all} from "tasks" where ("tasks"."public_id" = ? and "tasks"."user_id" = ?)`,
		checks: `select (SELECT count(*) FROM (select 1 from "tasks" where ("tasks"."user_id" = ? and "tasks"."status" in (?, ?, ?, ?)) limit ?) "unfinished"), exists (select 1 from "channels" where "channels"."enabled" = ?) from "users" where "users"."id" = ?`,
		bannedVersion: `select "value" from "counters" where "counters"."name" = ?`,
		charge: `update "users" set "quota" = "users"."quota" - ?, "task_count" = "users"."task_count" + 1, "album_count" = "users"."album_count", "last_submit_time" = MAX("users"."last_submit_time" + 1, ?) where "users"."id" = ?`,
		counter: `insert into "counters" ("name", "value") values (?, ?) on conflict ("counters"."name") do update set "value" = "counters"."value" + 1`,
		insert: INSERT,
		after: `select ${UNFINISHED_COUNT} as "n" from "users" where "users"."id" = ?`,
	};
}

/** The ceiling Worker's source. */
export function ceilingWorker() {
	const statements = ceilingStatements();
	return `
const S = ${JSON.stringify(statements)};
const UNFINISHED = ["NOT_START", "SUBMITTED", "IN_PROGRESS", "MODAL"];
const LIMIT = 20;
const PROMPT = "bench submit a red fox";
const answer = (body, session) => new Response(JSON.stringify(body), {
	headers: { "content-type": "application/json", "x-d1-bookmark": session.getBookmark() ?? "" },
});
const enabledUntil = new Map();
async function signedIn(env, uid) {
	const now = Date.now();
	if ((enabledUntil.get(uid) ?? 0) > now) return;
	const row = await env.DB.prepare(S.disabled).bind(uid).raw();
	if (row[0]?.[0] != null) throw new Error("disabled");
	enabledUntil.set(uid, now + 1000);
}
export default {
	async fetch(request, env) {
		const url = new URL(request.url);
		const q = url.searchParams;
		const uid = Number(q.get("uid"));
		// Information, not ceilings: the submit's rate-limit call alone, and nothing at all.
		if (url.pathname === "/limiter") return Response.json(await env.SUBMIT_LIMITER.limit({ key: \`user:\${uid}\` }));
		if (url.pathname === "/nothing") return Response.json({});
		await signedIn(env, uid);
		const session = env.DB.withSession("first-unconstrained");
		switch (url.pathname) {
			case "/list002":
				return answer(await session.prepare(S.list002).bind(uid, LIMIT + 1).raw(), session);
			case "/self":
				return answer(await session.prepare(S.self).bind(0, LIMIT, uid).raw(), session);
			case "/admin": {
				const skip = (Number(q.get("p")) - 1) * LIMIT;
				return answer(await session.prepare(S.admin).bind(skip, skip + LIMIT, "tasks", LIMIT + 1).raw(), session);
			}
			case "/album": {
				const rows = await session.prepare(S.album).bind(0, LIMIT, uid, LIMIT).raw();
				const ids = [...new Set(rows.map((r) => r[3]).filter((id) => id != null))];
				const templates = ids.length === 0 ? [] : await session
					.prepare(ids.map(() => S.template).join(" union all "))
					.bind(...ids)
					.raw();
				return answer({ rows, templates }, session);
			}
			case "/fetch":
				return answer(await session.prepare(S.fetch).bind(q.get("id"), uid).raw(), session);
			case "/submit": {
				// As limitSubmits() (src/auth/rate-limit.ts), before anything else of the submit; a
				// refusal answers without writing, as the route's 429 does. \`limiter=0\` leaves the call
				// out: what it costs is the difference (bench/README.md, "The submit route").
				if (q.get("limiter") !== "0" && !(await env.SUBMIT_LIMITER.limit({ key: \`user:\${uid}\` })).success) {
					return new Response(JSON.stringify({ code: 429 }), { status: 429 });
				}
				const now = Date.now();
				const publicId = crypto.randomUUID();
				const cap = 100000000;
				const [[checks]] = await Promise.all([
					session.prepare(S.checks).bind(uid, ...UNFINISHED, cap, 1, uid).raw(),
					env.DB.prepare(S.bannedVersion).bind("banned_words").raw(),
				]);
				const results = await session.batch([
					session.prepare(S.charge).bind(1, now, uid),
					session.prepare(S.counter).bind("tasks", 1),
					session.prepare(S.insert).bind(${INSERT_ARGS}),
					session.prepare(S.after).bind(uid, ...UNFINISHED, cap + 1, uid),
				]);
				await env.TASK_QUEUE.send({ kind: "submit", taskId: publicId });
				return answer({ code: 1, result: publicId, checks, unfinished: results[3].results[0].n }, session);
			}
		}
		return new Response("no such ceiling", { status: 404 });
	},
};`;
}
