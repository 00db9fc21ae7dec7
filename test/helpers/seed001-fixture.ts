import { expect } from "vitest";
import { channels, type TaskRow, tasks } from "../../src/db/schema";
import { insertTask, type NewTaskInput } from "../../src/db/tasks";
import { upsertUser } from "../../src/db/users";
import { tokenFor, uniqueSub } from "./api";
import { db, taskRow } from "./db";
import { imageLink, newestFirst, type Params, seconds } from "./seed001";

/** 2021-12-31T00:00:00Z, the first timestamp of the seed's own request example. */
export const T0 = 1_640_908_800_000;
/** Fixture tasks sit at minute m plus half a second, so a filter's end second must include them. */
export const at = (minute: number) => T0 + minute * 60_000 + 500;
/** The whole second of minute m's tasks. */
export const sec = (minute: number) => Math.floor(at(minute) / 1000);
/** Every fixture task is inside [WINDOW_START, WINDOW_END]; API-submitted tasks are not. */
export const WINDOW_START = sec(0);
export const WINDOW_END = sec(60);

export const ALICE_TASKS = 25;
export const BOB_TASKS = 8;
export const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/i;

export interface Person {
	sub: string;
	id: number;
	token: string;
	/** The person's fixture rows as D1 holds them, newest first. */
	rows: TaskRow[];
}

export let east: number;
export let west: number;
export let alice: Person;
export let bob: Person;
export let adminToken: string;

export async function newPerson(prefix: string, role: "user" | "admin" = "user"): Promise<Person> {
	const sub = uniqueSub(prefix);
	const id = await upsertUser(db(), sub, role, 1_000_000, Date.now());
	return { sub, id, token: await tokenFor(sub, role), rows: [] };
}

/** A disabled channel row: tasks can be stored on it, but the API never sends new tasks there. */
export async function channelRow(name: string): Promise<number> {
	const now = Date.now();
	const row = await db()
		.insert(channels)
		.values({ name, baseUrl: `http://${name}.test`, enabled: false, createdAt: now, updatedAt: now })
		.returning({ id: channels.id })
		.get();
	return row.id;
}

/** Writes through insertTask at `submitMs` (so user_seq, users.task_count and the counter move) and reads the row back. */
export async function stored(input: NewTaskInput, submitMs: number): Promise<TaskRow> {
	const submitTime = await insertTask(db(), input, submitMs);
	expect(submitTime, "the fixture needs its submit times as given").toBe(submitMs);
	return taskRow(input.publicId);
}

/** Alice's task i: every fifth kind of task, on alternate channels. */
export function aliceTask(i: number, userId: number, parent: TaskRow | undefined): NewTaskInput {
	const submit = at(i);
	const base: NewTaskInput = {
		publicId: crypto.randomUUID(),
		userId,
		action: "IMAGINE",
		prompt: `alice prompt ${i}`,
		description: `/imagine alice prompt ${i}`,
		status: "SUCCESS",
		progress: "100%",
		channelId: i % 2 === 0 ? east : west,
		updatedAt: submit,
		quota: 100,
	};
	switch (i % 5) {
		case 0:
			return {
				...base,
				promptEn: `alice prompt ${i} in English`,
				upstreamImageUrl: `http://upstream.test/img/${i}.png`,
				videoUrl: `http://upstream.test/video/${i}.mp4`,
				videoUrls: JSON.stringify([`http://upstream.test/video/${i}a.mp4`, `http://upstream.test/video/${i}b.mp4`]),
				startTime: submit + 20_250,
				finishTime: submit + 65_750,
			};
		case 1:
			return {
				...base,
				status: "FAILURE",
				progress: "0%",
				failReason: "banned prompt detected",
				startTime: submit + 1_000,
				finishTime: submit + 2_999,
			};
		case 2:
			return { ...base, status: "IN_PROGRESS", progress: "45%", startTime: submit + 3_000 };
		case 3:
			return { ...base, status: "NOT_START", progress: "0%", channelId: null };
		default:
			return {
				...base,
				action: "UPSCALE",
				quota: 50,
				taskIndex: 2,
				parentId: parent?.publicId ?? null,
				description: `/up ${parent?.publicId} U2`,
				upstreamImageUrl: `http://upstream.test/img/${i}-u2.png`,
				startTime: submit + 500,
				finishTime: submit + 10_000,
			};
	}
}

/**
 * What the seed shows for Alice's task i, written out from the fixture above rather than
 * computed from the row: `at(i)` is minute i plus 500 ms, so a start 20 250 ms later is
 * second +20, a finish 65 750 ms later second +66, and so on.
 */
