/**
 * Midjourney's messages in Discord, read: what a bot message means (classifyMessage) and which
 * task it belongs to (matchTask). Everything here is Midjourney's private behaviour learned
 * from the anchors (shared/DISCORD.md "Matching", "Parsing", "Errors"); it lives in this one
 * module with its table of examples (test/unit/discord-midjourney.test.ts) so that a change on
 * their side is one edit and one test. Pure: no I/O, no clock.
 */

export const MIDJOURNEY_BOT_ID = "936929561302675456";
export const NIJI_BOT_ID = "1022952195194359889";

export interface DiscordMessage {
	id: string;
	channel_id: string;
	author?: { id: string };
	content?: string;
	nonce?: string | number;
	attachments?: { url: string; filename?: string; width?: number; height?: number; content_type?: string }[];
	embeds?: {
		title?: string;
		description?: string;
		color?: number;
		image?: { url: string };
		footer?: { text?: string };
	}[];
	components?: {
		type: number;
		components?: {
			type: number;
			custom_id?: string;
			label?: string;
			emoji?: { name?: string };
			style?: number;
			url?: string;
		}[];
	}[];
	interaction_metadata?: { id: string; name?: string; user?: { id: string } };
	interaction?: { id: string; name?: string };
	referenced_message?: { id: string } | null;
	message_reference?: { message_id?: string };
	flags?: number;
}

export interface MjButton {
	customId: string;
	label: string;
	emoji: string;
	style: number;
}

export type MjAccountState =
	| "credits_exhausted"
	| "blocked"
	| "pending_mod"
	| "plan_cancelled"
	| "subscription_required"
	| "captcha";

export type MjMode = "fast" | "relax" | "turbo";

export type MjEvent =
	| { kind: "start"; prompt: string }
	| { kind: "progress"; prompt: string; progress: number; imageUrl?: string; hash?: string; mode?: MjMode }
	| {
			kind: "result";
			prompt: string;
			imageUrl: string;
			imageUrls: string[];
			videoUrl?: string;
			hash: string;
			buttons: MjButton[];
			mode?: MjMode;
			index?: number;
			width?: number;
			height?: number;
	  }
	| { kind: "describe"; prompts: string[]; imageUrl?: string }
	| { kind: "shorten"; prompts: string[] }
	| { kind: "seed"; hash: string; seed: string }
	| { kind: "info"; fastTimeRemaining?: string; mode?: MjMode }
	| { kind: "failure"; title: string; description: string }
	| { kind: "account"; state: MjAccountState; reason: string }
	| { kind: "warning"; text: string }
	| { kind: "ignore" };

/** What an account's object keeps about each task it sent, for matching. */
export interface PendingTask {
	taskId: string;
	nonce: string;
	action: string;
	prompt?: string;
	interactionId?: string;
	messageId?: string;
	hash?: string;
	parentMessageId?: string;
	index?: number;
	sentAt: number;
	status: "sent" | "started";
}

/** Embed colours Midjourney uses: red for errors, two yellows for warnings. */
const RED = 16711680;
const YELLOWS = new Set([16239475, 16776960]);

/** Embed titles that say something about the account rather than one job (matched case-insensitively). */
const ACCOUNT_TITLES: readonly [RegExp, MjAccountState][] = [
	[/^credits exhausted/i, "credits_exhausted"],
	[/^blocked/i, "blocked"],
	[/^pending mod message/i, "pending_mod"],
	[/^plan cancell?ed/i, "plan_cancelled"],
	[/^subscription (required|paused)/i, "subscription_required"],
	[/^action (required|needed) to continue/i, "captcha"],
];

/** Titles that fail a job whatever their colour. */
const FAILURE_TITLES =
	/^(banned prompt|invalid (parameter|link|prompt|request)|queue full|request cancelled due to output filters|job action restricted)/i;

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const KEYCAP = /^\s*([1-9])\uFE0F?\u20E3\s*(.+)$/;

