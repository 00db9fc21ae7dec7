#!/usr/bin/env node
// `npm run bench:storage`: bytes per task in D1 for realistic tasks, and from it how many tasks
// and how many days of a busy service fit in one D1 database (docs/scale.md quotes its output).
//
// A fresh local D1 database gets every migration, then N tasks shaped like a busy service's
// (prompts of 200–500 characters, their English, the final prompt, image links with Discord's
// query strings, buttons, follow-ups pointing at their parent, callbacks with their delivery log
// rows), written by one recursive-CTE INSERT per table. The database file is measured before and
// after; the difference over N is the cost of one task with its indexes, the same pages D1 bills.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { d1Execute, migrate } from "./lib/server.mjs";

const ROOT = resolve(import.meta.dirname, "..");
const TASKS = Number(process.env.STORAGE_TASKS ?? 20_000);
/** D1's size limit for one database (paid plan). */
const D1_LIMIT_BYTES = 10 * 1000 ** 3;
/** "A busy service" in the issue's words. */
const TASKS_PER_DAY = 100_000;
/** Callbacks per task with a notifyHook: every status and progress change (coalesced), then the end. */
const EVENTS_PER_HOOKED_TASK = 4;

/**
 * The local D1 database's pages by table and index (SQLite's dbstat, read with Node's own
 * node:sqlite, which also reads what is still in the WAL): what D1 bills as the database's size.
 */
function d1Pages(persistTo) {
	const dir = join(persistTo, "v3", "d1");
	const found = [];
	const walk = (path) => {
		for (const entry of readdirSync(path, { withFileTypes: true })) {
			const child = join(path, entry.name);
			if (entry.isDirectory()) walk(child);
			else if (entry.name.endsWith(".sqlite") && entry.name !== "metadata.sqlite") found.push(child);
		}
	};
	walk(dir);
	if (found.length !== 1) throw new Error(`expected one D1 database under ${dir}, found ${found.length}`);
	const db = new DatabaseSync(found[0], { readOnly: true });
	try {
		const { page_count: pages } = db.prepare("PRAGMA page_count").get();
		const { page_size: pageSize } = db.prepare("PRAGMA page_size").get();
		const byName = Object.fromEntries(
			db
				.prepare("SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name")
				.all()
				.map((row) => [row.name, row.bytes]),
		);
		const indexes = db.prepare("SELECT name, tbl_name FROM sqlite_schema WHERE type = 'index'").all();
		const of = (table) => ({
			table: byName[table] ?? 0,
			indexes: indexes.filter((i) => i.tbl_name === table).reduce((sum, i) => sum + (byName[i.name] ?? 0), 0),
		});
		return { total: pages * pageSize, tasks: of("tasks"), deliveries: of("deliveries") };
	} finally {
		db.close();
	}
}

// Text long enough to cut prompts of any length from, in the words prompts are made of.
const WORDS =
	"a lighthouse on a cliff at dusk, dramatic clouds, volumetric light, oil painting in the style of the old masters, " +
	"ultra detailed, 35mm film grain, cinematic composition, soft rim light, muted teal and orange palette, wide angle, " +
	"misty sea below, seagulls in flight, a lone figure in a red coat on the path, wet stones reflecting the lamp, " +
	"highly detailed textures, octane render, trending on artstation, golden hour haze, long exposure waves, " +
	"intricate ironwork railing, weathered white paint, distant fishing boats with lanterns, storm approaching";

/** One button as the tasks table keeps them (the midjourney-proxy shape). */
const button = (customId, label) =>
	JSON.stringify({ customId, emoji: "", label, type: 2, style: label.startsWith("U") ? 2 : 1 });
