/**
 * The list benchmark's data set: 100,000 finished tasks over 100 users, one of whom holds
 * 50,000, written straight into the local D1 database (SQLite under the persist directory)
 * by one `wrangler d1 execute --file` before the server starts. Rows come from a recursive
 * CTE, not from 100,000 literal rows.
 *
 * Task n (1..TASKS) has id n and submit_time END_MS - (TASKS - n) * STEP_MS, so ids and
 * submit times rise together, one task every 86.4 s over 100 days. Odd n belong to user 1
 * (user_seq (n + 1) / 2); even n are dealt round-robin to users 2..100. Every user's tasks
 * therefore have user_seq 1..k in submit order and strictly increasing submit times, as
 * insertTask would have written them, and users.task_count / last_submit_time and the
 * ('tasks', TASKS) counter match. The functions below answer "which task is where" from
 * the same formulas, so the bench knows expected totals and cursors without asking D1.
 */

export const TASKS = 100_000;
export const USERS = 100;
/** User 1's share: every odd n. */
export const BIG_USER_TASKS = TASKS / 2;
export const STEP_MS = 86_400;
/** Channels 1..3 hold the seeded tasks; they are disabled, so nothing is ever sent to them. */
export const CHANNELS = 3;
export const userSub = (userId) => `bench-user-${userId}`;
export const publicId = (n) => `bench-${String(n).padStart(6, "0")}`;

const OTHERS = USERS - 1;

/** The data set's clock: `endMs` is the submit time of task TASKS. */
export function seedModel(endMs) {
	const submitTime = (n) => endMs - (TASKS - n) * STEP_MS;
	/** Task n of user 1's seq `seq` (1 = oldest). */
	const bigUserTask = (seq) => 2 * seq - 1;
	/** How many of user 1's tasks have fromMs <= submit_time <= toMs. */
	const bigUserCountBetween = (fromMs, toMs) => {
		let count = 0;
		for (let seq = 1; seq <= BIG_USER_TASKS; seq++) {
			const t = submitTime(bigUserTask(seq));
			if (t >= fromMs && t <= toMs) count++;
		}
		return count;
	};
	/** The newest task n with submit_time <= ms (0 when none). */
	const lastAtOrBefore = (ms) => Math.max(0, Math.min(TASKS, Math.floor(TASKS - (endMs - ms) / STEP_MS)));
	/** How many tasks (all users) have fromMs <= submit_time <= toMs. */
	const countBetween = (fromMs, toMs) => Math.max(0, lastAtOrBefore(toMs) - lastAtOrBefore(fromMs - 1));
	return { endMs, submitTime, bigUserTask, bigUserCountBetween, lastAtOrBefore, countBetween };
}

/** Task count of user `userId` in the data set. */
export function tasksOf(userId) {
	if (userId === 1) return BIG_USER_TASKS;
	const share = TASKS / 2;
	return Math.floor(share / OTHERS) + (userId - 2 < share % OTHERS ? 1 : 0);
}

/**
 * The SQL that writes the data set into a freshly migrated database. `endMs` must be a
 * whole number of milliseconds; it is written into the SQL as a literal.
 */
export function seedSql(endMs) {
	const end = Math.trunc(endMs);
	const time = (n) => `${end} - (${TASKS} - ${n}) * ${STEP_MS}`;
	// For task n: its user and its user_seq (user 1 takes odd n, users 2..100 the even ones).
	const userOf = (n) => `CASE WHEN ${n} % 2 = 1 THEN 1 ELSE 2 + ((${n} / 2 - 1) % ${OTHERS}) END`;
	const seqOf = (n) => `CASE WHEN ${n} % 2 = 1 THEN (${n} + 1) / 2 ELSE (${n} / 2 - 1) / ${OTHERS} + 1 END`;
	return `-- mj-edge bench: ${TASKS} tasks over ${USERS} users (bench/lib/seed.mjs)
INSERT INTO channels (id, name, base_url, secret, weight, enabled, disabled_reason, failure_count, created_at, updated_at)
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ${CHANNELS})
SELECT i, 'bench-seed-' || i, 'http://bench-seed-' || i || '.invalid', '', 1, 0, 'bench data only', 0, ${end}, ${end} FROM c;

INSERT INTO tasks (id, public_id, user_id, user_seq, task_seq, action, prompt, prompt_en, status, progress, channel_id,
  upstream_id, upstream_image_url, submit_time, start_time, finish_time, updated_at, version, quota)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ${TASKS})
SELECT n, printf('bench-%06d', n), ${userOf("n")}, ${seqOf("n")}, n, 'IMAGINE',
  'bench prompt ' || n || ' a lighthouse at dusk, oil painting', 'bench prompt ' || n, 'SUCCESS', '100%',
  1 + n % ${CHANNELS}, 'up-' || n, 'https://cdn.bench.invalid/' || n || '.png',
  ${time("n")}, ${time("n")} + 1000, ${time("n")} + 30000, ${time("n")} + 30000, 1, 100
FROM seq;

INSERT INTO users (id, sub, role, quota, task_count, album_count, last_submit_time, created_at)
SELECT user_id, 'bench-user-' || user_id, 'user', 1000000, COUNT(*), 0, MAX(submit_time), ${end - TASKS * STEP_MS}
FROM tasks GROUP BY user_id;

INSERT INTO counters (name, value) VALUES ('tasks', (SELECT COUNT(*) FROM tasks));
`;
}