/** What a bot message means. Messages of any other author are ignored. */
export function classifyMessage(message: DiscordMessage): MjEvent {
	const author = message.author?.id;
	if (author !== MIDJOURNEY_BOT_ID && author !== NIJI_BOT_ID) return { kind: "ignore" };
	const content = message.content ?? "";
	const embed = message.embeds?.[0];
	const title = embed?.title?.trim() ?? "";
	const description = embed?.description?.trim() ?? "";

	const account = accountState(message, title, description);
	if (account) return account;

	if (/^failed\b/i.test(content.trim())) {
		const [first = "", ...rest] = content.trim().split("\n");
		return { kind: "failure", title: first.trim(), description: rest.join("\n").trim() };
	}
	if (embed && (embed.color === RED || FAILURE_TITLES.test(title))) {
		return { kind: "failure", title: title || "Midjourney error", description };
	}
	if (/^your info/i.test(title)) return info(description);
	if (embed && (YELLOWS.has(embed.color ?? -1) || /^job queued/i.test(title))) {
		return { kind: "warning", text: [title, description].filter(Boolean).join(": ") };
	}

	const seed = seedOf(content);
	if (seed) return seed;

	const command = message.interaction_metadata?.name ?? message.interaction?.name;
	if (embed && description && !content.includes("**")) {
		const footer = embed.footer?.text ?? "";
		if (command === "shorten" || /shortened prompts/i.test(footer) || /shortened options/i.test(description)) {
			return { kind: "shorten", prompts: numberedPrompts(afterHeading(description, /shortened options/i)) };
		}
		if (command === "describe" || embed.image) {
			const prompts = numberedPrompts(description);
			if (prompts.length > 0)
				return { kind: "describe", prompts, ...(embed.image ? { imageUrl: embed.image.url } : {}) };
		}
	}

	const prompt = promptOf(content);
	// The first answer to an interaction carries its nonce, even when it shows no prompt (describe's picture).
	if (prompt === undefined) return hasNonce(message) ? { kind: "start", prompt: "" } : { kind: "ignore" };
	if (/\(Waiting to start\)/i.test(content)) return { kind: "start", prompt };
	if (/\((Stopped|Paused)\)/i.test(content)) return { kind: "ignore" };
	const mode = modeOf(content);
	const percent = /\((\d{1,3})%\)/.exec(content);
	if (percent) {
		const preview = message.attachments?.[0]?.url;
		const hash = preview ? hashFromUrl(preview) : undefined;
		return {
			kind: "progress",
			prompt,
			progress: Math.min(100, Number(percent[1])),
			...(preview ? { imageUrl: preview } : {}),
			...(hash ? { hash } : {}),
			...(mode ? { mode } : {}),
		};
	}
	const attachments = message.attachments ?? [];
	if (attachments.length > 0) return result(message, prompt, content, mode);
	// The first answer to an interaction carries its nonce even when it skips "(Waiting to start)".
	return hasNonce(message) ? { kind: "start", prompt } : { kind: "ignore" };
}

function hasNonce(message: DiscordMessage): boolean {
	return message.nonce !== undefined && message.nonce !== null && message.nonce !== "";
}

function accountState(message: DiscordMessage, title: string, description: string): MjEvent | undefined {
	for (const [pattern, state] of ACCOUNT_TITLES) {
		if (!pattern.test(title)) continue;
		// Some moderation refusals arrive under the CAPTCHA's title: those fail the job only.
		if (state === "captcha" && /community standards|ai moderators/i.test(description)) return undefined;
		return { kind: "account", state, reason: [title, description].filter(Boolean).join(": ") };
	}
	const captchaLink = message.components
		?.flatMap((row) => row.components ?? [])
		.some((component) => component.url?.includes("/captcha/"));
	if (captchaLink) return { kind: "account", state: "captcha", reason: title || "Action required to continue" };
	return undefined;
}

function info(description: string): MjEvent {
	const field = (name: string) => new RegExp(`\\*\\*${name}\\*\\*:?\\s*([^\\n]+)`, "i").exec(description)?.[1]?.trim();
	const fastTimeRemaining = field("Fast Time Remaining");
	const jobMode = field("Job Mode")?.toLowerCase();
	const mode: MjMode | undefined = jobMode?.startsWith("relax")
		? "relax"
		: jobMode?.startsWith("turbo")
			? "turbo"
			: jobMode?.startsWith("fast")
				? "fast"
				: undefined;
	return { kind: "info", ...(fastTimeRemaining ? { fastTimeRemaining } : {}), ...(mode ? { mode } : {}) };
}

