/**
 * The cron benchmark's data set (bench/growth.mjs): `total` unfinished tasks over 100 users,
 * written like bench/lib/seed.mjs writes the list data set (one recursive-CTE INSERT through
 * `wrangler d1 execute --file`, before the gateway starts). Task n's public id says its kind:
 *  - `bl-late-n`  (n % 10 = 0, 10%): IN_PROGRESS, submitted 31 to 60 minutes ago: past the
 *    30-minute timeout, so the cron must fail it;
 *  - `bl-lost-n`  (n % 100 = 1, 1%): NOT_START, submitted 1 to 20 minutes ago, never sent (its
 *    queue message lost): the cron must re-queue it; the consumer then submits it upstream;
 *  - `bl-done-n`  (n % 100 = 2, 1%): IN_PROGRESS, under 10 minutes old, finished upstream but
 *    nobody heard (its poll messages lost): the cron's walk finds it and records SUCCESS;
 *  - `bl-run-n`   (the rest): IN_PROGRESS, under 10 minutes old (so none reaches the 30-minute
 *    timeout while the bench runs), the upstream still answers 50%: healthy, nothing to do.
 * Tasks of channel 1, the bench's fake upstream at `upstreamUrl` (bench/growth.mjs answers it).
 * Plus `total / 10` idempotency records older than their 24 hours, for the cron's clean-up.
 */

export const BACKLOG_KINDS = {
	late: "past the timeout: must end FAILURE",
	lost: "NOT_START, queue message lost: must be re-queued and leave NOT_START",
	done: "finished upstream, unheard: the walk must record SUCCESS",
	run: "healthy, the upstream answers 50%: nothing to do",
};

/** Which kind task n is (the SQL below uses the same rule). */
export function backlogKind(n) {
	if (n % 10 === 0) return "late";
	if (n % 100 === 1) return "lost";
	if (n % 100 === 2) return "done";
	return "run";
}

/** How many tasks of each kind `total` holds. */
export function backlogCounts(total) {
	const counts = { late: 0, lost: 0, done: 0, run: 0 };
	for (let n = 1; n <= total; n++) counts[backlogKind(n)] += 1;
	return counts;
}

export function backlogSql(total, nowMs, upstreamUrl) {
	const now = Math.trunc(nowMs);
	const kind = `CASE WHEN n % 10 = 0 THEN 'late' WHEN n % 100 = 1 THEN 'lost' WHEN n % 100 = 2 THEN 'done' ELSE 'run' END`;
	const minute = 60_000;
	// Spread over their windows by n, so oldest-first and by-id orders differ.
	const submit = `CASE kind
    WHEN 'late' THEN ${now} - ${31 * minute} - (n * 7919) % ${29 * minute}
    WHEN 'lost' THEN ${now} - ${minute} - (n * 7919) % ${19 * minute}
    ELSE ${now} - (n * 7919) % ${10 * minute} - 1000 END`;
	return `-- mj-edge bench: a backlog of ${total} unfinished tasks (bench/lib/backlog.mjs)
INSERT INTO channels (id, name, base_url, secret, weight, enabled, disabled_reason, failure_count, created_at, updated_at)
VALUES (1, 'bench-backlog-upstream', '${upstreamUrl}', 'bench', 1, 1, '', 0, ${now}, ${now});

INSERT INTO users (id, sub, role, quota, task_count, album_count, last_submit_time, created_at)
WITH RECURSIVE u(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM u WHERE i < 100)
SELECT i, 'bench-backlog-' || i, 'user', 1000000, 0, 0, 0, ${now - 86_400_000} FROM u;

INSERT INTO tasks (id, public_id, user_id, user_seq, task_seq, action, prompt, prompt_en, status, progress, channel_id,
  upstream_id, submit_time, start_time, updated_at, version, quota)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ${total}),
k(n, kind) AS (SELECT n, ${kind} FROM seq),
t(n, kind, submit) AS (SELECT n, kind, ${submit} FROM k)
SELECT n, 'bl-' || kind || '-' || n, 1 + n % 100, 1 + n / 100, n, 'IMAGINE',
  'bench backlog ' || n || ' a lighthouse at dusk', 'bench backlog ' || n,
  CASE kind WHEN 'lost' THEN 'NOT_START' ELSE 'IN_PROGRESS' END,
  CASE kind WHEN 'lost' THEN '0%' ELSE '50%' END,
  CASE kind WHEN 'lost' THEN NULL ELSE 1 END,
  CASE kind WHEN 'lost' THEN NULL ELSE kind || '-' || n END,
  submit, CASE kind WHEN 'lost' THEN NULL ELSE submit + 1000 END, submit + 1000, 1, 0
FROM t;

UPDATE users SET task_count = (SELECT COUNT(*) FROM tasks WHERE user_id = users.id),
  last_submit_time = (SELECT MAX(submit_time) FROM tasks WHERE user_id = users.id);
INSERT INTO counters (name, value) VALUES ('tasks', ${total});

INSERT INTO idempotency_keys (user_id, key, fingerprint, response_status, response_body, response_type, created_at)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ${Math.max(1, Math.floor(total / 10))})
SELECT 1 + n % 100, 'bench-key-' || n, 'bench', 200, '{}', 'application/json', ${now} - 2 * 86400000 - n FROM seq;
`;
}

/** Per kind: how many are still stuck (late not FAILURE, lost still NOT_START, done not SUCCESS). */
export const STUCK_SQL = `SELECT
  (SELECT COUNT(*) FROM tasks WHERE public_id >= 'bl-late-' AND public_id < 'bl-late.' AND status <> 'FAILURE') AS late,
  (SELECT COUNT(*) FROM tasks WHERE public_id >= 'bl-lost-' AND public_id < 'bl-lost.' AND status = 'NOT_START') AS lost,
  (SELECT COUNT(*) FROM tasks WHERE public_id >= 'bl-done-' AND public_id < 'bl-done.' AND status <> 'SUCCESS') AS done,
  (SELECT COUNT(*) FROM tasks WHERE public_id >= 'bl-run-' AND public_id < 'bl-run.' AND status <> 'IN_PROGRESS') AS runDisturbed,
  (SELECT COUNT(*) FROM tasks WHERE status IN ('NOT_START', 'SUBMITTED', 'IN_PROGRESS', 'MODAL')) AS unfinished,
  (SELECT COUNT(*) FROM idempotency_keys) AS idempotencyKeys`;
