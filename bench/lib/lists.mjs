/**
 * The seed-001 list benchmark: what one page of GET /api/mj/self and GET /api/mj/ costs in D1
 * on the data set of bench/lib/seed.mjs. Each case is one request to a gateway started with
 * `--var D1_STATS:true`; its `x-d1-stats` header gives the D1 queries, their summed
 * meta.rows_read and every read's EXPLAIN QUERY PLAN.
 *
 * Judged per case (see bench/README.md):
 *  - result: the expected total, a full page and the expected newest task on it;
 *  - rows: rows_read <= page_size + 2 + the count's cost, where the count costs 1 row for an
 *    unfiltered list (the user's task_count or the tasks counter) and, for a filtered one,
 *    one row per task it counts (an index-only count visits each matching index entry once);
 *  - plan: no step scans a table without an index (`SCAN tasks`) and none builds a temporary
 *    B-tree (`USE TEMP B-TREE FOR ORDER BY`, ...). `SCAN tasks USING INDEX x` walks an index
 *    in the order the query returns rows and stops at its LIMIT; the rows check is what shows
 *    it stopped early, so on a case without a rows target such a step is only reported.
 */
import { readBody } from "./api.mjs";
import { BIG_USER_TASKS, CHANNELS, publicId, seedModel, TASKS } from "./seed.mjs";

const DAY_S = 86_400;

/** The cursor of the list API (src/routes/cursor.ts): base64 of "<submit ms>.<id>", no padding. */
export const encodeCursor = (submitTime, id) =>
	Buffer.from(`${submitTime}.${id}`).toString("base64").replace(/=+$/, "");

/**
 * The cases, with what each must answer. `targeted` cases are the issue's targets; the others
 * are printed for information (their plans are still judged).
 */
export function listCases({ endMs, pageSize = 20 }) {
	const model = seedModel(endMs);
	const size = `page_size=${pageSize}`;
	// 10 days, 20 to 30 days before the newest task: ~5,000 of user 1's tasks, ~10,000 in all.
	const endS = Math.floor(endMs / 1000);
	const from = endS - 30 * DAY_S;
	const to = endS - 20 * DAY_S;
	const range = `start_timestamp=${from}&end_timestamp=${to}`;
	const rangeMs = [from * 1000, to * 1000 + 999];
	// The newest task in the range, and user 1's (the odd n).
	const lastN = model.lastAtOrBefore(rangeMs[1]);
	const userOneRangeNewest = lastN % 2 === 1 ? lastN : lastN - 1;
	// user 1's 40,000 newest tasks end at seq 10,001; the cursor continues after it.
	const deepSeq = BIG_USER_TASKS - 40_000 + 1;
	const deepN = model.bigUserTask(deepSeq);
	const deepCursor = encodeCursor(model.submitTime(deepN), deepN);
	const unfiltered = 1;
	const selfRangeTotal = model.bigUserCountBetween(...rangeMs);
	const adminRangeTotal = model.countBetween(...rangeMs);
	return [
		{
			name: "self p=1",
			who: "user",
			path: `/api/mj/self?${size}`,
			total: BIG_USER_TASKS,
			first: publicId(model.bigUserTask(BIG_USER_TASKS)),
			countCost: unfiltered,
			targeted: true,
		},
		{
			name: "admin p=1",
			who: "admin",
			path: `/api/mj/?${size}`,
			total: TASKS,
			first: publicId(TASKS),
			countCost: unfiltered,
			targeted: true,
		},
		{
			name: "self p=1, time range",
			who: "user",
			path: `/api/mj/self?${size}&${range}`,
			total: selfRangeTotal,
			first: publicId(userOneRangeNewest),
			countCost: selfRangeTotal,
			targeted: true,
		},
		{
			name: "admin p=1, time range",
			who: "admin",
			path: `/api/mj/?${size}&${range}`,
			total: adminRangeTotal,
			first: publicId(lastN),
			countCost: adminRangeTotal,
			targeted: true,
		},
		{
			name: "admin p=1, channel_id=1",
			who: "admin",
			path: `/api/mj/?${size}&channel_id=1`,
			// Task n is on channel 1 + n % CHANNELS: channel 1 has the multiples of CHANNELS.
			total: Math.floor(TASKS / CHANNELS),
			first: publicId(TASKS - (TASKS % CHANNELS)),
			countCost: Math.floor(TASKS / CHANNELS),
			targeted: true,
		},
		{
			name: "self cursor 40,000 deep",
			who: "user",
			path: `/api/mj/self?${size}&cursor=${deepCursor}`,
			total: BIG_USER_TASKS,
			first: publicId(model.bigUserTask(deepSeq - 1)),
			countCost: unfiltered,
			targeted: true,
		},
		{
			name: "self p=100",
			who: "user",
			path: `/api/mj/self?${size}&p=100`,
			total: BIG_USER_TASKS,
			first: publicId(model.bigUserTask(BIG_USER_TASKS - 99 * pageSize)),
			countCost: unfiltered,
			skipped: 99 * pageSize,
			targeted: false,
		},
		// "rows read <= page_size + 2 at any p" for the unfiltered admin list: deep pages too.
		{
			name: "admin p=100",
			who: "admin",
			path: `/api/mj/?${size}&p=100`,
			total: TASKS,
			first: publicId(TASKS - 99 * pageSize),
			countCost: unfiltered,
			skipped: 99 * pageSize,
			targeted: true,
		},
		{
			name: "admin p=1000",
			who: "admin",
			path: `/api/mj/?${size}&p=1000`,
			total: TASKS,
			first: publicId(TASKS - 999 * pageSize),
			countCost: unfiltered,
			skipped: 999 * pageSize,
			targeted: true,
		},
	].map((c) => ({ ...c, pageSize, maxRowsRead: pageSize + 2 + c.countCost }));
}