const hash = "0f3c9a7e-5b2d-4e8a-9c1f-7d6e5a4b3c2d";
const GRID_BUTTONS = `[${[1, 2, 3, 4].map((i) => button(`MJ::JOB::upsample::${i}::${hash}`, `U${i}`)).join(",")},${button(`MJ::JOB::reroll::0::${hash}::SOLO`, "")},${[1, 2, 3, 4].map((i) => button(`MJ::JOB::variation::${i}::${hash}`, `V${i}`)).join(",")}]`;
const UPSCALE_BUTTONS = `[${[
	"upsample_v6_2x_subtle::1",
	"upsample_v6_2x_creative::1",
	"high_variation::1",
	"low_variation::1",
	"pan_left::1",
	"pan_right::1",
	"pan_up::1",
	"pan_down::1",
	"outpaint::50",
	"outpaint::75",
]
	.map((id) => button(`MJ::JOB::${id}::${hash}::SOLO`, id.split("::")[0]))
	.concat([button(`MJ::CustomZoom::${hash}`, "Custom Zoom"), button(`MJ::Inpaint::1::${hash}::SOLO`, "Vary (Region)")])
	.join(",")}]`;
const sql = (text) => `'${text.replaceAll("'", "''")}'`;

/**
 * Task n: every fifth is a follow-up (upscale or variation) of the task before it; prompts are
 * 200–500 characters; a third were written in Chinese (prompt_en differs from prompt); half have
 * a notifyHook. Every task has finished with an image copied into R2.
 */
function seedSql(n) {
	const now = Date.now();
	return `INSERT INTO users (id, sub, role, quota, task_count, album_count, last_submit_time, created_at)
VALUES (1, 'storage-user', 'user', 1000000, ${n}, 0, ${now}, ${now});
INSERT INTO counters (name, value) VALUES ('tasks', ${n});
INSERT INTO tasks (public_id, user_id, user_seq, task_seq, action, prompt, prompt_en, final_prompt, task_index, parent_id,
  client_state, notify_hook, status, progress, description, fail_reason, upstream_id, channel_id, upstream_image_url,
  image_key, image_type, buttons, submit_time, start_time, finish_time, updated_at, version, quota, mode, bot_type, custom_id)
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ${n}),
shaped AS (SELECT n, n % 5 = 0 AS follow, 200 + (n * 7919) % 301 AS len, n % 3 = 0 AS chinese FROM seq)
SELECT printf('%08x%08x%08x', n * 2654435761 % 4294967296, n * 40503 % 4294967296, n), 1, n, n,
  CASE WHEN follow THEN CASE WHEN n % 10 = 0 THEN 'VARIATION' ELSE 'UPSCALE' END ELSE 'IMAGINE' END,
  CASE WHEN chinese THEN substr('一座灯塔矗立在黄昏的悬崖上，戏剧性的云层，体积光，古典大师风格的油画，超精细，电影构图，柔和的轮廓光，' || ${sql(WORDS)}, 1, len)
       ELSE substr(${sql(WORDS)}, 1 + n % 40, len) END,
  substr(${sql(WORDS)}, 1 + n % 40, len),
  substr(${sql(WORDS)}, 1 + n % 40, len) || ' --ar 16:9 --v 6.1 --stylize 250',
  CASE WHEN follow THEN 1 + n % 4 END,
  CASE WHEN follow THEN printf('%08x%08x%08x', (n - 1) * 2654435761 % 4294967296, (n - 1) * 40503 % 4294967296, n - 1) END,
  '', CASE WHEN n % 2 = 0 THEN 'https://hooks.example.com/midjourney/callback?client=app-' || (n % 97) ELSE '' END,
  'SUCCESS', '100%', 'Submit success', '',
  CAST(1300000000000000000 + n * 7 AS TEXT), 1 + n % 3,
  'https://cdn.discordapp.com/attachments/1158331893573918810/' || (1300000000000000000 + n) ||
    '/user_a_lighthouse_on_a_cliff_' || ${sql(hash)} || '.png?ex=6754a1b2&is=67535032&hm=' ||
    printf('%08x%08x%08x%08x%08x%08x%08x%08x', n, n * 3, n * 5, n * 7, n * 11, n * 13, n * 17, n * 19) || '&',
  'images/' || printf('%08x%08x%08x', n * 2654435761 % 4294967296, n * 40503 % 4294967296, n), 'image/png',
  CASE WHEN follow THEN ${sql(UPSCALE_BUTTONS)} ELSE ${sql(GRID_BUTTONS)} END,
  ${now} - (${n} - n) * 864, ${now} - (${n} - n) * 864 + 2000, ${now} - (${n} - n) * 864 + 45000,
  ${now} - (${n} - n) * 864 + 45000, 6, CASE WHEN follow THEN 2 ELSE 4 END, 'fast', 'MID_JOURNEY',
  CASE WHEN follow THEN 'MJ::JOB::upsample::' || (1 + n % 4) || '::' || ${sql(hash)} ELSE '' END
FROM shaped;
INSERT INTO deliveries (event_id, task_id, user_id, url, attempt, manual, http_status, error, duration_ms, outcome, next_try_at, created_at)
WITH RECURSIVE seq(n) AS (SELECT 2 UNION ALL SELECT n + 2 FROM seq WHERE n + 2 <= ${n}),
ev(e) AS (SELECT 1 UNION ALL SELECT e + 1 FROM ev WHERE e < ${EVENTS_PER_HOOKED_TASK})
SELECT 'msg_' || printf('%08x%08x%04x', n * 2654435761 % 4294967296, n, e),
  printf('%08x%08x%08x', n * 2654435761 % 4294967296, n * 40503 % 4294967296, n), 1,
  'https://hooks.example.com/midjourney/callback?client=app-' || (n % 97), 1, 0, 200, '', 40 + n % 200, 'delivered', NULL,
  ${now} - (${n} - n) * 864 + e * 5000
FROM seq, ev;`;
}