/** Counts that should hold after seedSql, as one query for `wrangler d1 execute --json`. */
export const SEED_CHECK_SQL = `SELECT
  (SELECT COUNT(*) FROM tasks) AS tasks,
  (SELECT COUNT(*) FROM users WHERE sub LIKE 'bench-user-%') AS users,
  (SELECT task_count FROM users WHERE id = 1) AS user1_tasks,
  (SELECT MIN(task_count) FROM users WHERE id BETWEEN 2 AND ${USERS}) AS others_min,
  (SELECT MAX(task_count) FROM users WHERE id BETWEEN 2 AND ${USERS}) AS others_max,
  (SELECT SUM(task_count) FROM users) AS task_count_sum,
  (SELECT value FROM counters WHERE name = 'tasks') AS counter,
  (SELECT COUNT(*) FROM channels) AS channels,
  (SELECT COUNT(*) FROM users AS u WHERE u.last_submit_time <> (SELECT MAX(submit_time) FROM tasks WHERE user_id = u.id)) AS bad_last_submit,
  (SELECT COUNT(*) FROM users AS u WHERE u.task_count <> (SELECT MAX(user_seq) FROM tasks WHERE user_id = u.id)) AS bad_seq`;

/** What SEED_CHECK_SQL must answer. */
export const SEED_EXPECTED = {
	tasks: TASKS,
	users: USERS,
	user1_tasks: BIG_USER_TASKS,
	others_min: tasksOf(USERS),
	others_max: tasksOf(2),
	task_count_sum: TASKS,
	counter: TASKS,
	channels: CHANNELS,
	bad_last_submit: 0,
	bad_seq: 0,
};

/** The unfinished task the workerd phase fetches for its `fetchPending` row: the newest one of `sub`, if any. */
export const UNFINISHED_TASK_SQL = `SELECT t.public_id FROM tasks AS t JOIN users AS u ON u.id = t.user_id
WHERE u.sub = ? AND t.status IN ('NOT_START', 'SUBMITTED', 'IN_PROGRESS') ORDER BY t.id DESC LIMIT 1`;

/**
 * Statements (SQL, bindings) that give `sub`, an existing user, one IN_PROGRESS task, kept as
 * insertTask keeps the books (users.task_count and last_submit_time, the tasks counter, user_seq,
 * task_seq). For a user outside bench-user-1..100 it changes none of the counts the list cases
 * check, and the workerd phase runs after them. No queue message or Durable Object state goes
 * with it, so nothing ever moves it on: its fetch stays a fetch of an unfinished task.
 */
export function unfinishedTaskStatements(sub, publicId, nowMs) {
	return [
		[
			"UPDATE users SET task_count = task_count + 1, last_submit_time = MAX(last_submit_time + 1, ?) WHERE sub = ?",
			[nowMs, sub],
		],
		["INSERT INTO counters (name, value) VALUES ('tasks', 1) ON CONFLICT (name) DO UPDATE SET value = value + 1", []],
		[
			`INSERT INTO tasks (public_id, user_id, user_seq, task_seq, action, prompt, prompt_en, status, progress,
  upstream_id, submit_time, start_time, updated_at, version, quota)
SELECT ?, id, task_count, (SELECT value FROM counters WHERE name = 'tasks'), 'IMAGINE', 'bench unfinished task',
  'bench unfinished task', 'IN_PROGRESS', '50%', ?, last_submit_time, last_submit_time, last_submit_time, 1, 0
FROM users WHERE sub = ?`,
			[publicId, `bench-unfinished-${publicId}`, sub],
		],
	];
}