/** The DM reply to the ✉️ reaction on a /show result: `**Job ID**: <hash>` and `**seed** <n>`. */
function seedOf(content: string): MjEvent | undefined {
	const seed = /\*\*seed\*\*:?\s*(\d+)/i.exec(content)?.[1];
	const hash = /\*\*Job ID\*\*:?\s*([0-9a-f-]{36})/i.exec(content)?.[1];
	return seed && hash ? { kind: "seed", hash: hash.toLowerCase(), seed } : undefined;
}

function afterHeading(text: string, heading: RegExp): string {
	const at = text.search(heading);
	return at < 0 ? text : text.slice(at);
}

/** The `1️⃣ …` lines of a describe or shorten embed, in order. */
function numberedPrompts(text: string): string[] {
	const prompts: string[] = [];
	for (const line of text.split("\n")) {
		const match = KEYCAP.exec(line);
		if (match?.[2]) prompts.push(match[2].trim());
	}
	return prompts;
}

/** The prompt: the text of the leading `**…**`, up to the `**` that the message's tail follows. */
function promptOf(content: string): string | undefined {
	const match = /^\*\*([\s\S]*?)\*\*(?=\s+-\s|\s*\(|\s*$|\n)/.exec(content.trimStart());
	return match ? match[1]?.trim() : undefined;
}

function modeOf(content: string): MjMode | undefined {
	let mode: MjMode | undefined;
	for (const match of content.matchAll(/\((fast|relaxed|relax|turbo)(?:,\s*stealth)?\)/gi)) {
		const word = match[1]?.toLowerCase();
		mode = word === "fast" ? "fast" : word === "turbo" ? "turbo" : "relax";
	}
	return mode;
}

function isVideo(attachment: { url: string; filename?: string; content_type?: string }): boolean {
	return (
		attachment.content_type?.startsWith("video/") === true ||
		/\.(mp4|webm|mov)$/i.test(attachment.filename ?? new URL(attachment.url, "http://x").pathname)
	);
}

function result(message: DiscordMessage, prompt: string, content: string, mode: MjMode | undefined): MjEvent {
	const attachments = message.attachments ?? [];
	const images = attachments.filter((a) => !isVideo(a));
	const video = attachments.find(isVideo);
	const first = images[0] ?? attachments[0];
	const buttons = buttonsOf(message);
	const hash =
		attachments.map((a) => hashFromUrl(a.url)).find(Boolean) ??
		message.components
			?.flatMap((row) => row.components ?? [])
			.map((c) => (c.url ? /midjourney\.com\/jobs\/([0-9a-f-]{36})/i.exec(c.url)?.[1] : undefined))
			.find(Boolean) ??
		buttons.map((b) => hashFromCustomId(b.customId)).find(Boolean) ??
		"";
	const index = /\s-\s+Image #([1-4])\b/.exec(content)?.[1];
	return {
		kind: "result",
		prompt,
		imageUrl: first?.url ?? "",
		imageUrls: images.map((a) => a.url),
		...(video ? { videoUrl: video.url } : {}),
		hash: hash.toLowerCase(),
		buttons,
		...(mode ? { mode } : {}),
		...(index ? { index: Number(index) } : {}),
		...(first?.width ? { width: first.width } : {}),
		...(first?.height ? { height: first.height } : {}),
	};
}

/** The job hash in a Midjourney image or video link: the last UUID of its path. */
export function hashFromUrl(url: string): string | undefined {
	let path: string;
	try {
		path = new URL(url).pathname;
	} catch {
		path = url.split(/[?#]/)[0] ?? url;
	}
	const segments = decodeURIComponent(path).split("/");
	for (let i = segments.length - 1; i >= 0; i--) {
		const found = segments[i]?.match(UUID);
		if (found?.length) return found[found.length - 1]?.toLowerCase();
	}
	return undefined;
}

function hashFromCustomId(customId: string): string | undefined {
	return customId.match(UUID)?.[0]?.toLowerCase();
}

/** The message's buttons (type 2 components with a custom_id), in display order. */
export function buttonsOf(message: DiscordMessage): MjButton[] {
	const buttons: MjButton[] = [];
	for (const row of message.components ?? []) {
		for (const component of row.components ?? []) {
			if (component.type !== 2 || !component.custom_id) continue;
			buttons.push({
				customId: component.custom_id,
				label: component.label ?? "",
				emoji: component.emoji?.name ?? "",
				style: component.style ?? 2,
			});
		}
	}
	return buttons;
}

/**
 * The prompt as a comparable key: links (ours, Midjourney's `<https://s.mj.run/…>`) become one
 * token, parameters (`--ar 16:9 …`, which Midjourney may add or drop) go, case and spacing fold.
 */
export function normalizePrompt(prompt: string): string {
	return prompt
		.replace(/<?https?:\/\/[^\s>]+>?/gi, " <link> ")
		.replace(/(^|\s)--[a-z][\s\S]*$/i, " ")
		.replace(/\s+/g, " ")
		.trim()
		.toLowerCase();
}

/** The task actions a message's wording fits, most specific first; empty when it says nothing. */
function actionsOf(message: DiscordMessage, event: MjEvent): string[] {
	const content = message.content ?? "";
	if (event.kind === "describe") return ["DESCRIBE"];
	if (event.kind === "shorten") return ["SHORTEN"];
	if (event.kind === "result" && event.videoUrl) return ["VIDEO"];
	if (/\s-\s+Image #[1-4]\b|\s-\s+Upscaled\b/i.test(content)) return ["UPSCALE"];
	if (/\s-\s+Variations? \(Region\)/i.test(content)) return ["INPAINT"];
	if (/\s-\s+(Variations?|Remix)\b/i.test(content)) return ["VARIATION", "REROLL"];
	if (/\s-\s+Pan \w+ by\b/i.test(content)) return ["PAN"];
	if (/\s-\s+Zoom Out by\b/i.test(content)) return ["ZOOM", "CUSTOM_ZOOM"];
	if (/\s-\s+<@!?\d+>/.test(content)) return ["IMAGINE", "REROLL", "BLEND"];
	return [];
}

/**
 * The task a message belongs to: by nonce, interaction id, message id, job hash, upscale index
 * + referenced message, then the normalised prompt (the earliest sent wins). Undefined when
 * none fits; a wrong match is worse than none.
 */
export function matchTask(
	message: DiscordMessage,
	event: MjEvent,
	pending: readonly PendingTask[],
): PendingTask | undefined {
	if (pending.length === 0 || event.kind === "ignore") return undefined;
	if (hasNonce(message)) {
		const nonce = String(message.nonce);
		const byNonce = pending.find((task) => task.nonce === nonce);
		if (byNonce) return byNonce;
	}
	const interactionId = message.interaction_metadata?.id ?? message.interaction?.id;
	if (interactionId) {
		const byInteraction = pending.find((task) => task.interactionId === interactionId);
		if (byInteraction) return byInteraction;
	}
	const byMessage = pending.find((task) => task.messageId === message.id);
	if (byMessage) return byMessage;

	const hash = event.kind === "result" || event.kind === "progress" || event.kind === "seed" ? event.hash : undefined;
	if (hash) {
		const byHash = pending.find((task) => task.hash === hash);
		if (byHash) return byHash;
	}

	const referenced = message.referenced_message?.id ?? message.message_reference?.message_id;
	if (event.kind === "result" && event.index !== undefined && referenced) {
		const pick = earliest(pending.filter((task) => task.parentMessageId === referenced && task.index === event.index));
		if (pick) return pick;
	}

	if (event.kind === "describe" || event.kind === "shorten") {
		const action = event.kind === "describe" ? "DESCRIBE" : "SHORTEN";
		return earliest(pending.filter((task) => task.action === action));
	}

	const prompt = "prompt" in event ? event.prompt : undefined;
	if (prompt === undefined) return undefined;
	const key = normalizePrompt(prompt);
	let candidates = pending.filter(
		(task) =>
			task.prompt !== undefined &&
			normalizePrompt(task.prompt) === key &&
			// A task that knows its own job hash is not this message's if the hashes differ.
			!(hash && task.hash && task.hash !== hash) &&
			// Start and progress messages are the task's own first message: a task that has one is taken.
			!((event.kind === "start" || event.kind === "progress") && task.messageId),
	);
	const actions = actionsOf(message, event);
	const fitting = candidates.filter((task) => actions.includes(task.action));
	if (fitting.length > 0) candidates = fitting;
	return earliest(candidates);
}

function earliest(tasks: PendingTask[]): PendingTask | undefined {
	let best: PendingTask | undefined;
	for (const task of tasks) if (!best || task.sentAt < best.sentAt) best = task;
	return best;
}