export function aliceItem(i: number, row: TaskRow): Record<string, unknown> {
	const common = {
		id: row.id,
		mj_id: row.publicId,
		action: "IMAGINE",
		prompt: `alice prompt ${i}`,
		prompt_en: "",
		status: "SUCCESS",
		progress: "100%",
		image_url: "",
		video_url: "",
		video_urls: "[]",
		submit_time: sec(i),
		start_time: 0,
		finish_time: 0,
		fail_reason: "",
		quota: 100,
		user_id: alice.id,
		channel_id: i % 2 === 0 ? east : west,
	};
	switch (i % 5) {
		case 0:
			return {
				...common,
				prompt_en: `alice prompt ${i} in English`,
				image_url: expect.stringMatching(imageLink(row.publicId)),
				video_url: `http://upstream.test/video/${i}.mp4`,
				video_urls: `["http://upstream.test/video/${i}a.mp4","http://upstream.test/video/${i}b.mp4"]`,
				start_time: sec(i) + 20,
				finish_time: sec(i) + 66,
			};
		case 1:
			return {
				...common,
				status: "FAILURE",
				progress: "0%",
				fail_reason: "banned prompt detected",
				start_time: sec(i) + 1,
				finish_time: sec(i) + 3,
			};
		case 2:
			return { ...common, status: "IN_PROGRESS", progress: "45%", start_time: sec(i) + 3 };
		case 3:
			return { ...common, status: "NOT_START", progress: "0%", channel_id: 0 };
		default:
			return {
				...common,
				action: "UPSCALE",
				quota: 50,
				image_url: expect.stringMatching(imageLink(row.publicId)),
				start_time: sec(i) + 1,
				finish_time: sec(i) + 10,
			};
	}
}

/** Bob's task j, at minute 2j + 1: started 1 s and finished 30 s after it. */
export function bobItem(j: number, row: TaskRow): Record<string, unknown> {
	const minute = 2 * j + 1;
	return {
		id: row.id,
		mj_id: row.publicId,
		action: "IMAGINE",
		prompt: `bob prompt ${j}`,
		prompt_en: "",
		status: "SUCCESS",
		progress: "100%",
		image_url: expect.stringMatching(imageLink(row.publicId)),
		video_url: "",
		video_urls: "[]",
		submit_time: sec(minute),
		start_time: sec(minute) + 1,
		finish_time: sec(minute) + 30,
		fail_reason: "",
		quota: 100,
		user_id: bob.id,
		channel_id: j % 2 === 0 ? east : west,
	};
}

/** The admin's item of every fixture task, by public id. */
export const adminItems = new Map<string, Record<string, unknown>>();

/** The same item as its owner sees it: no user_id, no channel_id. */
export function userItem(publicId: string): Record<string, unknown> {
	const { user_id: _user, channel_id: _channel, ...item } = adminItems.get(publicId) ?? {};
	return item;
}

export async function writeFixture(): Promise<void> {
	east = await channelRow(`s001-east-${Date.now()}`);
	west = await channelRow(`s001-west-${Date.now()}`);
	alice = await newPerson("s001-alice");
	bob = await newPerson("s001-bob");
	adminToken = await tokenFor(uniqueSub("s001-admin"), "admin");

	for (let i = 0; i < ALICE_TASKS; i++) {
		const parent = alice.rows.find((row) => row.prompt === `alice prompt ${i - 4}`);
		const row = await stored(aliceTask(i, alice.id, parent), at(i));
		alice.rows.push(row);
		adminItems.set(row.publicId, aliceItem(i, row));
	}
	// Bob's tasks share their millisecond with Alice's tasks of odd minutes: ties that only
	// the id can order, for the admin's list and its cursor.
	for (let j = 0; j < BOB_TASKS; j++) {
		const minute = 2 * j + 1;
		const row = await stored(
			{
				publicId: crypto.randomUUID(),
				userId: bob.id,
				action: "IMAGINE",
				prompt: `bob prompt ${j}`,
				status: "SUCCESS",
				progress: "100%",
				channelId: j % 2 === 0 ? east : west,
				upstreamImageUrl: `http://upstream.test/img/bob-${j}.png`,
				startTime: at(minute) + 1_000,
				finishTime: at(minute) + 30_000,
				updatedAt: at(minute),
				quota: 100,
			},
			at(minute),
		);
		bob.rows.push(row);
		adminItems.set(row.publicId, bobItem(j, row));
	}
	alice.rows = newestFirst(alice.rows);
	bob.rows = newestFirst(bob.rows);
}

export const ids = (items: { mj_id: string }[]) => items.map((item) => item.mj_id);
export const publicIds = (rows: TaskRow[]) => rows.map((row) => row.publicId);

/** Every task D1 holds right now, newest first. */
export async function allRows(): Promise<TaskRow[]> {
	return newestFirst(await db().select().from(tasks).all());
}

export interface Filter {
	mjId?: string;
	start?: number;
	end?: number;
	channelId?: number;
}

/** The seed's filter semantics: exact task id, whole-second bounds (both inclusive), channel. */
export function matches(row: TaskRow, filter: Filter): boolean {
	const s = seconds(row.submitTime);
	return (
		(filter.mjId === undefined || row.publicId === filter.mjId) &&
		(filter.start === undefined || s >= filter.start) &&
		(filter.end === undefined || s <= filter.end) &&
		(filter.channelId === undefined || row.channelId === filter.channelId)
	);
}

export function paramsOf(filter: Filter): Params {
	const params: Params = {};
	if (filter.mjId !== undefined) params.mj_id = filter.mjId;
	if (filter.start !== undefined) params.start_timestamp = filter.start;
	if (filter.end !== undefined) params.end_timestamp = filter.end;
	if (filter.channelId !== undefined) params.channel_id = filter.channelId;
	return params;
}
