/**
 * The event log of a user's live-progress hub (src/durable/user-hub.ts), in that Durable Object's
 * own SQLite storage (not D1): the user's last events by seq, so a reconnecting client gets what it
 * missed, and a few settings of the hub. Every call is synchronous, which is what lets the hub send
 * a connection's opening events and register it with nothing slipping in between.
 */

export interface LoggedEvent {
	seq: number;
	/** The event's JSON as sent. */
	body: string;
}

export function createEventLog(sql: SqlStorage): void {
	sql.exec(
		`CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, task_id TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL);
		CREATE INDEX IF NOT EXISTS events_task ON events (task_id, seq);
		CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
	);
}

/** Appends an event and forgets all but the newest `keep`. */
export function appendEvent(
	sql: SqlStorage,
	event: { seq: number; taskId: string; version: number; body: string },
	keep: number,
): void {
	sql.exec(
		"INSERT INTO events (seq, task_id, version, body) VALUES (?, ?, ?, ?)",
		event.seq,
		event.taskId,
		event.version,
		event.body,
	);
	sql.exec("DELETE FROM events WHERE seq <= ?", event.seq - keep);
}

/** Events after `after`, oldest first; only `taskId`'s when given (events_task). */
export function eventsAfter(sql: SqlStorage, after: number, taskId?: string): LoggedEvent[] {
	const cursor = taskId
		? sql.exec<{ seq: number; body: string }>(
				"SELECT seq, body FROM events WHERE task_id = ? AND seq > ? ORDER BY seq",
				taskId,
				after,
			)
		: sql.exec<{ seq: number; body: string }>("SELECT seq, body FROM events WHERE seq > ? ORDER BY seq", after);
	return cursor.toArray().map((row) => ({ seq: row.seq, body: row.body }));
}

/** The seq range the log holds; both null when it is empty. The newest event is never pruned. */
export function logBounds(sql: SqlStorage): { oldest: number | null; newest: number | null } {
	return sql
		.exec<{ oldest: number | null; newest: number | null }>("SELECT min(seq) AS oldest, max(seq) AS newest FROM events")
		.one();
}

/** The task version of the task's latest logged event, -1 when none is logged. */
export function loggedVersion(sql: SqlStorage, taskId: string): number {
	const row = sql
		.exec<{ version: number }>("SELECT version FROM events WHERE task_id = ? ORDER BY seq DESC LIMIT 1", taskId)
		.toArray()[0];
	return row?.version ?? -1;
}

export function getSetting(sql: SqlStorage, key: string): string | undefined {
	return sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray()[0]?.value;
}

export function putSetting(sql: SqlStorage, key: string, value: string): void {
	sql.exec(
		"INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		key,
		value,
	);
}
