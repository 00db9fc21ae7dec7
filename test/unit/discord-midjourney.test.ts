/**
 * Midjourney's messages as the bot sends them, each with what it must mean (classifyMessage)
 * and whose task it is (matchTask). When Midjourney changes a message, change its row here.
 */
import { describe, expect, it } from "vitest";
import {
	buttonsOf,
	classifyMessage,
	type DiscordMessage,
	hashFromUrl,
	MIDJOURNEY_BOT_ID,
	type MjEvent,
	matchTask,
	NIJI_BOT_ID,
	normalizePrompt,
	type PendingTask,
} from "../../src/discord/midjourney";

const H = "3f1c2b9a-7d4e-4a51-9c0e-2b8f6d1e4a77";
const H2 = "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d";
const USER = "<@1122334455667788990>";
const CHANNEL = "1200000000000000001";
const CDN = "https://cdn.discordapp.com/attachments/1200000000000000001/1300000000000000002";

function bot(fields: Partial<DiscordMessage>, author = MIDJOURNEY_BOT_ID): DiscordMessage {
	return { id: "1300000000000000100", channel_id: CHANNEL, author: { id: author }, content: "", ...fields };
}

const button = (custom_id: string, label = "", emoji?: string) => ({
	type: 2,
	custom_id,
	label,
	style: 2,
	...(emoji ? { emoji: { name: emoji } } : {}),
});

const GRID_BUTTONS = [
	{
		type: 1,
		components: [1, 2, 3, 4].map((i) => button(`MJ::JOB::upsample::${i}::${H}`, `U${i}`)),
	},
	{
		type: 1,
		components: [
			button(`MJ::JOB::reroll::0::${H}::SOLO`, "", "🔄"),
			...[1, 2, 3, 4].map((i) => button(`MJ::JOB::variation::${i}::${H}`, `V${i}`)),
		],
	},
];
const UPSCALE_BUTTONS = [
	{
		type: 1,
		components: [
			button(`MJ::JOB::upsample_v6_2x_subtle::1::${H}::SOLO`, "Upscale (Subtle)"),
			button(`MJ::JOB::upsample_v6_2x_creative::1::${H}::SOLO`, "Upscale (Creative)"),
		],
	},
	{
		type: 1,
		components: [
			button(`MJ::JOB::low_variation::1::${H}::SOLO`, "Vary (Subtle)", "🪄"),
			button(`MJ::JOB::high_variation::1::${H}::SOLO`, "Vary (Strong)", "🪄"),
			button(`MJ::Inpaint::1::${H}::SOLO`, "Vary (Region)", "🖌️"),
		],
	},
	{
		type: 1,
		components: [
			button(`MJ::Outpaint::50::1::${H}::SOLO`, "Zoom Out 2x", "🔍"),
			button(`MJ::Outpaint::75::1::${H}::SOLO`, "Zoom Out 1.5x", "🔍"),
			button(`MJ::CustomZoom::${H}`, "Custom Zoom", "🔍"),
		],
	},
	{
		type: 1,
		components: [
			button(`MJ::JOB::pan_left::1::${H}::SOLO`, "", "⬅️"),
			button(`MJ::JOB::pan_right::1::${H}::SOLO`, "", "➡️"),
			button(`MJ::JOB::pan_up::1::${H}::SOLO`, "", "⬆️"),
			button(`MJ::JOB::pan_down::1::${H}::SOLO`, "", "⬇️"),
		],
	},
	{ type: 1, components: [{ type: 2, style: 5, label: "Web", url: `https://www.midjourney.com/jobs/${H}?index=0` }] },
];

const grid = (name = `someone_a_red_fox_in_snow_${H}.png`) => [
	{
		url: `${CDN}/${name}?ex=6650&is=664f&hm=ab12`,
		filename: name,
		width: 2048,
		height: 2048,
		content_type: "image/png",
	},
];