/** Plan steps that break the rules, and index walks (`SCAN x USING INDEX`) for the rows check. */
export function judgePlans(plans) {
	const bad = [];
	const walks = [];
	for (const step of plans.flatMap((plan) => plan.split(" | "))) {
		if (/TEMP B-TREE/.test(step)) bad.push(step);
		else if (/^SCAN (?!CONSTANT ROW)/.test(step)) (/ USING (COVERING )?INDEX /.test(step) ? walks : bad).push(step);
	}
	return { bad, walks };
}

async function getJson(base, path, token) {
	const started = performance.now();
	const res = await fetch(`${base}${path}`, {
		headers: { authorization: `Bearer ${token}` },
		signal: AbortSignal.timeout(30_000),
	});
	const ms = performance.now() - started;
	const body = await readBody(res);
	const header = res.headers.get("x-d1-stats");
	return { status: res.status, body, ms, stats: header ? JSON.parse(header) : undefined };
}

/**
 * Runs every case once against `base` (a gateway on the seeded state with D1_STATS on).
 * `tokens` = { user, admin }. Each token makes one unmeasured request first: a user's first
 * request in an isolate also upserts its users row.
 */
export async function measureLists({ base, tokens, endMs, pageSize = 20 }) {
	const warm = {};
	for (const [who, token] of Object.entries(tokens)) {
		const path = who === "admin" ? "/api/mj/?page_size=1" : "/api/mj/self?page_size=1";
		const res = await getJson(base, path, token);
		if (res.status !== 200) throw new Error(`GET ${path} as ${who} answered ${res.status} ${JSON.stringify(res.body)}`);
		if (!res.stats) throw new Error("no x-d1-stats header: is the server running with --var D1_STATS:true?");
		warm[who] = { queries: res.stats.queries, rowsRead: res.stats.rowsRead, rowsWritten: res.stats.rowsWritten };
	}
	const results = [];
	for (const c of listCases({ endMs, pageSize })) {
		const res = await getJson(base, c.path, tokens[c.who]);
		if (res.status !== 200 || !res.stats) {
			throw new Error(`GET ${c.path} as ${c.who} answered ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
		}
		const data = res.body.data;
		const got = { total: data.total, items: data.items.length, first: data.items[0]?.mj_id };
		const resultOk = got.total === c.total && got.items === pageSize && got.first === c.first;
		const { queries, rowsRead, rowsWritten, plans } = res.stats;
		const rowsOk = rowsRead <= c.maxRowsRead;
		const { bad, walks } = judgePlans(plans);
		const planOk = bad.length === 0;
		results.push({
			...c,
			got,
			resultOk,
			queries,
			rowsRead,
			rowsWritten,
			rowsOk,
			plans,
			badSteps: bad,
			indexWalks: walks,
			planOk,
			ms: res.ms,
			// Informational cases are judged on their plans (and answers) only.
			pass: resultOk && planOk && (!c.targeted || rowsOk),
		});
	}
	return { warm, cases: results, pass: results.every((r) => r.pass) };
}

/** Lines for the summary: one block per case. */
export function listLines(report) {
	const lines = [];
	const w = Math.max(...report.cases.map((r) => r.name.length));
	for (const r of report.cases) {
		const verdict = r.pass ? "PASS" : "FAIL";
		const why = [
			r.resultOk
				? ""
				: `wrong answer: total ${r.got.total} (want ${r.total}), ${r.got.items} items, first ${r.got.first} (want ${r.first})`,
			r.planOk ? "" : `plan: ${r.badSteps.join("; ")}`,
			r.targeted && !r.rowsOk ? "too many rows" : "",
		]
			.filter(Boolean)
			.join("; ");
		const limit = r.targeted
			? `<= ${r.maxRowsRead} (${r.pageSize} + 2 + count ${r.countCost})`
			: `info (page_size + 2 + count = ${r.maxRowsRead})`;
		const offset = !r.rowsOk && r.skipped ? ` (an OFFSET walks the ${r.skipped} rows before the page)` : "";
		lines.push(
			`${r.name.padEnd(w)}  rows_read ${String(r.rowsRead).padStart(6)}  ${limit}  queries ${r.queries}  total ${r.got.total}  ${verdict}${why ? `  (${why})` : ""}${offset}`,
		);
		for (const plan of r.plans) lines.push(`${" ".repeat(w)}    plan: ${plan}`);
	}
	return lines;
}
