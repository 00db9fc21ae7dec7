/**
 * Image and video URLs an upstream hands over are fetched under the URL policy, in production:
 * an internal URL is neither copied to R2 (the copy is abandoned, not retried, and logged without
 * the URL's query) nor streamed by the signed link (404); the task's own channel origin is the one
 * private origin allowed. The task object and the routes run with ENVIRONMENT "production" here;
 * every fetch is recorded, and any other host would answer a picture, so a leak would show.
 */
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { createApp } from "../../src/app";
import { sign } from "../../src/auth/signing";
import { channels } from "../../src/db/schema";
import type { TaskObject } from "../../src/durable/task-object";
import { videoLinkValue } from "../../src/images/links";
import { png } from "../helpers/album";
import { BASE, json, uniqueSub, waitFor } from "../helpers/api";
import { db, insertTaskRow, taskRow, userId } from "../helpers/db";
import { resetDeps, useFetch } from "../helpers/deps";
import { FakeUpstream, useFakeChannelOnly } from "../helpers/fake-upstream";

const productionEnv: Env = { ...env, ENVIRONMENT: "production" };
const app = createApp();

let fakeChannel: number;
let privateChannel: number;
let owner: number;
/** Every URL the code under test fetched, in order. */
let seen: string[];
let errors: MockInstance<typeof console.error>;

beforeAll(async () => {
	fakeChannel = await useFakeChannelOnly();
	const now = Date.now();
	// An upstream an admin configured on a private network: its own origin may serve images.
	const row = await db()
		.insert(channels)
		.values({
			name: `private-${now}`,
			baseUrl: "http://10.0.0.5:8080",
			secret: "s",
			weight: 0,
			enabled: false,
			createdAt: now,
			updatedAt: now,
		})
		.returning({ id: channels.id })
		.get();
	privateChannel = row.id;
	owner = await userId(uniqueSub("media"));
});

beforeEach(async () => {
	seen = [];
	const upstream = new FakeUpstream();
	const picture = await png(1);
	useFetch(async (input, init) => {
		const request = new Request(input, init);
		seen.push(request.url);
		if (new URL(request.url).origin === upstream.origin) return upstream.fetch(request);
		if (request.url === "https://cdn.example.com/r") {
			return new Response(null, { status: 302, headers: { location: "http://127.0.0.1/admin.png" } });
		}
		return new Response(picture, { headers: { "content-type": "image/png" } });
	});
	errors = vi.spyOn(console, "error").mockImplementation(() => {});
});

afterEach(() => {
	resetDeps();
	vi.restoreAllMocks();
});

/** Requests through the app with the production env, as the deployed Worker would run. */
async function productionCall(path: string): Promise<Response> {
	const ctx = createExecutionContext();
	const response = await app.fetch(new Request(`${BASE}${path}`), productionEnv, ctx);
	await waitOnExecutionContext(ctx);
	return response;
}

/** A submitted task whose object runs with the production env. */
async function productionTask(channelId: number) {
	const row = await insertTaskRow({
		userId: owner,
		status: "SUBMITTED",
		upstreamId: `up-${crypto.randomUUID()}`,
		channelId,
	});
	// Typed by the class: runInDurableObject reaches into the instance.
	const object = env.TASK_OBJECT.get(env.TASK_OBJECT.idFromName(row.publicId));
	await runInDurableObject(object, (instance: TaskObject) => {
		(instance as unknown as { env: Env }).env = productionEnv;
	});
	return { row, object };
}

/** The upstream pushes its finished task to the callback URL the gateway gave it. */
async function upstreamPushes(publicId: string, upstreamId: string, media: Record<string, unknown>): Promise<void> {
	const response = await app.fetch(
		new Request(`${BASE}/mj/callback/${publicId}?sig=${await sign(env, "upstream-callback", publicId)}`, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ id: upstreamId, status: "SUCCESS", progress: "100%", ...media }),
		}),
		productionEnv,
		createExecutionContext(),
	);
	expect(await json(response)).toMatchObject({ code: 1, description: "applied" });
}

/** Waits until the object has finished (or abandoned) its copy; returns its pending alarm. */
async function copySettled(object: DurableObjectStub<TaskObject>): Promise<number | null> {
	return waitFor(
		() =>
			runInDurableObject(object, async (_instance: TaskObject, state) => {
				const stored = await state.storage.get<{ effects: { copy: boolean; hook: boolean } }>("state");
				if (!stored || stored.effects.copy || stored.effects.hook) return undefined;
				return { alarm: await state.storage.getAlarm() };
			}),
		15_000,
		"copy settled",
	).then((r) => r.alarm);
}

const internal = (url: string) => /169\.254\.169\.254|\[::ffff:a9fe:a9fe\]|127\.0\.0\.1|10\.0\.0\.6/.test(url);