const examples: [string, DiscordMessage, MjEvent][] = [
	[
		"imagine: waiting to start",
		bot({
			content: `**a red fox in snow --ar 1:1 --v 6.1** - ${USER} (Waiting to start)`,
			nonce: "1245678901234567890",
		}),
		{ kind: "start", prompt: "a red fox in snow --ar 1:1 --v 6.1" },
	],
	[
		"imagine: progress with a preview",
		bot({
			content: `**a red fox in snow --v 6.1** - ${USER} (31%) (fast)`,
			attachments: [{ url: `${CDN}/${H}_grid_0.webp`, filename: `${H}_grid_0.webp`, width: 512, height: 512 }],
		}),
		{
			kind: "progress",
			prompt: "a red fox in snow --v 6.1",
			progress: 31,
			imageUrl: `${CDN}/${H}_grid_0.webp`,
			hash: H,
			mode: "fast",
		},
	],
	[
		"imagine: progress without a preview, relaxed and stealth",
		bot({ content: `**a red fox in snow** - ${USER} (0%) (relaxed, stealth)` }),
		{ kind: "progress", prompt: "a red fox in snow", progress: 0, mode: "relax" },
	],
	[
		"imagine: the final grid",
		bot({ content: `**a red fox in snow --v 6.1** - ${USER} (fast)`, attachments: grid(), components: GRID_BUTTONS }),
		{
			kind: "result",
			prompt: "a red fox in snow --v 6.1",
			imageUrl: grid()[0]?.url ?? "",
			imageUrls: [grid()[0]?.url ?? ""],
			hash: H,
			buttons: buttonsOf({ id: "x", channel_id: CHANNEL, components: GRID_BUTTONS }),
			mode: "fast",
			width: 2048,
			height: 2048,
		},
	],
	[
		"niji: the final grid in turbo",
		bot(
			{
				content: `**a cat girl --niji 6** - ${USER} (turbo)`,
				attachments: [{ url: `https://cdn.midjourney.com/${H}/0_0.png` }],
			},
			NIJI_BOT_ID,
		),
		{
			kind: "result",
			prompt: "a cat girl --niji 6",
			imageUrl: `https://cdn.midjourney.com/${H}/0_0.png`,
			imageUrls: [`https://cdn.midjourney.com/${H}/0_0.png`],
			hash: H,
			buttons: [],
			mode: "turbo",
		},
	],
	[
		"blend: links rewritten as s.mj.run",
		bot({
			content: `**<https://s.mj.run/aB3dE> <https://s.mj.run/fG5hI> --ar 2:3** - ${USER} (fast)`,
			attachments: grid(`someone_${H}.png`),
		}),
		{
			kind: "result",
			prompt: "<https://s.mj.run/aB3dE> <https://s.mj.run/fG5hI> --ar 2:3",
			imageUrl: grid(`someone_${H}.png`)[0]?.url ?? "",
			imageUrls: [grid(`someone_${H}.png`)[0]?.url ?? ""],
			hash: H,
			buttons: [],
			mode: "fast",
			width: 2048,
			height: 2048,
		},
	],
	[
		"upscale pick: Image #2",
		bot({
			content: `**a red fox in snow** - Image #2 ${USER}`,
			attachments: [{ url: `${CDN}/someone_a_red_fox_${H2}.png`, width: 1024, height: 1024 }],
			components: UPSCALE_BUTTONS,
			referenced_message: { id: "1300000000000000050" },
		}),
		{
			kind: "result",
			prompt: "a red fox in snow",
			imageUrl: `${CDN}/someone_a_red_fox_${H2}.png`,
			imageUrls: [`${CDN}/someone_a_red_fox_${H2}.png`],
			hash: H2,
			buttons: buttonsOf({ id: "x", channel_id: CHANNEL, components: UPSCALE_BUTTONS }),
			index: 2,
			width: 1024,
			height: 1024,
		},
	],
	[
		"the yellow 'Job queued' notice is a warning",
		bot({
			embeds: [{ title: "Job queued", description: "Your job will start shortly.", color: 16239475 }],
			nonce: "1",
		}),
		{ kind: "warning", text: "Job queued: Your job will start shortly." },
	],
	[
		"a yellow embed is a warning",
		bot({
			embeds: [
				{ title: "Deprecated parameter", description: "`--hd` is deprecated and was ignored.", color: 16776960 },
			],
		}),
		{ kind: "warning", text: "Deprecated parameter: `--hd` is deprecated and was ignored." },
	],
	[
		"describe: four numbered prompts and the picture",
		bot({
			interaction_metadata: { id: "1300000000000000777", name: "describe" },
			embeds: [
				{
					description:
						"1️⃣ a red fox standing in snow, soft light --ar 1:1\n\n2️⃣ fox in winter forest, photograph --ar 1:1\n\n3️⃣ a fox, digital painting --ar 1:1\n\n4️⃣ orange fox, snowy field --ar 1:1",
					image: { url: `${CDN}/fox.png` },
					color: 0,
				},
			],
		}),
		{
			kind: "describe",
			prompts: [
				"a red fox standing in snow, soft light --ar 1:1",
				"fox in winter forest, photograph --ar 1:1",
				"a fox, digital painting --ar 1:1",
				"orange fox, snowy field --ar 1:1",
			],
			imageUrl: `${CDN}/fox.png`,
		},
	],
	[
		"shorten: the shortened options after the important tokens",
		bot({
			interaction_metadata: { id: "1300000000000000778", name: "shorten" },
			embeds: [
				{
					description:
						"## Important tokens\nred, fox, snow\n## Shortened options\n1️⃣ a red fox in deep snow\n2️⃣ red fox, snow\n3️⃣ fox in snow\n4️⃣ red fox\n5️⃣ fox",
					footer: { text: "Click on a button to imagine one of the shortened prompts" },
				},
			],
		}),
		{ kind: "shorten", prompts: ["a red fox in deep snow", "red fox, snow", "fox in snow", "red fox", "fox"] },
	],
	[
		"the seed DM reply",
		bot({ content: `**a red fox in snow**\n**Job ID**: ${H}\n**seed** 3718934827` }),
		{ kind: "seed", hash: H, seed: "3718934827" },
	],
	[
		"/info: fast time remaining and the job mode",
		bot({
			interaction_metadata: { id: "9", name: "info" },
			embeds: [
				{
					title: "Your info - someone",
					description:
						"**User ID**: 00000000-1111-2222-3333-444444444444\n**Subscription**: Standard (Active monthly, renews next on <t:1767225600>)\n**Job Mode**: Relaxed\n**Visibility Mode**: Public\n**Fast Time Remaining**: 13.91/15.0 hours (92.74%)\n**Lifetime Usage**: 1024 images (38.21 hours)\n**Relaxed Usage**: 400 images (10.0 hours)\n**Queued Jobs (fast)**: 0\n**Queued Jobs (relax)**: 0\n**Running Jobs**: None",
					color: 0,
				},
			],
		}),
		{ kind: "info", fastTimeRemaining: "13.91/15.0 hours (92.74%)", mode: "relax" },
	],
	[
		"red embed: banned prompt",
		bot({
			nonce: "2",
			embeds: [
				{
					title: "Banned prompt detected",
					description:
						"Sorry! Our AI moderators feel your prompt might be against our community standards.\n\nIf you think this is a mistake, please press the Appeal button below.",
					color: 16711680,
				},
			],
		}),
		{
			kind: "failure",
			title: "Banned prompt detected",
			description:
				"Sorry! Our AI moderators feel your prompt might be against our community standards.\n\nIf you think this is a mistake, please press the Appeal button below.",
		},
	],
	[
		"red embed: invalid parameter",
		bot({
			embeds: [{ title: "Invalid parameter", description: "Unrecognized parameter(s): `--foo`", color: 16711680 }],
		}),
		{ kind: "failure", title: "Invalid parameter", description: "Unrecognized parameter(s): `--foo`" },
	],
	[
		"red embed: invalid link",
		bot({
			embeds: [
				{
					title: "Invalid link",
					description: "The Midjourney Bot tried to access a link, but it appears to be invalid.",
					color: 16711680,
				},
			],
		}),
		{
			kind: "failure",
			title: "Invalid link",
			description: "The Midjourney Bot tried to access a link, but it appears to be invalid.",
		},
	],
	[
		"queue full (whatever the colour)",
		bot({
			embeds: [
				{
					title: "Queue full",
					description: "You have reached the maximum allowed number of concurrent jobs.",
					color: 15548997,
				},
			],
		}),
		{
			kind: "failure",
			title: "Queue full",
			description: "You have reached the maximum allowed number of concurrent jobs.",
		},
	],
	[
		"output filters",
		bot({
			embeds: [
				{
					title: "Request cancelled due to output filters",
					description: "Sorry! Our AI moderators feel your image might be against our community standards.",
					color: 16711680,
				},
			],
		}),
		{
			kind: "failure",
			title: "Request cancelled due to output filters",
			description: "Sorry! Our AI moderators feel your image might be against our community standards.",
		},
	],
	[
		"any red embed fails the job with Midjourney's words",
		bot({ embeds: [{ title: "Job action restricted", description: "This action is not allowed.", color: 16711680 }] }),
		{ kind: "failure", title: "Job action restricted", description: "This action is not allowed." },
	],
	[
		"a red embed with an unknown title",
		bot({ embeds: [{ title: "Something went wrong", description: "Try again.", color: 16711680 }] }),
		{ kind: "failure", title: "Something went wrong", description: "Try again." },
	],
	[
		"Failed… content",
		bot({ content: "Failed to process your command :(\nPlease try again later." }),
		{ kind: "failure", title: "Failed to process your command :(", description: "Please try again later." },
	],
	[
		"credits exhausted",
		bot({
			embeds: [
				{
					title: "Credits exhausted",
					description: "You have no more fast hours. Switch to relax mode with /relax.",
					color: 16711680,
				},
			],
		}),
		{
			kind: "account",
			state: "credits_exhausted",
			reason: "Credits exhausted: You have no more fast hours. Switch to relax mode with /relax.",
		},
	],
	[
		"blocked",
		bot({
			embeds: [
				{
					title: "Blocked",
					description: "You have been blocked from accessing Midjourney for 1 hour.",
					color: 16711680,
				},
			],
		}),
		{
			kind: "account",
			state: "blocked",
			reason: "Blocked: You have been blocked from accessing Midjourney for 1 hour.",
		},
	],
	[
		"pending mod message",
		bot({
			embeds: [{ title: "Pending mod message", description: "A moderator left you a message.", color: 16711680 }],
		}),
		{ kind: "account", state: "pending_mod", reason: "Pending mod message: A moderator left you a message." },
	],
	[
		"plan cancelled",
		bot({ embeds: [{ title: "Plan Cancelled", description: "Your plan was cancelled.", color: 16711680 }] }),
		{ kind: "account", state: "plan_cancelled", reason: "Plan Cancelled: Your plan was cancelled." },
	],
	[
		"subscription required",
		bot({
			embeds: [
				{ title: "Subscription required", description: "Subscribe at midjourney.com/account.", color: 16711680 },
			],
		}),
		{
			kind: "account",
			state: "subscription_required",
			reason: "Subscription required: Subscribe at midjourney.com/account.",
		},
	],
	[
		"subscription paused",
		bot({ embeds: [{ title: "Subscription paused", description: "Your subscription is paused.", color: 16711680 }] }),
		{ kind: "account", state: "subscription_required", reason: "Subscription paused: Your subscription is paused." },
	],
	[
		"CAPTCHA: action required to continue",
		bot({
			flags: 64,
			embeds: [
				{
					title: "Action required to continue",
					description: "Please verify you're human to continue.",
					color: 16711680,
				},
			],
		}),
		{
			kind: "account",
			state: "captcha",
			reason: "Action required to continue: Please verify you're human to continue.",
		},
	],
	[
		"CAPTCHA: a /captcha/ link",
		bot({
			embeds: [{ title: "Verify", description: "One more step." }],
			components: [
				{
					type: 1,
					components: [{ type: 2, style: 5, label: "Verify", url: "https://www.midjourney.com/captcha/abc" }],
				},
			],
		}),
		{ kind: "account", state: "captcha", reason: "Verify" },
	],
	[
		"another author's message",
		bot({ content: `**a red fox** - ${USER} (fast)`, attachments: grid() }, "42"),
		{ kind: "ignore" },
	],
	["a message without an author", { id: "1", channel_id: CHANNEL, content: "**x** - (fast)" }, { kind: "ignore" }],
	["a stopped job", bot({ content: `**a red fox** - ${USER} (Stopped)` }), { kind: "ignore" }],
	["chatter", bot({ content: "Hello there" }), { kind: "ignore" }],
];