function main() {
	const persistTo = mkdtempSync(join(tmpdir(), "mj-edge-storage-"));
	try {
		const d1 = { root: ROOT, persistTo };
		migrate(d1);
		// A statement through the same path, so the empty database is written out like the full one.
		d1Execute({ ...d1, command: "SELECT 1" });
		const empty = d1Pages(persistTo);
		const file = join(persistTo, "seed.sql");
		writeFileSync(file, seedSql(TASKS));
		d1Execute({ ...d1, file });
		const [[counts]] = d1Execute({
			...d1,
			command:
				"SELECT (SELECT COUNT(*) FROM tasks) AS tasks, (SELECT COUNT(*) FROM deliveries) AS deliveries, " +
				"(SELECT AVG(length(prompt)) FROM tasks) AS prompt_chars, (SELECT AVG(length(buttons)) FROM tasks) AS button_chars",
		});
		if (counts.tasks !== TASKS) throw new Error(`seeded ${counts.tasks} tasks, wanted ${TASKS}`);
		const full = d1Pages(persistTo);
		const perTask = (full.total - empty.total) / TASKS;
		const per = (bytes) => Math.round(bytes / TASKS);
		const capacity = Math.floor(D1_LIMIT_BYTES / perTask);
		const report = {
			tasks: TASKS,
			deliveries: counts.deliveries,
			avgPromptChars: Math.round(counts.prompt_chars),
			avgButtonsChars: Math.round(counts.button_chars),
			emptyDatabaseBytes: empty.total,
			fullDatabaseBytes: full.total,
			bytesPerTask: Math.round(perTask),
			taskRowBytes: per(full.tasks.table),
			taskIndexBytes: per(full.tasks.indexes),
			deliveryLogBytes: per(full.deliveries.table + full.deliveries.indexes),
			tasksPer10GB: capacity,
			daysAt100kPerDay: Math.round((capacity / TASKS_PER_DAY) * 10) / 10,
		};
		console.log(
			`storage: ${TASKS} tasks (${counts.deliveries} delivery log rows) took ${full.total - empty.total} bytes`,
		);
		console.log(
			`storage: ${report.bytesPerTask} bytes per task with its indexes and callbacks (prompt ${report.avgPromptChars} chars, buttons ${report.avgButtonsChars} chars)`,
		);
		console.log(
			`storage: of which the task row ${report.taskRowBytes}, its indexes ${report.taskIndexBytes}, the delivery log ${report.deliveryLogBytes}`,
		);
		console.log(
			`storage: one 10 GB D1 database holds about ${capacity.toLocaleString("en")} tasks: ${report.daysAt100kPerDay} days at ${TASKS_PER_DAY.toLocaleString("en")} tasks a day`,
		);
		console.log(JSON.stringify(report));
	} finally {
		if (!process.env.STORAGE_KEEP) rmSync(persistTo, { recursive: true, force: true });
	}
}

main();
