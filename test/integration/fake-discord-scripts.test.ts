/**
 * The fake Discord's Midjourney bot, driven as a client drives it (REST interactions, gateway
 * events), with every message it sends read by the gateway's own rules
 * (src/discord/midjourney.ts): each action ends in a result that classifyMessage reads and
 * matchTask gives to the task that asked for it.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import {
	classifyMessage,
	type DiscordMessage,
	type MjEvent,
	matchTask,
	normalizePrompt,
	type PendingTask,
} from "../../src/discord/midjourney";
import {
	CHANNEL,
	FAKE,
	FakeAccount,
	type FakeMessage,
	fault,
	GatewayClient,
	GUILD,
	MJ_BOT,
	NIJI_BOT,
	rest,
} from "../helpers/fake-discord";

const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

const open: FakeAccount[] = [];
afterEach(() => {
	for (const account of open.splice(0)) account.close();
});

async function account(): Promise<FakeAccount> {
	const connected = await FakeAccount.connect();
	open.push(connected);
	return connected;
}

/**
 * Plays the gateway's part for one task: every MESSAGE_CREATE / MESSAGE_UPDATE and
 * INTERACTION_SUCCESS from `from` on goes through classifyMessage and matchTask, as the account
 * object does. Resolves with the task's events once one is final (result, failure, describe, …).
 */
async function follow(
	acct: FakeAccount,
	task: Omit<PendingTask, "sentAt" | "status" | "taskId">,
	from: number,
	ms = 8000,
): Promise<{ events: MjEvent[]; messages: FakeMessage[]; pending: PendingTask }> {
	const pending: PendingTask = { taskId: "t", sentAt: 1, status: "sent", ...task };
	// Another task with the same prompt sent later: the fake's messages must never go to it.
	const decoy: PendingTask = {
		taskId: "decoy",
		nonce: "0",
		action: task.action,
		prompt: task.prompt,
		sentAt: 2,
		status: "sent",
	};
	const events: MjEvent[] = [];
	const messages: FakeMessage[] = [];
	let seen = from;
	const deadline = Date.now() + ms;
	for (;;) {
		const frames = acct.client.frames.slice(seen);
		seen += frames.length;
		for (const frame of frames) {
			if (frame.op !== 0) continue;
			const d = frame.d as FakeMessage & { nonce?: string };
			if (frame.t === "INTERACTION_SUCCESS" && d.nonce === pending.nonce) pending.interactionId = d.id;
			if (frame.t !== "MESSAGE_CREATE" && frame.t !== "MESSAGE_UPDATE") continue;
			const message = d as unknown as DiscordMessage;
			const event = classifyMessage(message);
			if (event.kind === "ignore") continue;
			const owner = matchTask(message, event, [decoy, pending]);
			if (owner !== pending) continue;
			events.push(event);
			messages.push(d);
			if (event.kind === "start" && !pending.messageId) {
				pending.messageId = message.id;
				pending.status = "started";
			}
			if (event.kind === "progress" && event.hash) pending.hash = event.hash;
			if (!["start", "progress", "warning"].includes(event.kind)) return { events, messages, pending };
		}
		if (Date.now() > deadline) throw new Error(`no final event; got ${JSON.stringify(events)}`);
		await new Promise((resolve) => setTimeout(resolve, 30));
	}
}

function last<T>(items: T[]): T {
	const item = items[items.length - 1];
	if (item === undefined) throw new Error("empty");
	return item;
}

async function fetchFromFake(url: string): Promise<Response> {
	return env.FAKE_DISCORD.fetch(url);
}

/** Runs an imagine to its grid and answers the grid message and its event. */
async function grid(acct: FakeAccount, prompt: string, app = MJ_BOT) {
	const from = acct.client.frames.length;
	const nonce = await acct.imagine(prompt, app);
	const followed = await follow(acct, { nonce, action: "IMAGINE", prompt }, from);
	const result = last(followed.events);
	if (result.kind !== "result") throw new Error(`not a result: ${JSON.stringify(result)}`);
	return { ...followed, result, message: last(followed.messages) };
}