describe("classifyMessage", () => {
	it.each(examples)("%s", (_name, message, expected) => {
		expect(classifyMessage(message)).toEqual(expected);
	});

	const result = (content: string, attachments = grid()) => classifyMessage(bot({ content, attachments }));

	it.each([
		[`**a red fox** - Variations (Strong) by ${USER} (fast)`, "a red fox"],
		[`**a red fox** - Variations (Subtle) by ${USER} (relaxed)`, "a red fox"],
		[`**a blue fox** - Remix (Strong) by ${USER} (fast)`, "a blue fox"],
		[`**a red fox** - Pan Left by ${USER} (fast)`, "a red fox"],
		[`**a red fox --zoom 2** - Zoom Out by ${USER} (fast)`, "a red fox --zoom 2"],
		[`**a red fox** - Upscaled (Subtle) by ${USER} (fast)`, "a red fox"],
		[`**a red fox** - Upscaled (Creative) by ${USER} (turbo)`, "a red fox"],
		[`**a **bold** fox** - ${USER} (fast)`, "a **bold** fox"],
	])("a result: %s", (content, prompt) => {
		const event = result(content);
		expect(event).toMatchObject({ kind: "result", prompt, hash: H });
	});

	it("a video: the mp4 is the video, its hash the job's", () => {
		const event = classifyMessage(
			bot({
				content: `**a red fox --motion high** - ${USER} (fast)`,
				attachments: [
					{
						url: `https://cdn.midjourney.com/video/${H}/${H}_0.mp4`,
						filename: `${H}_0.mp4`,
						content_type: "video/mp4",
					},
					{ url: `${CDN}/${H}_0.png`, filename: `${H}_0.png`, content_type: "image/png" },
				],
			}),
		);
		expect(event).toMatchObject({
			kind: "result",
			videoUrl: `https://cdn.midjourney.com/video/${H}/${H}_0.mp4`,
			imageUrl: `${CDN}/${H}_0.png`,
			hash: H,
		});
	});

	it("a result without a hash in its link takes it from the job link or the buttons", () => {
		const event = classifyMessage(
			bot({ content: `**fox** - ${USER} (fast)`, attachments: [{ url: `${CDN}/grid.png` }], components: GRID_BUTTONS }),
		);
		expect(event).toMatchObject({ kind: "result", hash: H });
	});

	it("a nonce-bearing first answer without '(Waiting to start)' is the start", () => {
		expect(classifyMessage(bot({ content: `**fox** - ${USER} (fast)`, nonce: "77" }))).toEqual({
			kind: "start",
			prompt: "fox",
		});
	});

	it("a moderation refusal under the CAPTCHA title fails the job, not the account", () => {
		const event = classifyMessage(
			bot({
				embeds: [
					{
						title: "Action needed to continue",
						description: "Sorry! Our AI moderators feel your prompt might be against our community standards.",
						color: 16711680,
					},
				],
			}),
		);
		expect(event.kind).toBe("failure");
	});
});

