/**
 * Every action on a Discord account, end to end against the fake Discord: each grid button,
 * each button of an upscale (the modal ones through /submit/modal: custom zoom by the modal
 * submit, vary region by the activity host with the mask), the video's extend buttons, describe,
 * blend, shorten and pictures in an imagine (as the gateway's signed links), and the account
 * states Midjourney reports.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { findChannel } from "../../src/db/channels";
import { channels } from "../../src/db/schema";
import { accountObject } from "../../src/tasks/discord-account-stub";
import { png } from "../helpers/album";
import { call, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { db, taskRow } from "../helpers/db";
import { resetDeps, useFetch } from "../helpers/deps";
import {
	admin,
	channelView,
	connectedAccount,
	disabledChannel,
	ended,
	isPng,
	newUser,
	onlyNewChannels,
	servedFromR2,
	succeeded,
} from "../helpers/discord-account";
import { fakeState, fakeUploads, fault, freshToken, recordedInteractions, rest } from "../helpers/fake-discord";
import { dataUrl, type ProxyTask, proxyPost, reply, submitted } from "../helpers/proxy";

const user = () => newUser("discord-actions");

const isMp4 = (bytes: Uint8Array) => new TextDecoder().decode(bytes.subarray(4, 8)) === "ftyp";

async function press(
	token: string,
	parent: ProxyTask,
	customId: string,
	modal?: { prompt?: string; maskBase64?: string },
): Promise<ProxyTask> {
	const answer = await reply(await proxyPost("/mj/submit/action", token, { taskId: parent.id, customId }));
	if (modal) {
		expect(answer.code, `${customId}: ${answer.description}`).toBe(21);
		const id = answer.result as string;
		await submitted(await proxyPost("/mj/submit/modal", token, { taskId: id, ...modal }));
		return succeeded(token, id);
	}
	expect([1, 22], `${customId}: ${answer.description}`).toContain(answer.code);
	return succeeded(token, answer.result as string);
}

beforeEach(onlyNewChannels);
afterEach(() => {
	resetDeps();
	vi.restoreAllMocks();
});

describe("every button on a Discord account", () => {
	it("the grid's buttons: U1-U4, reroll, V1-V4, each pressed on the grid's message", async () => {
		const account = await connectedAccount({ weight: 1, discord: { concurrency: 12, queue_size: 20 } });
		const token = await user();
		const grid = await succeeded(
			token,
			await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "a grid of foxes" })),
		);
		expect(grid.buttons.map((b) => b.label || b.emoji)).toEqual(["U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4"]);
		const results = await Promise.all(grid.buttons.map((b) => press(token, grid, b.customId)));
		expect(results.map((t) => t.action)).toEqual([
			"UPSCALE",
			"UPSCALE",
			"UPSCALE",
			"UPSCALE",
			"REROLL",
			"VARIATION",
			"VARIATION",
			"VARIATION",
			"VARIATION",
		]);
		// Each task got its own picture (no two matched to the same message).
		expect(new Set(results.map((t) => t.id)).size).toBe(9);
		const upstream = await Promise.all(results.map(async (t) => (await taskRow(t.id)).upstreamImageUrl));
		expect(new Set(upstream).size).toBe(9);
		for (const result of results) expect(isPng(await servedFromR2(result, "image"))).toBe(true);
		expect((await channelView(account.id)).running).toBe(0);
	}, 90_000);

	it("an upscale's buttons, custom zoom and vary region through /submit/modal, and the video's extend buttons", async () => {
		const account = await connectedAccount({ weight: 1, discord: { concurrency: 12, queue_size: 20 } });
		const token = await user();
		const grid = await succeeded(
			token,
			await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "a lighthouse" })),
		);
		const upscaled = await press(token, grid, grid.buttons[0].customId);
		expect(upscaled.buttons).toHaveLength(14);
		const mask = dataUrl(await png(8, 8, 5));
		const results = await Promise.all(
			upscaled.buttons.map((b) => {
				if (b.customId.startsWith("MJ::CustomZoom::"))
					return press(token, upscaled, b.customId, { prompt: "--zoom 1.8" });
				if (b.customId.startsWith("MJ::Inpaint::"))
					return press(token, upscaled, b.customId, { maskBase64: mask, prompt: "a boat" });
				return press(token, upscaled, b.customId);
			}),
		);
		expect(results.map((t) => t.action)).toEqual([
			"UPSCALE",
			"UPSCALE",
			"VARIATION",
			"VARIATION",
			"INPAINT",
			"ZOOM",
			"ZOOM",
			"CUSTOM_ZOOM",
			"PAN",
			"PAN",
			"PAN",
			"PAN",
			"VIDEO",
			"VIDEO",
		]);
		for (const result of results.filter((t) => t.action !== "VIDEO")) {
			expect(isPng(await servedFromR2(result, "image"))).toBe(true);
		}
		// The modal steps went out as Discord's own: a modal submit with the prompt, the mask to the editor.
		const sent = (await recordedInteractions(account.token)) as { at: number; body: Record<string, unknown> }[];
		// Fourteen presses at once still left one at a time, DISCORD_PACE_MS (100 here) apart at least.
		const times = sent.map((s) => s.at).sort((a, b) => a - b);
		expect(times.length).toBeGreaterThan(14);
		const gaps = times.slice(1).map((t, i) => t - times[i]);
		// Measured where they arrive: a slow transit shortens the gap after it (on a loaded machine by
		// half or more), so the rule is held by most gaps and the median; unpaced, nearly all are < 10 ms.
		expect(gaps.filter((gap) => gap >= 80).length, `gaps ${gaps.join(",")}`).toBeGreaterThanOrEqual(gaps.length * 0.75);
		expect(
			[...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)],
			`gaps ${gaps.join(",")}`,
		).toBeGreaterThanOrEqual(100);
		const modal = sent.find((s) => s.body.type === 5)?.body.data as {
			custom_id: string;
			components: { components: { value: string }[] }[];
		};
		expect(modal.custom_id).toMatch(/^MJ::OutpaintCustomZoomModal::/);
		expect(modal.components[0].components[0].value).toBe("--zoom 1.8");
		expect((await taskRow(results[7].id)).finalPrompt).toContain("--zoom 1.8");
		const video = results[12];
		expect(isMp4(await servedFromR2(video, "video"))).toBe(true);
		const extendButtons = video.buttons.filter((b) => b.customId);
		expect(extendButtons.length).toBeGreaterThan(0);
		const extended = await Promise.all(extendButtons.map((b) => press(token, video, b.customId)));
		for (const result of extended) {
			expect(result.action).toBe("VIDEO");
			expect(isMp4(await servedFromR2(result, "video"))).toBe(true);
		}
	}, 120_000);
});

describe("commands with pictures and text", () => {
	it("describe, blend, shorten and an imagine with a picture; pictures go in as signed links", async () => {
		const account = await connectedAccount({ weight: 1, discord: { concurrency: 6 } });
		const token = await user();
		const a = dataUrl(await png(16, 16, 1));
		const b = dataUrl(await png(16, 16, 2));
		const ids = await Promise.all(
			(
				[
					["/mj/submit/describe", { base64: a }],
					["/mj/submit/blend", { base64Array: [a, b], dimensions: "LANDSCAPE" }],
					["/mj/submit/shorten", { prompt: "a very long and winding prompt about a quiet harbour at dusk" }],
					["/mj/submit/imagine", { prompt: "in the style of this", base64Array: [a] }],
				] as const
			).map(async ([path, body]) => {
				const answer = await reply(await proxyPost(path, token, body));
				expect([1, 22], answer.description).toContain(answer.code);
				return answer.result as string;
			}),
		);
		const [describe, blend, shorten, imagine] = await Promise.all(ids.map((id) => succeeded(token, id)));
		expect(describe.action).toBe("DESCRIBE");
		expect(describe.prompt.split("\n\n")).toHaveLength(4);
		expect(isPng(await servedFromR2(describe, "image"))).toBe(true);
		expect(blend.action).toBe("BLEND");
		expect(isPng(await servedFromR2(blend, "image"))).toBe(true);
		expect(shorten.action).toBe("SHORTEN");
		expect(shorten.promptEn.split("\n\n").length).toBeGreaterThanOrEqual(2);
		expect(isPng(await servedFromR2(imagine, "image"))).toBe(true);
		const sent = (await recordedInteractions(account.token)) as unknown as {
			body: { data: { name: string; options: { name: string; value: string }[] } };
		}[];
		const describeCall = sent.find((s) => s.body.data.name === "describe");
		expect(describeCall?.body.data.options[0]).toMatchObject({ name: "link" });
		expect(describeCall?.body.data.options[0].value).toMatch(
			/^http:\/\/gateway\.test\/mj\/upload\/[0-9a-f-]+\.png\?sig=/,
		);
		// The link serves the picture to whoever Midjourney sends to fetch it.
		const served = await call(describeCall?.body.data.options[0].value.replace("http://gateway.test", "") ?? "");
		expect(isPng(new Uint8Array(await served.arrayBuffer()))).toBe(true);
		const blendCall = sent.find(
			(s) => s.body.data.name === "imagine" && s.body.data.options[0].value.endsWith("--ar 3:2"),
		);
		expect(blendCall?.body.data.options[0].value.match(/\/mj\/upload\//g)).toHaveLength(2);
	}, 90_000);
});

describe("describe by upload", () => {
	it("describe_by_upload: the picture goes through Discord's attachments flow, not as a link", async () => {
		const account = await connectedAccount({ weight: 1, discord: { describe_by_upload: true } });
		expect((await channelView(account.id)).discord).toMatchObject({ describe_by_upload: true });
		const token = await user();
		const picture = await png(24, 24, 7);
		const id = await submitted(await proxyPost("/mj/submit/describe", token, { base64: dataUrl(picture) }));
		const task = await succeeded(token, id);
		expect(task.prompt.split("\n\n")).toHaveLength(4);
		expect(isPng(await servedFromR2(task, "image"))).toBe(true);
		const sent = (await recordedInteractions(account.token)) as unknown as {
			body: {
				data: {
					name: string;
					options: { type: number; name: string; value: unknown }[];
					attachments: { id: string; filename: string; uploaded_filename: string }[];
				};
			};
		}[];
		const call = sent.find((s) => s.body.data.name === "describe");
		expect(call?.body.data.options).toEqual([{ type: 11, name: "image", value: 0 }]);
		const attachment = call?.body.data.attachments[0];
		expect(attachment).toMatchObject({ id: "0", filename: "image.png" });
		// The bytes Discord got are the user's picture, whole.
		const uploads = await fakeUploads();
		expect(uploads[attachment?.uploaded_filename ?? ""]).toEqual({
			size: picture.byteLength,
			contentType: "image/png",
		});
	});

	it("the setting defaults to off, refuses a non-boolean and is changed by PATCH", async () => {
		const account = await connectedAccount({ weight: 0 });
		expect((await channelView(account.id)).discord).toMatchObject({ describe_by_upload: false });
		const patch = (value: unknown) =>
			admin(`/${account.id}`, { method: "PATCH", body: JSON.stringify({ discord: { describe_by_upload: value } }) });
		const refused = await patch("yes");
		expect(refused.status).toBe(400);
		expect(await refused.text()).toContain("describe_by_upload");
		expect((await patch(true)).status).toBe(200);
		expect((await channelView(account.id)).discord).toMatchObject({ describe_by_upload: true });
	});
});

describe("what Midjourney says about the account", () => {
	it("credits exhausted: the account runs relax from then on and the task is sent again", async () => {
		const account = await connectedAccount({ weight: 1 });
		await fault(account.token, "credits_exhausted", { count: 1 });
		const token = await user();
		const id = await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "out of time" }));
		const task = await succeeded(token, id);
		expect(isPng(await servedFromR2(task, "image"))).toBe(true);
		const sent = (await recordedInteractions(account.token)) as unknown as {
			body: { data: { options: { value: string }[] } };
		}[];
		expect(sent).toHaveLength(2);
		expect(sent[1].body.data.options[0].value).toBe("out of time --relax");
		expect(await channelView(account.id)).toMatchObject({ mode: "relax", enabled: true });
	});

	it("blocked: the channel is disabled with Midjourney's words; its task fails, refunded", async () => {
		const account = await connectedAccount({ weight: 1 });
		await fault(account.token, "blocked", { count: 1 });
		const token = await user();
		const id = await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "nope" }));
		const task = await ended(token, id);
		expect(task.status).toBe("FAILURE");
		expect(task.failReason).toMatch(/Blocked/);
		expect((await taskRow(id)).refunded).toBe(true);
		const channel = await findChannel(db(), account.id);
		expect(channel?.enabled).toBe(false);
		expect(channel?.disabledReason).toMatch(/Blocked/);
	});

	it("a CAPTCHA stops the account and keeps its task; enabled again after solving, the task runs", async () => {
		const account = await connectedAccount({ weight: 1 });
		await fault(account.token, "captcha", { count: 1 });
		const token = await user();
		const id = await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "prove it" }));
		const channel = await disabledChannel(account.id, 10_000);
		expect(channel.disabledReason).toMatch(/^CAPTCHA: .*solve it, then enable the channel again/);
		expect(await channelView(account.id)).toMatchObject({ connection: "disabled", waiting: 1 });
		expect((await taskRow(id)).status).toBe("SUBMITTED");
		const admin = await tokenFor(uniqueSub("admin"), "admin");
		await call(`/api/admin/channels/${account.id}`, {
			method: "PATCH",
			token: admin,
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ enabled: true }),
		});
		await succeeded(token, id);
	});

	it("/info is read by the watchdog: the admin sees the fast time left", async () => {
		const account = await connectedAccount({ weight: 1 });
		expect(await runDurableObjectAlarm(accountObject(env, account.id))).toBe(true);
		const shown = await waitFor(async () => {
			const view = await channelView(account.id);
			return typeof view.fast_time_remaining === "string" && view.fast_time_remaining !== "" && view;
		}, 10_000);
		expect(shown.fast_time_remaining).toMatch(/hours/);
	});
});

describe("failover between a relay and a Discord account", () => {
	it("a relay that refuses its secret is disabled and the task runs on the Discord account", async () => {
		const account = await connectedAccount({ weight: 1 });
		const now = Date.now();
		const origin = `http://refusing-${Date.now()}.test`;
		// The relay answers 401 to everything; the Discord account's traffic goes through its own binding.
		useFetch(async (input) => {
			const url = new Request(input).url;
			if (url.startsWith(origin)) return new Response("unauthorized", { status: 401 });
			throw new Error(`unexpected fetch ${url}`);
		});
		const relay = await db()
			.insert(channels)
			.values({
				name: `refusing-${uniqueSub()}`,
				baseUrl: origin,
				secret: "s",
				weight: 1000,
				createdAt: now,
				updatedAt: now,
			})
			.returning()
			.get();
		const token = await user();
		const id = await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "elsewhere" }));
		await succeeded(token, id);
		expect((await taskRow(id)).channelId).toBe(account.id);
		const refused = await findChannel(db(), relay.id);
		expect(refused?.enabled).toBe(false);
		expect(refused?.disabledReason).toMatch(/refused the channel's secret/);
	});
});

describe("accountFilter on midjourney-proxy submits", () => {
	it("instanceId picks the channel, modes pick by the account's mode, and nothing matching is refused at submit", async () => {
		const heavy = await connectedAccount({ weight: 1000 });
		const light = await connectedAccount({ weight: 1, discord: { mode: "relax" } });
		const token = await user();
		const byId = await submitted(
			await proxyPost("/mj/submit/imagine", token, { prompt: "here", accountFilter: { instanceId: String(light.id) } }),
		);
		const byMode = await submitted(
			await proxyPost("/mj/submit/imagine", token, { prompt: "slowly", accountFilter: { modes: ["RELAX"] } }),
		);
		const free = await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "anywhere" }));
		await Promise.all([byId, byMode, free].map((id) => succeeded(token, id)));
		expect((await taskRow(byId)).channelId).toBe(light.id);
		expect((await taskRow(byMode)).channelId).toBe(light.id);
		// Without a filter the weights decide (1000 to 1): the heavy account, in practice always.
		expect([heavy.id, light.id]).toContain((await taskRow(free)).channelId);
		const none = await reply(
			await proxyPost("/mj/submit/imagine", token, {
				prompt: "nowhere",
				accountFilter: { instanceId: "no-such-channel" },
			}),
			503,
		);
		expect(none.description).toBe("no enabled channel matches accountFilter");
		const bad = await reply(
			await proxyPost("/mj/submit/imagine", token, { prompt: "x", accountFilter: { modes: ["SLOW"] } }),
			400,
		);
		expect(bad.description).toMatch(/accountFilter\.modes/);
	});
});

describe("the seed of a task on a Discord account", () => {
	it("reacts with ✉️ on the job's message and reads the seed from the bot's DM", async () => {
		const account = await connectedAccount({ weight: 1 });
		const token = await user();
		const task = await succeeded(
			token,
			await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "a seed" })),
		);
		const response = await call(`/mj/task/${task.id}/image-seed`, { headers: { "mj-api-secret": token } });
		const answer = await reply(response);
		expect(answer.code).toBe(1);
		expect(String(answer.result)).toMatch(/^\d+$/);
		// No DM channel in the settings: it was opened to receive the answer.
		expect((await fakeState(account.token)).dm_opens).toBe(1);
	});

	it("with dm_channel_id set, the DM is not opened again and the seed still arrives", async () => {
		const accountToken = freshToken();
		const dm = await (
			await rest(accountToken, "/api/v9/users/@me/channels", { body: { recipients: ["936929561302675456"] } })
		).json<{ id: string }>();
		const account = await connectedAccount({ weight: 1, token: accountToken, discord: { dm_channel_id: dm.id } });
		expect((await channelView(account.id)).discord).toMatchObject({ dm_channel_id: dm.id });
		const token = await user();
		const task = await succeeded(
			token,
			await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "a known DM" })),
		);
		const answer = await reply(await call(`/mj/task/${task.id}/image-seed`, { headers: { "mj-api-secret": token } }));
		expect(answer.code).toBe(1);
		expect(String(answer.result)).toMatch(/^\d+$/);
		expect((await fakeState(account.token)).dm_opens).toBe(1);
		const refused = await admin(`/${account.id}`, {
			method: "PATCH",
			body: JSON.stringify({ discord: { niji_dm_channel_id: "not-a-channel" } }),
		});
		expect(refused.status).toBe(400);
		expect(await refused.text()).toContain("discord.niji_dm_channel_id");
		// "" forgets it: the next seed opens the DM again.
		const cleared = await admin(`/${account.id}`, {
			method: "PATCH",
			body: JSON.stringify({ discord: { dm_channel_id: "" } }),
		});
		expect(cleared.status).toBe(200);
		expect((await channelView(account.id)).discord).not.toHaveProperty("dm_channel_id");
		const again = await reply(await call(`/mj/task/${task.id}/image-seed`, { headers: { "mj-api-secret": token } }));
		expect(again.code).toBe(1);
		expect((await fakeState(account.token)).dm_opens).toBe(2);
	});
});

describe("/submit/video on a Discord account", () => {
	it("animates an upscale with the button of the motion asked for, extends the video, and refuses a grid", async () => {
		const account = await connectedAccount({ weight: 1 });
		const token = await user();
		const grid = await succeeded(
			token,
			await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "waves" })),
		);
		const upscaled = await press(token, grid, grid.buttons[0].customId);
		const video = await succeeded(
			token,
			await submitted(await proxyPost("/mj/submit/video", token, { taskId: upscaled.id, motion: "high" })),
		);
		expect(video.action).toBe("VIDEO");
		expect(isMp4(await servedFromR2(video, "video"))).toBe(true);
		const longer = await succeeded(
			token,
			await submitted(
				await proxyPost("/mj/submit/video", token, { taskId: video.id, motion: "high", action: "extend" }),
			),
		);
		expect(isMp4(await servedFromR2(longer, "video"))).toBe(true);
		const sent = (await recordedInteractions(account.token)) as unknown as {
			body: { data: { custom_id?: string } };
		}[];
		const presses = sent.map((s) => s.body.data.custom_id ?? "");
		expect(presses.some((id) => id.startsWith("MJ::JOB::animate_high::"))).toBe(true);
		expect(presses.some((id) => id.startsWith("MJ::JOB::animate_high_extend::"))).toBe(true);
		const refused = await ended(
			token,
			await submitted(await proxyPost("/mj/submit/video", token, { taskId: grid.id, index: 1 })),
		);
		expect(refused.status).toBe("FAILURE");
		expect(refused.failReason).toMatch(/starts from an upscale/);
	}, 60_000);
});