describe("an upstream that hands over an internal URL", () => {
	it("image: the copy is refused without fetching it, not retried, logged without the query; the link is 404", async () => {
		const { row, object } = await productionTask(fakeChannel);
		const imageUrl = "http://169.254.169.254/latest/meta-data/iam?X-Amz-Security-Token=s3cret";
		await upstreamPushes(row.publicId, row.upstreamId ?? "", { imageUrl });

		expect(await copySettled(object)).toBeNull();
		expect(seen.filter(internal)).toEqual([]);
		const stored = await taskRow(row.publicId);
		expect(stored.status).toBe("SUCCESS");
		expect(stored.imageKey).toBeNull();
		expect(await env.IMAGES.head(`images/${row.publicId}`)).toBeNull();
		// One redacted line from the logging point (src/log.ts).
		const refusal = errors.mock.calls
			.map(([line]) => String(line))
			.find((line) => line.startsWith("image copy refused"));
		expect(refusal).toBe(
			`image copy refused ${row.publicId} imageUrl must be a public address http://169.254.169.254/latest/meta-data/iam`,
		);
		expect(JSON.stringify(errors.mock.calls)).not.toContain("s3cret");

		const response = await productionCall(`/mj/image/${row.publicId}?sig=${await sign(env, "image", row.publicId)}`);
		expect(response.status).toBe(404);
		expect((await json<{ description: string }>(response)).description).toBe("image not available");
		expect(response.headers.get("content-type")).not.toMatch(/^image\//);
		expect(seen.filter(internal)).toEqual([]);
	});

	it("video: the copy is refused and the video link streams nothing", async () => {
		const { row, object } = await productionTask(fakeChannel);
		await upstreamPushes(row.publicId, row.upstreamId ?? "", { videoUrls: ["http://[::ffff:169.254.169.254]/v.mp4"] });

		expect(await copySettled(object)).toBeNull();
		expect((await taskRow(row.publicId)).videoKeys).toBe("[]");
		expect(
			errors.mock.calls.map(([line]) => String(line)).find((line) => line.startsWith("image copy refused")),
		).toContain("videoUrl must be a public address");
		const sig = await sign(env, "image", videoLinkValue(row.publicId, 0));
		const response = await productionCall(`/mj/video/${row.publicId}/0?sig=${sig}`);
		expect(response.status).toBe(404);
		expect((await json<{ description: string }>(response)).description).toBe("video not available");
		expect(seen).toEqual([]);
	});

	it("before any copy, the link does not stream a public URL that redirects inside", async () => {
		const row = await insertTaskRow({
			userId: owner,
			status: "SUCCESS",
			channelId: fakeChannel,
			upstreamImageUrl: "https://cdn.example.com/r",
		});
		const response = await productionCall(`/mj/image/${row.publicId}?sig=${await sign(env, "image", row.publicId)}`);
		expect(response.status).toBe(404);
		expect((await json<{ description: string }>(response)).description).toBe("image not available");
		expect(seen).toEqual(["https://cdn.example.com/r"]);
	});
});

describe("the task's own channel origin", () => {
	it("may be private: its image is copied in production", async () => {
		const { row, object } = await productionTask(privateChannel);
		await upstreamPushes(row.publicId, row.upstreamId ?? "", { imageUrl: "http://10.0.0.5:8080/img/a.png?sig=x" });

		expect(await copySettled(object)).toBeNull();
		expect(seen).toEqual(["http://10.0.0.5:8080/img/a.png?sig=x"]);
		expect((await taskRow(row.publicId)).imageKey).toBe(`images/${row.publicId}`);
		expect(await env.IMAGES.head(`images/${row.publicId}`)).not.toBeNull();
	});

	it("is streamed before the copy exists; another private host of the same channel is not", async () => {
		const trusted = await insertTaskRow({
			userId: owner,
			status: "SUCCESS",
			channelId: privateChannel,
			upstreamImageUrl: "http://10.0.0.5:8080/img/b.png",
		});
		const ok = await productionCall(`/mj/image/${trusted.publicId}?sig=${await sign(env, "image", trusted.publicId)}`);
		expect(ok.status).toBe(200);
		expect(ok.headers.get("content-type")).toBe("image/png");
		expect(ok.headers.get("cache-control")).toBe("no-store");
		await ok.body?.cancel();

		const other = await insertTaskRow({
			userId: owner,
			status: "SUCCESS",
			channelId: privateChannel,
			upstreamImageUrl: "http://10.0.0.6:8080/img/b.png",
		});
		const refused = await productionCall(`/mj/image/${other.publicId}?sig=${await sign(env, "image", other.publicId)}`);
		expect(refused.status).toBe(404);
		expect(seen).toEqual(["http://10.0.0.5:8080/img/b.png"]);
	});
});