describe("hashFromUrl", () => {
	it.each([
		[`${CDN}/someone_a_red_fox_${H}_grid_0.webp?ex=1&is=2&hm=3`, H],
		[`${CDN}/someone_a_red_fox_${H}.png`, H],
		[`${CDN}/${H}_0_0.png`, H],
		[`https://cdn.midjourney.com/${H}/0_0.png`, H],
		[`https://cdn.midjourney.com/video/${H}/${H}_0.mp4`, H],
		[`${CDN}/${H.toUpperCase()}.png`, H],
		[`${CDN}/grid.png`, undefined],
		["not a url", undefined],
	])("%s", (url, hash) => {
		expect(hashFromUrl(url)).toBe(hash);
	});
});

describe("normalizePrompt", () => {
	it.each([
		["a red fox --ar 16:9 --v 6.1", "a red fox"],
		["<https://s.mj.run/aB3dE> a red fox --v 6", "<link> a red fox"],
		["https://gw.example/img/abc.png?sig=1 a red fox", "<link> a red fox"],
		["  A   Red\nFox ", "a red fox"],
	])("%s", (prompt, key) => {
		expect(normalizePrompt(prompt)).toBe(key);
	});

	it("our signed link and Midjourney's s.mj.run rewrite agree", () => {
		expect(normalizePrompt("https://gw.example/i/1.png?sig=abc a red fox --ar 1:1")).toBe(
			normalizePrompt("<https://s.mj.run/xYz> a red fox --ar 1:1 --v 6.1"),
		);
	});
});

