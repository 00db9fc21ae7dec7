/**
 * Tasks on a discord channel, end to end: the midjourney-proxy surface, the real queue, the
 * account's Durable Object talking to the fake Discord (simulator/discord/), each task's
 * TaskObject. What goes out (interactions, nonces, command versions, pacing of faults) and what
 * comes back (progress, result in R2, buttons, red embeds).
 */
import {
	createExecutionContext,
	createMessageBatch,
	getQueueResult,
	runDurableObjectAlarm,
	runInDurableObject,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { findChannel } from "../../src/db/channels";
import { defaultDeps } from "../../src/deps";
import { handleTaskBatch } from "../../src/queue/task-consumer";
import { accountObject } from "../../src/tasks/discord-account-stub";
import { TASK_QUEUE, type TaskMessage } from "../../src/tasks/messages";
import { call, uniqueSub, waitFor } from "../helpers/api";
import { db, insertTaskRow, taskRow, userId } from "../helpers/db";
import {
	CHANNEL,
	channelView,
	connectedAccount,
	ended,
	GUILD,
	gatewayUntil,
	isPng,
	newUser,
	onlyNewChannels,
	servedFromR2,
	succeeded,
	TASK_TIMEOUT as TIMEOUT,
} from "../helpers/discord-account";
import { fakeState, fault, holdSteps, recordedInteractions, stepHeld } from "../helpers/fake-discord";
import { proxyPost, proxyTask, submitted } from "../helpers/proxy";

const user = () => newUser("discord");

type Recorded = { status: number; body: Record<string, unknown> };

async function interactions(token: string, count: number): Promise<Recorded[]> {
	return waitFor(
		async () => {
			const list = (await recordedInteractions(token)) as Recorded[];
			return list.length >= count && list;
		},
		15_000,
		`${count} interactions`,
	);
}

/** Runs an account's held steps up to the job's first message (the interaction's answers come before it). */
async function stepToFirstMessage(token: string): Promise<void> {
	for (let step = 0; step < 3; step++) {
		if ((await stepHeld(token)).some((d) => d.t === "MESSAGE_CREATE")) return;
	}
	throw new Error("no job message in three held steps");
}

beforeEach(onlyNewChannels);

describe("sending to Discord", () => {
	it("an IMAGINE goes out as /imagine with the guild's current command, our nonce and session", async () => {
		const account = await connectedAccount({ weight: 1 });
		const owner = await user();
		const id = await submitted(await proxyPost("/mj/submit/imagine", owner, { prompt: "a lighthouse at dawn" }));
		const [sent] = await interactions(account.token, 1);
		expect(sent.status).toBe(204);
		const body = sent.body as {
			type: number;
			guild_id: string;
			channel_id: string;
			nonce: string;
			session_id: string;
			application_id: string;
			data: { name: string; version: string; options: { name: string; value: string }[] };
		};
		expect(body).toMatchObject({ type: 2, guild_id: GUILD, channel_id: CHANNEL, application_id: "936929561302675456" });
		expect(body.data.name).toBe("imagine");
		expect(body.data.options).toEqual([{ type: 3, name: "prompt", value: "a lighthouse at dawn" }]);
		expect(body.session_id).toMatch(/\S/);
		const row = await waitFor(async () => {
			const task = await taskRow(id);
			return task.status !== "NOT_START" && task;
		});
		expect(row.channelId).toBe(account.id);
		expect(row.upstreamId).toBe(body.nonce);
	});

	it("a Niji IMAGINE goes to the Niji bot's command", async () => {
		const account = await connectedAccount({ weight: 1 });
		await submitted(await proxyPost("/mj/submit/imagine", await user(), { prompt: "a fox", botType: "NIJI_JOURNEY" }));
		const [sent] = await interactions(account.token, 1);
		expect(sent.body).toMatchObject({ application_id: "1022952195194359889", data: { name: "imagine" } });
	});

	it("a stale command (50035) reads the command index again and retries once", async () => {
		const account = await connectedAccount({ weight: 1 });
		const owner = await user();
		await submitted(await proxyPost("/mj/submit/imagine", owner, { prompt: "first" }));
		await interactions(account.token, 1);
		await fault(account.token, "stale_command");
		await submitted(await proxyPost("/mj/submit/imagine", owner, { prompt: "second" }));
		const sent = await interactions(account.token, 3);
		expect(sent.map((s) => s.status)).toEqual([204, 400, 204]);
		const versions = sent.map((s) => (s.body.data as { version: string }).version);
		expect(versions[1]).toBe(versions[0]);
		expect(versions[2]).not.toBe(versions[1]);
	});

	it("a 429 is waited out by its retry_after and the interaction sent again", async () => {
		const account = await connectedAccount({ weight: 1 });
		await fault(account.token, "rate_limit", { count: 1, retry_after: 0.3 });
		await submitted(await proxyPost("/mj/submit/imagine", await user(), { prompt: "patient" }));
		const sent = await interactions(account.token, 2);
		expect(sent.map((s) => s.status)).toEqual([429, 204]);
		expect(sent[1].body.nonce).toBe(sent[0].body.nonce);
	});

	it("a revoked token disables the channel with the reason; its running task fails, refunded, its waiting task moves on", async () => {
		const account = await connectedAccount({ weight: 1, discord: { concurrency: 1 } });
		const owner = await user();
		// Held, the running task cannot end before the token is revoked.
		await holdSteps(account.token, true);
		const running = await submitted(await proxyPost("/mj/submit/imagine", owner, { prompt: "running" }));
		await interactions(account.token, 1);
		const waiting = await submitted(await proxyPost("/mj/submit/imagine", owner, { prompt: "waiting" }), 1);
		await waitFor(async () => (await taskRow(waiting)).status === "SUBMITTED", 10_000, "queued on the account");
		// Another account comes up only now, so the waiting task had no other place before.
		const other = await connectedAccount({ weight: 1 });
		await fault(account.token, "revoke");
		const failed = await waitFor(async () => {
			const task = await taskRow(running);
			return task.status === "FAILURE" && task;
		}, 15_000);
		expect(failed.failReason).toMatch(/^the Discord account was taken out: .*4004/);
		expect(failed.refunded).toBe(true);
		const moved = await waitFor(
			async () => {
				const task = await taskRow(waiting);
				return task.status === "SUCCESS" && task;
			},
			20_000,
			"the waiting task to run elsewhere",
		);
		expect(moved.channelId).toBe(other.id);
		expect(moved.refunded).toBe(false);
		const channel = await findChannel(db(), account.id);
		expect(channel?.enabled).toBe(false);
		expect(channel?.disabledReason).toMatch(/4004/);
		// Only the running task reached the revoked account.
		expect(await recordedInteractions(account.token)).toHaveLength(1);
	});

	it("a waiting follow-up on an account taken out fails, refunded, saying why it could not move", async () => {
		const account = await connectedAccount({ weight: 1, discord: { concurrency: 1 } });
		const owner = await user();
		const grid = await submitted(await proxyPost("/mj/submit/imagine", owner, { prompt: "the parent" }));
		const parent = await waitFor(async () => {
			const task = await proxyTask(owner, grid);
			return task.status === "SUCCESS" && task;
		}, 25_000);
		await holdSteps(account.token, true);
		await submitted(await proxyPost("/mj/submit/imagine", owner, { prompt: "holds the slot" }));
		await interactions(account.token, 2);
		const upscale = await submitted(
			await proxyPost("/mj/submit/action", owner, {
				taskId: parent.id,
				customId: parent.buttons.map((b) => b.customId).find((c) => c.startsWith("MJ::JOB::upsample::1::")),
			}),
		);
		await waitFor(async () => (await channelView(account.id)).waiting === 1, 10_000, "the follow-up waiting");
		// Another account is up: a new task could move there, a follow-up cannot.
		await connectedAccount({ weight: 1 });
		await fault(account.token, "revoke");
		const failed = await waitFor(async () => {
			const task = await taskRow(upscale);
			return task.status === "FAILURE" && task;
		}, 15_000);
		expect(failed.failReason).toMatch(
			/^the Discord account was taken out before this follow-up started \(.*4004.*\); a follow-up runs only on the account of its parent task$/,
		);
		expect(failed.refunded).toBe(true);
		expect(await recordedInteractions(account.token)).toHaveLength(2);
	});
});

describe("tasks to their end on a Discord account", () => {
	it("IMAGINE to SUCCESS with progress, the picture in R2, Midjourney's buttons; then U1 and V1 pressed on it", async () => {
		const account = await connectedAccount({ weight: 1 });
		const owner = await user();
		// Held up to the first progress message, so the test sees the task in progress, however fast the steps.
		await holdSteps(account.token, true);
		const id = await submitted(await proxyPost("/mj/submit/imagine", owner, { prompt: "a red bicycle" }));
		await interactions(account.token, 1);
		await stepToFirstMessage(account.token);
		expect((await stepHeld(account.token)).map((d) => d.t)).toEqual(["MESSAGE_UPDATE"]);
		const progressed = await waitFor(
			async () => {
				const task = await proxyTask(owner, id);
				return task.status === "IN_PROGRESS" && task.progress !== "0%" && task;
			},
			TIMEOUT,
			"progress",
		);
		expect(progressed.progress).toMatch(/^\d+%$/);
		await holdSteps(account.token, false);
		const grid = await succeeded(owner, id);
		expect(grid.progress).toBe("100%");
		expect(isPng(await servedFromR2(grid))).toBe(true);
		const row = await taskRow(id);
		expect(row.upstreamImageUrl).toMatch(/^http:\/\/fake-discord\.internal\/attachments\//);
		expect(row.finalPrompt).toBe("a red bicycle");
		const customIds = grid.buttons.map((button) => button.customId);
		expect(customIds).toEqual(
			expect.arrayContaining([
				expect.stringMatching(/^MJ::JOB::upsample::1::/),
				expect.stringMatching(/^MJ::JOB::variation::1::/),
			]),
		);

		const upscale = await submitted(
			await proxyPost("/mj/submit/action", owner, {
				taskId: id,
				customId: customIds.find((c) => c.startsWith("MJ::JOB::upsample::1::")),
			}),
		);
		const variation = await submitted(
			await proxyPost("/mj/submit/action", owner, {
				taskId: id,
				customId: customIds.find((c) => c.startsWith("MJ::JOB::variation::1::")),
			}),
		);
		const upscaled = await succeeded(owner, upscale);
		expect(upscaled.action).toBe("UPSCALE");
		expect(isPng(await servedFromR2(upscaled))).toBe(true);
		expect(upscaled.buttons.map((b) => b.customId)).toEqual(
			expect.arrayContaining([expect.stringMatching(/^MJ::JOB::upsample_v\d+_2x_subtle::/)]),
		);
		const varied = await succeeded(owner, variation);
		expect(varied.action).toBe("VARIATION");
		expect(isPng(await servedFromR2(varied))).toBe(true);
		// Each follow-up pressed its button on the grid's own message, where Discord shows it.
		const sent = (await recordedInteractions(account.token)) as Recorded[];
		const presses = sent.filter((s) => s.body.type === 3);
		expect(presses).toHaveLength(2);
		for (const press of presses) expect(press.body.message_id).toBe(row.upstreamId);
		expect(upscaled.imageUrl).not.toBe(grid.imageUrl);
	});

	it("UPSCALE through /mj/submit/change finds the grid's U2 button", async () => {
		await connectedAccount({ weight: 1 });
		const owner = await user();
		const id = await submitted(await proxyPost("/mj/submit/imagine", owner, { prompt: "a blue kite" }));
		await succeeded(owner, id);
		const up = await submitted(
			await proxyPost("/mj/submit/change", owner, { taskId: id, action: "UPSCALE", index: 2 }),
		);
		const upscaled = await succeeded(owner, up);
		expect(upscaled.action).toBe("UPSCALE");
		expect(isPng(await servedFromR2(upscaled))).toBe(true);
	});

	it("a red embed ends the task FAILURE with Midjourney's words, refunded exactly once", async () => {
		await connectedAccount({ weight: 1 });
		const owner = await user();
		const before = await quota(owner);
		const id = await submitted(await proxyPost("/mj/submit/imagine", owner, { prompt: "a thing --fake-banned" }));
		const task = await ended(owner, id);
		expect(task.status).toBe("FAILURE");
		expect(task.failReason).toMatch(/Banned prompt detected/);
		expect((await taskRow(id)).refunded).toBe(true);
		// The charge came back once, and a late duplicate of the end changes nothing.
		await waitFor(async () => (await quota(owner)) === before, 5000, "refund");
		await new Promise((resolve) => setTimeout(resolve, 500));
		expect(await quota(owner)).toBe(before);
	});
});

describe("an account's own queue", () => {
	it("runs `concurrency` tasks; the next waits and starts when a slot frees; a full account takes no more", async () => {
		const account = await connectedAccount({ weight: 1, discord: { concurrency: 1, queue_size: 1 } });
		const owner = await user();
		// The bot's steps held: the first task holds the only slot until the test lets it end.
		await holdSteps(account.token, true);
		const first = await submitted(await proxyPost("/mj/submit/imagine", owner, { prompt: "one" }));
		await interactions(account.token, 1);
		const second = await submitted(await proxyPost("/mj/submit/imagine", owner, { prompt: "two" }));
		await waitFor(async () => (await taskRow(second)).status === "SUBMITTED", 10_000, "second queued");
		expect(await channelView(account.id)).toMatchObject({ running: 1, waiting: 1 });
		// Full: a third task finds no channel with room and is retried later, never sent.
		const third = await insertTaskRow({ userId: await userId(uniqueSub("third")), prompt: "three" });
		const batch = createMessageBatch<TaskMessage>(TASK_QUEUE, [
			{
				id: `full-${third.publicId}`,
				timestamp: Date.now(),
				attempts: 1,
				body: { kind: "submit", taskId: third.publicId },
			},
		]);
		await handleTaskBatch(batch, env, defaultDeps());
		expect((await getQueueResult(batch, createExecutionContext())).retryMessages).toHaveLength(1);
		expect((await taskRow(third.publicId)).status).toBe("NOT_START");
		expect(await recordedInteractions(account.token)).toHaveLength(1);
		// The slot frees when the first ends; only then does the second go out.
		expect((await taskRow(first)).status).not.toBe("SUCCESS");
		await holdSteps(account.token, false);
		await succeeded(owner, first);
		await succeeded(owner, second);
		const sent = (await recordedInteractions(account.token)) as Recorded[];
		expect(sent.map((s) => (s.body.data as { options: { value: string }[] }).options[0].value)).toEqual(["one", "two"]);
	});
});

describe("surviving the connection", () => {
	it("a dead connection: the events Discord kept are replayed after the RESUME and the task ends", async () => {
		const account = await connectedAccount({ weight: 1 });
		const owner = await user();
		await holdSteps(account.token, true);
		const id = await submitted(await proxyPost("/mj/submit/imagine", owner, { prompt: "through the storm" }));
		await interactions(account.token, 1);
		// The job's first message arrives, then the connection goes dead and the rest is sent into it.
		await stepToFirstMessage(account.token);
		await waitFor(async () => (await taskRow(id)).status === "IN_PROGRESS", 10_000, "the job to start");
		await fault(account.token, "no_ack");
		await holdSteps(account.token, false);
		const task = await succeeded(owner, id);
		expect(isPng(await servedFromR2(task))).toBe(true);
		expect((await fakeState(account.token)).resumes).toBeGreaterThanOrEqual(1);
	});

	it("op 7 mid-job: resumed, replayed, the task ends", async () => {
		const account = await connectedAccount({ weight: 1 });
		const owner = await user();
		await holdSteps(account.token, true);
		const id = await submitted(await proxyPost("/mj/submit/imagine", owner, { prompt: "moving house" }));
		await interactions(account.token, 1);
		await stepToFirstMessage(account.token);
		await waitFor(async () => (await taskRow(id)).status === "IN_PROGRESS", 10_000, "the job to start");
		await fault(account.token, "op7");
		await holdSteps(account.token, false);
		await succeeded(owner, id);
		expect((await fakeState(account.token)).resumes).toBeGreaterThanOrEqual(1);
	});

	it("after the object restarts, its running and waiting tasks are picked up again and end", async () => {
		const account = await connectedAccount({ weight: 1, discord: { concurrency: 1 } });
		const owner = await user();
		await holdSteps(account.token, true);
		const running = await submitted(await proxyPost("/mj/submit/imagine", owner, { prompt: "before" }));
		await interactions(account.token, 1);
		const waiting = await submitted(await proxyPost("/mj/submit/imagine", owner, { prompt: "after" }));
		await waitFor(async () => (await taskRow(waiting)).status === "SUBMITTED", 10_000, "queued");
		await runInDurableObject(accountObject(env, account.id), (_, state) => state.abort("restart")).catch(
			() => undefined,
		);
		expect(await runDurableObjectAlarm(accountObject(env, account.id))).toBe(true);
		// The job runs on only once the restarted object is connected again, as a slow job would.
		await gatewayUntil(account.token, (seen) => seen.connected && seen.connections >= 2, 10_000, "connected again");
		await holdSteps(account.token, false);
		await succeeded(owner, running);
		await succeeded(owner, waiting);
		// Each task went out once (the watchdog's /info aside): none was lost or sent twice.
		const sent = (await recordedInteractions(account.token)) as Recorded[];
		expect(sent.filter((s) => (s.body.data as { name: string }).name === "imagine")).toHaveLength(2);
	});
});

async function quota(owner: string): Promise<number> {
	const self = await call("/api/user/self", { token: owner });
	const body = (await self.json()) as { data?: { quota?: number }; quota?: number };
	return body.data?.quota ?? body.quota ?? Number.NaN;
}