/** Presses `customId` on `message` and follows the job it starts. */
async function press(acct: FakeAccount, message: FakeMessage, customId: string, task: Partial<PendingTask> = {}) {
	const from = acct.client.frames.length;
	const pressed = await acct.press(message, customId);
	expect(pressed.status, pressed.body).toBe(204);
	const prompt = /^\*\*([\s\S]*?)\*\*/.exec(message.content)?.[1];
	return follow(acct, { nonce: pressed.nonce, action: "ACTION", prompt, ...task }, from);
}

describe("imagine", () => {
	it("answers with the nonce, progress with a preview, then the grid with buttons, in Discord's order", async () => {
		const acct = await account();
		const { events, messages, result, pending } = await grid(acct, "a red fox in snow --ar 1:1");
		expect(events.map((e) => e.kind)).toEqual(["start", "progress", "progress", "result"]);
		expect(events[0]).toEqual({ kind: "start", prompt: "a red fox in snow --ar 1:1" });
		expect(events.slice(1, 3).map((e) => (e.kind === "progress" ? e.progress : -1))).toEqual([31, 72]);
		expect(result.hash).toMatch(/^[0-9a-f-]{36}$/);
		expect(pending.hash).toBe(result.hash);
		expect(result.mode).toBe("fast");
		expect(result.buttons.map((b) => b.label || b.emoji)).toEqual([
			"U1",
			"U2",
			"U3",
			"U4",
			"🔄",
			"V1",
			"V2",
			"V3",
			"V4",
		]);
		// The final message is new, carries no nonce, and names the interaction.
		const final = last(messages);
		expect(final.id).not.toBe(messages[0]?.id);
		expect(final.nonce).toBeUndefined();
		expect(final.interaction_metadata?.id).toBe(pending.interactionId);
		// The progress message was deleted before the final one came.
		expect(acct.dispatches("MESSAGE_DELETE").map((f) => (f.d as { id: string }).id)).toContain(messages[0]?.id);
		const picture = await fetchFromFake(result.imageUrl);
		expect(picture.status).toBe(200);
		expect(picture.headers.get("content-type")).toBe("image/png");
		expect([...new Uint8Array(await picture.arrayBuffer()).slice(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
		// GET …/messages lists it, newest first.
		const listed = await (await rest(acct.token, `/api/v9/channels/${CHANNEL}/messages?limit=5`)).json<
			{ id: string }[]
		>();
		expect(listed[0]?.id).toBe(final.id);
	});

	it("runs on the Niji bot when the command is Niji's", async () => {
		const acct = await account();
		const { message, result } = await grid(acct, "a cat girl --niji 6", NIJI_BOT);
		expect((message.author as { id: string }).id).toBe(NIJI_BOT);
		expect(result.prompt).toBe("a cat girl --niji 6");
	});

	it("answers /relax, then shows (relaxed) on jobs", async () => {
		const acct = await account();
		expect((await acct.command("relax")).status).toBe(204);
		const { result } = await grid(acct, "a quiet lake");
		expect(result.mode).toBe("relax");
	});

	it("rewrites links as s.mj.run under --fake-rewrite, and the prompt still matches", async () => {
		const acct = await account();
		const prompt = "https://gw.example/i/one.png?sig=1 https://gw.example/i/two.png?sig=2 a blend --fake-rewrite";
		const { events } = await grid(acct, prompt);
		const start = events[0];
		if (start?.kind !== "start") throw new Error("no start");
		expect(start.prompt).toMatch(/^<https:\/\/s\.mj\.run\/\w+> <https:\/\/s\.mj\.run\/\w+> a blend/);
		expect(normalizePrompt(start.prompt)).toBe(normalizePrompt(prompt));
	});
});

describe("buttons", () => {
	it("U1–U4 answer 'Image #N' replying to the grid, with the upscale buttons", async () => {
		const acct = await account();
		const { message, result } = await grid(acct, "a red fox");
		const u2 = result.buttons.find((b) => b.label === "U2")?.customId ?? "";
		const picked = await press(acct, message, u2, {
			action: "UPSCALE",
			parentMessageId: message.id,
			index: 2,
		});
		const event = last(picked.events);
		expect(event).toMatchObject({ kind: "result", index: 2, prompt: "a red fox" });
		const final = last(picked.messages) as FakeMessage & { referenced_message: { id: string } };
		expect(final.referenced_message.id).toBe(message.id);
		if (event.kind !== "result") throw new Error("no result");
		expect(event.buttons.map((b) => b.customId.split("::")[2])).toEqual(
			expect.arrayContaining([
				"upsample_v6_2x_subtle",
				"upsample_v6_2x_creative",
				"low_variation",
				"high_variation",
				"pan_left",
				"animate_high",
			]),
		);
	});

	it("every grid and upscale button runs its job to a result with Midjourney's wording", async () => {
		const acct = await account();
		const { message, result } = await grid(acct, "a red fox");
		const id = (label: string) => result.buttons.find((b) => b.label === label || b.emoji === label)?.customId ?? "";
		const upscale = await press(acct, message, id("U1"), { action: "UPSCALE", parentMessageId: message.id, index: 1 });
		const single = last(upscale.messages);
		const singleResult = last(upscale.events);
		if (singleResult.kind !== "result") throw new Error("no upscale");
		const singleId = (verb: string) => singleResult.buttons.find((b) => b.customId.includes(verb))?.customId ?? "";
		const cases: [FakeMessage, string, RegExp][] = [
			[message, id("V3"), /- Variations \(Strong\) by <@\d+> \(fast\)$/],
			[message, id("🔄"), /^\*\*a red fox\*\* - <@\d+> \(fast\)$/],
			[single, singleId("upsample_v6_2x_subtle"), /- Upscaled \(Subtle\) by/],
			[single, singleId("upsample_v6_2x_creative"), /- Upscaled \(Creative\) by/],
			[single, singleId("low_variation"), /- Variations \(Subtle\) by/],
			[single, singleId("high_variation"), /- Variations \(Strong\) by/],
			[single, singleId("pan_left"), /- Pan Left by/],
			[single, singleId("pan_right"), /- Pan Right by/],
			[single, singleId("pan_up"), /- Pan Up by/],
			[single, singleId("pan_down"), /- Pan Down by/],
			[single, singleId("Outpaint::50"), /- Zoom Out by/],
			[single, singleId("Outpaint::75"), /- Zoom Out by/],
		];
		const runs = await Promise.all(cases.map(([on, customId]) => press(acct, on, customId)));
		runs.forEach((run, i) => {
			const [, customId, wording] = cases[i] ?? [];
			expect(last(run.events).kind, customId).toBe("result");
			expect(last(run.messages).content, customId).toMatch(wording ?? /$^/);
		});
		const hashes = new Set(runs.map((run) => (last(run.events) as { hash: string }).hash));
		expect(hashes.size).toBe(cases.length);
	});

	it("animate answers an mp4, and extend works on the video", async () => {
		const acct = await account();
		const { message, result } = await grid(acct, "a red fox");
		const u1 = result.buttons.find((b) => b.label === "U1")?.customId ?? "";
		const upscale = await press(acct, message, u1, { action: "UPSCALE", parentMessageId: message.id, index: 1 });
		const single = last(upscale.messages);
		const animateId = single.components.flatMap((r) => r.components).find((c) => c.custom_id?.includes("animate_high"));
		const video = await press(acct, single, animateId?.custom_id ?? "", { action: "VIDEO" });
		const event = last(video.events);
		if (event.kind !== "result" || !event.videoUrl) throw new Error(`no video: ${JSON.stringify(event)}`);
		expect(event.videoUrl).toMatch(new RegExp(`${event.hash}_0\\.mp4`));
		const mp4 = await fetchFromFake(event.videoUrl);
		expect(mp4.headers.get("content-type")).toBe("video/mp4");
		expect((await mp4.arrayBuffer()).byteLength).toBe(7288);
		const extendId = event.buttons.find((b) => b.customId.includes("animate_low_extend"))?.customId ?? "";
		const extended = await press(acct, last(video.messages), extendId, { action: "VIDEO" });
		expect(last(extended.events)).toMatchObject({ kind: "result", videoUrl: expect.stringMatching(/\.mp4/) });
	});

	it("a button of an unknown message is 404 10008; a custom id the message does not show is 400 50035", async () => {
		const acct = await account();
		const { message, result } = await grid(acct, "a red fox");
		const gone = await acct.press({ ...message, id: "1" }, result.buttons[0]?.customId ?? "");
		expect(gone.status).toBe(404);
		expect(JSON.parse(gone.body)).toMatchObject({ code: 10008 });
		const foreign = await acct.press(message, "MJ::JOB::upsample::1::00000000-0000-4000-8000-000000000000");
		expect(foreign.status).toBe(400);
		expect(JSON.parse(foreign.body)).toMatchObject({ code: 50035 });
	});
});

describe("modal flows", () => {
	it("Custom Zoom: the press opens a modal, its submit runs the zoom with the new prompt", async () => {
		const acct = await account();
		const { message, result } = await grid(acct, "a red fox");
		const u1 = result.buttons.find((b) => b.label === "U1")?.customId ?? "";
		const single = last(
			(await press(acct, message, u1, { action: "UPSCALE", parentMessageId: message.id, index: 1 })).messages,
		);
		const zoomId = single.components
			.flatMap((r) => r.components)
			.find((c) => c.custom_id?.startsWith("MJ::CustomZoom::"));
		const pressed = await acct.press(single, zoomId?.custom_id ?? "");
		expect(pressed.status).toBe(204);
		const modal = (await acct.waitFor("INTERACTION_MODAL_CREATE", (d) => d.nonce === pressed.nonce)) as unknown as {
			id: string;
			custom_id: string;
			components: { components: { custom_id: string; value: string }[] }[];
		};
		expect(modal.custom_id).toMatch(/^MJ::OutpaintCustomZoomModal::[0-9a-f-]{36}$/);
		expect(modal.components[0]?.components[0]).toMatchObject({
			custom_id: "MJ::OutpaintCustomZoomModal::prompt",
			value: "a red fox --zoom 2",
		});
		// A modal id it never opened is refused.
		expect((await acct.submitModal({ ...modal, id: "123" }, "a red fox --zoom 1.8")).status).toBe(400);
		const from = acct.client.frames.length;
		const submitted = await acct.submitModal(modal, "a red fox --zoom 1.8");
		expect(submitted.status).toBe(204);
		const zoom = await follow(
			acct,
			{ nonce: submitted.nonce, action: "CUSTOM_ZOOM", prompt: "a red fox --zoom 1.8" },
			from,
		);
		expect(last(zoom.events)).toMatchObject({ kind: "result", prompt: "a red fox --zoom 1.8" });
		expect(last(zoom.messages).content).toMatch(/- Zoom Out by/);
		// A modal is submitted once.
		expect((await acct.submitModal(modal, "again")).status).toBe(400);
	});

	it("remix: with remix on (the settings button or --fake-remix) V, reroll and pan open modals", async () => {
		const acct = await account();
		const settings = await acct.command("settings");
		const panel = await acct.waitFor("MESSAGE_CREATE", (d) => d.nonce === settings.nonce);
		expect((await acct.press(panel, "MJ::Settings::RemixMode")).status).toBe(204);
		await acct.waitFor("MESSAGE_UPDATE", (d) => d.id === panel.id);
		const { message, result } = await grid(acct, "a red fox");
		const cases: [string, RegExp, string, RegExp][] = [
			["V2", /^MJ::RemixModal::[0-9a-f-]{36}::2::1$/, "MJ::RemixModal::new_prompt", /- Remix \(Strong\) by/],
			["🔄", /^MJ::ImagineModal::\d+$/, "MJ::ImagineModal::new_prompt", /^\*\*a blue fox\*\* - <@\d+>/],
		];
		for (const [label, modalId, field, wording] of cases) {
			const customId = result.buttons.find((b) => b.label === label || b.emoji === label)?.customId ?? "";
			const pressed = await acct.press(message, customId);
			const modal = (await acct.waitFor("INTERACTION_MODAL_CREATE", (d) => d.nonce === pressed.nonce)) as unknown as {
				id: string;
				custom_id: string;
				components: { components: { custom_id: string }[] }[];
			};
			expect(modal.custom_id).toMatch(modalId);
			expect(modal.components[0]?.components[0]?.custom_id).toBe(field);
			const from = acct.client.frames.length;
			const submitted = await acct.submitModal(modal, "a blue fox");
			const run = await follow(acct, { nonce: submitted.nonce, action: "VARIATION", prompt: "a blue fox" }, from);
			expect(last(run.messages).content).toMatch(wording);
		}
	});

	it("Vary (Region): the press opens the iframe, submit-job on the activity host runs it", async () => {
		const acct = await account();
		const { message, result } = await grid(acct, "a red fox");
		const u1 = result.buttons.find((b) => b.label === "U1")?.customId ?? "";
		const single = last(
			(await press(acct, message, u1, { action: "UPSCALE", parentMessageId: message.id, index: 1 })).messages,
		);
		const inpaint = single.components
			.flatMap((r) => r.components)
			.find((c) => c.custom_id?.startsWith("MJ::Inpaint::"));
		const from = acct.client.frames.length;
		const pressed = await acct.press(single, inpaint?.custom_id ?? "");
		const iframe = (await acct.waitFor(
			"INTERACTION_IFRAME_MODAL_CREATE",
			(d) => d.nonce === pressed.nonce,
		)) as unknown as {
			id: string;
			custom_id: string;
		};
		expect(iframe.custom_id).toMatch(/^MJ::iframe::[0-9a-f]{32}$/);
		const token = iframe.custom_id.slice("MJ::iframe::".length);
		const submit = (body: unknown) =>
			env.FAKE_DISCORD.fetch(`${FAKE}/inpaint/api/submit-job`, {
				method: "POST",
				headers: { "content-type": "application/json" },
				body: JSON.stringify(body),
			});
		expect((await submit({ customId: token, mask: "not a png", prompt: "x" })).status).toBe(400);
		expect((await submit({ customId: "nope", mask: PNG, prompt: "x" })).status).toBe(404);
		const accepted = await submit({
			customId: token,
			mask: PNG,
			prompt: "a red fox with a hat",
			userId: "0",
			username: "0",
		});
		expect(await accepted.json()).toEqual({ success: true });
		const run = await follow(acct, { nonce: pressed.nonce, action: "INPAINT", prompt: "a red fox with a hat" }, from);
		expect(last(run.events)).toMatchObject({ kind: "result", prompt: "a red fox with a hat" });
		expect(last(run.messages).content).toMatch(/- Variations \(Region\) by/);
		expect(last(run.messages).interaction_metadata?.id).toBe(iframe.id);
	});
});

describe("held steps (benchmarks)", () => {
	const control = async (path: string, body: unknown) =>
		env.FAKE_DISCORD.fetch(new Request(`${FAKE}${path}`, { method: "POST", body: JSON.stringify(body) }));

	it("while held, the bot sends nothing until /_fake/step, then one step per call in order; release runs the rest", async () => {
		const acct = await account();
		expect(await (await control("/_fake/step", { token: acct.token })).status).toBe(409);
		expect(await (await control("/_fake/hold", { token: acct.token, hold: true })).json()).toEqual({ held: true });
		const from = acct.client.frames.length;
		await acct.imagine("a held job");
		await new Promise((resolve) => setTimeout(resolve, 400));
		// Four steps of 50 ms (vitest.config.ts) would have run twice over by now: none did.
		expect(acct.client.frames.slice(from).filter((f) => f.op === 0)).toEqual([]);
		const step = async () =>
			(await control("/_fake/step", { token: acct.token })).json<{
				ran: boolean;
				dispatched: { t: string; content?: string; attachments?: number }[];
				left: number;
			}>();
		const kinds: string[][] = [];
		for (let i = 0; i < 5; i++) {
			const answer = await step();
			expect(answer.ran).toBe(true);
			kinds.push(answer.dispatched.map((d) => d.t));
			if (i === 2) expect(answer.dispatched[0]?.content).toContain("(31%)");
			if (i === 4) expect(answer.dispatched[1]?.attachments).toBe(1);
		}
		expect(kinds).toEqual([
			["INTERACTION_CREATE", "INTERACTION_SUCCESS"],
			["MESSAGE_CREATE"],
			["MESSAGE_UPDATE"],
			["MESSAGE_UPDATE"],
			["MESSAGE_DELETE", "MESSAGE_CREATE"],
		]);
		expect(await step()).toEqual({ ran: false, dispatched: [], left: 0 });
		// What the client received is what the steps said, in the same order.
		await acct.client.dispatch("MESSAGE_DELETE", 2000, from);
		expect(
			acct.client.frames
				.slice(from)
				.filter((f) => f.op === 0)
				.map((f) => f.t),
		).toEqual(kinds.flat());

		// Released: a held job runs on by its timers again.
		await acct.imagine("a released job");
		await step();
		expect(await (await control("/_fake/hold", { token: acct.token, hold: false })).json()).toEqual({ held: false });
		const after = acct.client.frames.length;
		await acct.client.next((f) => f.op === 0 && f.t === "MESSAGE_DELETE", 3000, after);
	});
});

describe("a long job", () => {
	it("--fake-long sends twelve progress updates, rising, before the final grid", async () => {
		const acct = await account();
		const { events } = await grid(acct, "a long walk --fake-long");
		expect(events.map((e) => e.kind)).toEqual(["start", ...Array(12).fill("progress"), "result"]);
		const percents = events.flatMap((e) => (e.kind === "progress" ? [e.progress] : []));
		expect(percents).toEqual([...percents].sort((a, b) => a - b));
		expect(percents.at(-1)).toBeLessThan(100);
	});
});

describe("describe, blend, shorten, info, show", () => {
	it("describe by link: a picture first, then four numbered prompts", async () => {
		const acct = await account();
		const from = acct.client.frames.length;
		const { nonce } = await acct.command("describe", [
			{ type: 3, name: "link", value: "https://gw.example/i/1.png?sig=1" },
		]);
		const run = await follow(acct, { nonce, action: "DESCRIBE" }, from);
		expect(run.events.map((e) => e.kind)).toEqual(["start", "describe"]);
		const event = last(run.events);
		if (event.kind !== "describe") throw new Error("no describe");
		expect(event.prompts).toHaveLength(4);
		expect((await fetchFromFake(event.imageUrl ?? "")).status).toBe(200);
	});

	it("describe by upload: attachments flow, then the same answer", async () => {
		const acct = await account();
		const slot = await (
			await rest(acct.token, `/api/v9/channels/${CHANNEL}/attachments`, {
				body: { files: [{ filename: "cat.png", file_size: 70, id: "0" }] },
			})
		).json<{ attachments: { upload_url: string; upload_filename: string }[] }>();
		const upload = slot.attachments[0];
		if (!upload) throw new Error("no slot");
		expect((await env.FAKE_DISCORD.fetch(upload.upload_url, { method: "PUT", body: "png" })).status).toBe(200);
		const from = acct.client.frames.length;
		const { nonce } = await acct.command("describe", [{ type: 11, name: "image", value: 0 }], {
			attachments: [{ id: "0", filename: "cat.png", uploaded_filename: upload.upload_filename }],
		});
		expect(last((await follow(acct, { nonce, action: "DESCRIBE" }, from)).events).kind).toBe("describe");
	});

	it("blend of uploaded images: a grid whose prompt shows s.mj.run links and the dimensions", async () => {
		const acct = await account();
		const from = acct.client.frames.length;
		const { nonce } = await acct.command(
			"blend",
			[
				{ type: 11, name: "image1", value: 0 },
				{ type: 11, name: "image2", value: 1 },
				{ type: 3, name: "dimensions", value: "--ar 2:3" },
			],
			{
				attachments: [
					{ id: "0", filename: "a.png", uploaded_filename: "x/a.png" },
					{ id: "1", filename: "b.png", uploaded_filename: "y/b.png" },
				],
			},
		);
		const run = await follow(acct, { nonce, action: "BLEND" }, from);
		const event = last(run.events);
		expect(event).toMatchObject({ kind: "result" });
		expect((event as { prompt: string }).prompt).toMatch(
			/^<https:\/\/s\.mj\.run\/\w+> <https:\/\/s\.mj\.run\/\w+> --ar 2:3$/,
		);
		const one = await acct.command("blend", [{ type: 11, name: "image1", value: 0 }], {
			attachments: [{ id: "0", filename: "a.png", uploaded_filename: "x/a.png" }],
		});
		expect(one.status).toBe(400);
	});

	it("shorten: five shorter prompts", async () => {
		const acct = await account();
		const from = acct.client.frames.length;
		const { nonce } = await acct.command("shorten", [
			{ type: 3, name: "prompt", value: "a very detailed red fox standing in deep fresh snow at dawn --ar 3:2" },
		]);
		const event = last((await follow(acct, { nonce, action: "SHORTEN" }, from)).events);
		if (event.kind !== "shorten") throw new Error(`no shorten: ${JSON.stringify(event)}`);
		expect(event.prompts).toHaveLength(5);
		expect(event.prompts.every((p) => p.endsWith("--ar 3:2"))).toBe(true);
	});

	it("/info: fast time remaining and the mode", async () => {
		const acct = await account();
		await acct.command("turbo");
		const from = acct.client.frames.length;
		const { nonce } = await acct.command("info");
		const event = last((await follow(acct, { nonce, action: "INFO" }, from)).events);
		expect(event).toEqual({ kind: "info", fastTimeRemaining: "13.91/15.0 hours (92.73%)", mode: "turbo" });
	});

	it("/show of a job in the DM, then ✉️ on it: the seed arrives as a DM", async () => {
		const acct = await account();
		const { result } = await grid(acct, "a red fox");
		const dm = await (await rest(acct.token, "/api/v9/users/@me/channels", { body: { recipients: [MJ_BOT] } })).json<{
			id: string;
		}>();
		const from = acct.client.frames.length;
		const { nonce } = await acct.command("show", [{ type: 3, name: "job_id", value: result.hash }], {
			channelId: dm.id,
		});
		const shown = await follow(acct, { nonce, action: "SEED" }, from);
		expect(last(shown.events)).toMatchObject({ kind: "result", hash: result.hash });
		const shownMessage = last(shown.messages);
		expect(shownMessage.channel_id).toBe(dm.id);
		const reaction = await rest(
			acct.token,
			`/api/v9/channels/${dm.id}/messages/${shownMessage.id}/reactions/%E2%9C%89%EF%B8%8F/%40me`,
			{ method: "PUT" },
		);
		expect(reaction.status).toBe(204);
		const reply = await acct.waitFor("MESSAGE_CREATE", (d) => d.channel_id === dm.id && d.content.includes("**seed**"));
		expect(classifyMessage(reply as unknown as DiscordMessage)).toEqual({
			kind: "seed",
			hash: result.hash,
			seed: expect.stringMatching(/^\d+$/),
		});
		const unknown = await acct.command("show", [
			{ type: 3, name: "job_id", value: "00000000-0000-4000-8000-000000000000" },
		]);
		const refused = await acct.waitFor("MESSAGE_CREATE", (d) => d.nonce === unknown.nonce);
		expect(classifyMessage(refused as unknown as DiscordMessage).kind).toBe("failure");
	});
});

describe("markers and faults", () => {
	it.each([
		["--fake-banned", "Banned prompt detected"],
		["--fake-invalid", "Invalid parameter"],
		["--fake-invalid-link", "Invalid link"],
		["--fake-queue-full", "Queue full"],
		["--fake-failed", "Failed to process your command :("],
	])("%s fails the job with Midjourney's words, matched by nonce", async (marker, title) => {
		const acct = await account();
		const from = acct.client.frames.length;
		const nonce = await acct.imagine(`a fox ${marker}`);
		const run = await follow(acct, { nonce, action: "IMAGINE", prompt: `a fox ${marker}` }, from);
		expect(run.events).toEqual([expect.objectContaining({ kind: "failure", title })]);
	});

	it("--fake-filtered fails after progress, matched by its interaction", async () => {
		const acct = await account();
		const from = acct.client.frames.length;
		const nonce = await acct.imagine("a fox --fake-filtered");
		const run = await follow(acct, { nonce, action: "IMAGINE", prompt: "a fox --fake-filtered" }, from);
		expect(run.events.map((e) => e.kind)).toEqual(["start", "progress", "progress", "failure"]);
		expect(last(run.events)).toMatchObject({ title: "Request cancelled due to output filters" });
	});

	it("--fake-warning warns, then the job runs", async () => {
		const acct = await account();
		const from = acct.client.frames.length;
		const nonce = await acct.imagine("a fox --fake-warning");
		const run = await follow(acct, { nonce, action: "IMAGINE", prompt: "a fox --fake-warning" }, from);
		expect(run.events.map((e) => e.kind)).toEqual(["warning", "start", "progress", "progress", "result"]);
	});

	it.each([
		["captcha", "captcha"],
		["credits_exhausted", "credits_exhausted"],
		["blocked", "blocked"],
		["pending_mod", "pending_mod"],
		["plan_cancelled", "plan_cancelled"],
		["subscription_required", "subscription_required"],
	])("the %s fault answers the next interaction with the account state", async (name, state) => {
		const acct = await account();
		await fault(acct.token, name);
		const from = acct.client.frames.length;
		const nonce = await acct.imagine("a fox");
		const run = await follow(acct, { nonce, action: "IMAGINE", prompt: "a fox" }, from);
		expect(run.events).toEqual([expect.objectContaining({ kind: "account", state })]);
		// Used up: the next one runs.
		const again = await grid(acct, "a fox");
		expect(again.result.kind).toBe("result");
	});

	it("credits_exhausted leaves no fast time in /info", async () => {
		const acct = await account();
		await fault(acct.token, "credits_exhausted");
		await acct.imagine("a fox");
		const from = acct.client.frames.length;
		const { nonce } = await acct.command("info");
		expect(last((await follow(acct, { nonce, action: "INFO" }, from)).events)).toMatchObject({
			fastTimeRemaining: "0.00/15.0 hours (0.00%)",
		});
	});

	it("delete_next deletes the job's message mid-way and never finishes it", async () => {
		const acct = await account();
		await fault(acct.token, "delete_next");
		const from = acct.client.frames.length;
		const nonce = await acct.imagine("a fox");
		const start = await acct.waitFor("MESSAGE_CREATE", (d) => d.nonce === nonce);
		await acct.waitFor("MESSAGE_DELETE", (d) => d.id === start.id);
		await new Promise((resolve) => setTimeout(resolve, 500));
		const creates = acct.dispatches("MESSAGE_CREATE", from);
		expect(creates).toHaveLength(1);
	});

	it("drop_interaction_metadata and --fake-no-metadata: the final message has no interaction_metadata, and still matches", async () => {
		const acct = await account();
		await fault(acct.token, "drop_interaction_metadata");
		const dropped = await grid(acct, "a fox");
		expect(last(dropped.messages).interaction_metadata).toBeUndefined();
		expect(last(dropped.messages).interaction).toBeUndefined();
		const marked = await grid(acct, "a fox --fake-no-metadata");
		expect(last(marked.messages).interaction_metadata).toBeUndefined();
		const normal = await grid(acct, "a fox");
		expect(last(normal.messages).interaction_metadata).toBeDefined();
	});

	it("identical prompts at the same moment: each task ends with its own image", async () => {
		const acct = await account();
		await fault(acct.token, "drop_interaction_metadata", { count: 2 });
		const from = acct.client.frames.length;
		const [first, second] = await Promise.all([acct.imagine("twin foxes"), acct.imagine("twin foxes")]);
		const [a, b] = await Promise.all([
			follow(acct, { nonce: first, action: "IMAGINE", prompt: "twin foxes" }, from),
			follow(acct, { nonce: second, action: "IMAGINE", prompt: "twin foxes" }, from),
		]);
		const hashA = (last(a.events) as { hash: string }).hash;
		const hashB = (last(b.events) as { hash: string }).hash;
		expect(hashA).not.toBe(hashB);
		expect(a.pending.hash).toBe(hashA);
		expect(b.pending.hash).toBe(hashB);
	});

	it("--fake-params adds a default parameter Midjourney shows", async () => {
		const acct = await account();
		const { result } = await grid(acct, "a fox --fake-params");
		expect(result.prompt).toBe("a fox --fake-params --v 7");
	});

	it("a job's messages made while disconnected are replayed after RESUME", async () => {
		const acct = await account();
		const seq = acct.client.frames.filter((f) => f.op === 0).reduce((max, f) => Math.max(max, f.s ?? 0), 0);
		const nonce = await acct.imagine("a fox in the dark");
		acct.close();
		await new Promise((resolve) => setTimeout(resolve, 700));
		const again = await GatewayClient.open();
		again.send(6, { token: acct.token, session_id: acct.sessionId, seq });
		await again.dispatch("RESUMED");
		const kinds = again.frames
			.filter((f) => f.op === 0 && (f.t === "MESSAGE_CREATE" || f.t === "MESSAGE_UPDATE"))
			.map((f) => classifyMessage(f.d as DiscordMessage).kind);
		expect(kinds).toEqual(["start", "progress", "progress", "result"]);
		const first = again.frames.find((f) => f.t === "MESSAGE_CREATE");
		expect((first?.d as { nonce?: string } | undefined)?.nonce).toBe(nonce);
		again.close();
	});
});

describe("guild and channel", () => {
	it("messages carry the guild and channel of the interaction", async () => {
		const acct = await account();
		const { message } = await grid(acct, "a fox");
		expect(message).toMatchObject({ guild_id: GUILD, channel_id: CHANNEL });
	});
});