describe("matchTask", () => {
	const task = (fields: Partial<PendingTask>): PendingTask => ({
		taskId: "t",
		nonce: "n",
		action: "IMAGINE",
		sentAt: 1000,
		status: "sent",
		...fields,
	});
	const match = (message: DiscordMessage, pending: PendingTask[]) =>
		matchTask(message, classifyMessage(message), pending)?.taskId;

	it("by nonce, before anything else", () => {
		const message = bot({ content: `**fox** - ${USER} (Waiting to start)`, nonce: "555" });
		expect(
			match(message, [task({ taskId: "a", prompt: "fox" }), task({ taskId: "b", nonce: "555", prompt: "cat" })]),
		).toBe("b");
	});

	it("by interaction id (interaction_metadata, or the older interaction)", () => {
		const withMeta = bot({
			content: `**fox** - ${USER} (fast)`,
			attachments: grid(),
			interaction_metadata: { id: "999" },
		});
		const withOld = bot({ content: `**fox** - ${USER} (fast)`, attachments: grid(), interaction: { id: "999" } });
		const pending = [
			task({ taskId: "a", prompt: "fox", sentAt: 1 }),
			task({ taskId: "b", interactionId: "999", prompt: "fox" }),
		];
		expect(match(withMeta, pending)).toBe("b");
		expect(match(withOld, pending)).toBe("b");
	});

	it("by message id: the progress message's updates", () => {
		const update = bot({ id: "1300000000000000555", content: `**fox** - ${USER} (45%) (fast)` });
		expect(
			match(update, [
				task({ taskId: "a", prompt: "fox", sentAt: 1 }),
				task({ taskId: "b", messageId: "1300000000000000555", prompt: "fox" }),
			]),
		).toBe("b");
	});

	it("by job hash: a final message without interaction_metadata", () => {
		const final = bot({ id: "1300000000000000900", content: `**fox** - ${USER} (fast)`, attachments: grid() });
		expect(
			match(final, [
				task({ taskId: "a", prompt: "fox", sentAt: 1, hash: H2, messageId: "10" }),
				task({ taskId: "b", prompt: "fox", sentAt: 2, hash: H, messageId: "11" }),
			]),
		).toBe("b");
	});

	it("an upscale pick: same index and the parent's message as referenced_message", () => {
		const pick = bot({
			content: `**fox** - Image #3 ${USER}`,
			attachments: [{ url: `${CDN}/someone_fox_${H2}.png` }],
			referenced_message: { id: "500" },
		});
		const pending = [
			task({ taskId: "u1", action: "UPSCALE", prompt: "fox", parentMessageId: "500", index: 1, sentAt: 1 }),
			task({ taskId: "u3", action: "UPSCALE", prompt: "fox", parentMessageId: "500", index: 3, sentAt: 2 }),
			task({ taskId: "other", action: "UPSCALE", prompt: "fox", parentMessageId: "501", index: 3, sentAt: 0 }),
		];
		expect(match(pick, pending)).toBe("u3");
		const viaReference = { ...pick, referenced_message: null, message_reference: { message_id: "501" } };
		expect(match(viaReference, pending)).toBe("other");
	});

	it("by the normalised prompt: s.mj.run rewrite and dropped parameters", () => {
		const start = bot({ content: `**<https://s.mj.run/Qw12> a red fox --v 6.1** - ${USER} (Waiting to start)` });
		expect(
			match(start, [
				task({ taskId: "a", prompt: "a blue fox" }),
				task({ taskId: "b", prompt: "https://gw.example/i/1.png?sig=9 a red fox --ar 1:1" }),
			]),
		).toBe("b");
	});

	it("identical prompts at the same moment: the earliest sent wins, then the next", () => {
		const final = bot({ content: `**fox** - ${USER} (fast)`, attachments: grid() });
		const pending = [
			task({ taskId: "late", prompt: "fox", sentAt: 2000 }),
			task({ taskId: "early", prompt: "fox", sentAt: 1000 }),
		];
		expect(match(final, pending)).toBe("early");
		expect(
			match(
				final,
				pending.filter((t) => t.taskId !== "early"),
			),
		).toBe("late");
	});

	it("a progress message does not take a task that has its own progress message", () => {
		const progress = bot({ id: "1300000000000000601", content: `**fox** - ${USER} (20%) (fast)` });
		expect(
			match(progress, [
				task({ taskId: "a", prompt: "fox", sentAt: 1, messageId: "1300000000000000600" }),
				task({ taskId: "b", prompt: "fox", sentAt: 2 }),
			]),
		).toBe("b");
	});

	it("prefers the task whose action the wording fits", () => {
		const variation = bot({ content: `**fox** - Variations (Strong) by ${USER} (fast)`, attachments: grid() });
		expect(
			match(variation, [
				task({ taskId: "imagine", prompt: "fox", sentAt: 1 }),
				task({ taskId: "vary", action: "VARIATION", prompt: "fox", sentAt: 2 }),
			]),
		).toBe("vary");
	});

	it("describe and shorten answers go to the earliest task of that action", () => {
		const describe = bot({
			embeds: [{ description: "1️⃣ a fox\n\n2️⃣ a dog", image: { url: `${CDN}/x.png` } }],
		});
		expect(
			match(describe, [task({ taskId: "img", prompt: "fox" }), task({ taskId: "d", action: "DESCRIBE", sentAt: 5 })]),
		).toBe("d");
	});

	it("no match: another prompt, or a failure embed with no nonce or interaction", () => {
		const final = bot({ content: `**a cat** - ${USER} (fast)`, attachments: grid() });
		expect(match(final, [task({ taskId: "a", prompt: "a dog" })])).toBeUndefined();
		const red = bot({ embeds: [{ title: "Invalid parameter", description: "x", color: 16711680 }] });
		expect(match(red, [task({ taskId: "a", prompt: "a dog" })])).toBeUndefined();
		expect(match(final, [])).toBeUndefined();
	});

	it("a failure embed finds its task by nonce", () => {
		const red = bot({ nonce: "42", embeds: [{ title: "Banned prompt detected", description: "x", color: 16711680 }] });
		expect(match(red, [task({ taskId: "a", nonce: "41" }), task({ taskId: "b", nonce: "42" })])).toBe("b");
	});

	it("a task that knows a different hash is not the prompt match", () => {
		const final = bot({ content: `**fox** - ${USER} (fast)`, attachments: grid() });
		expect(match(final, [task({ taskId: "a", prompt: "fox", hash: H2 })])).toBeUndefined();
	});
});
