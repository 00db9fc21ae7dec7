/**
 * The bot's messages, shaped like the real Midjourney bot's (shared/DISCORD.md "Parsing"):
 * content lines, attachments on the fake CDN, button rows with Midjourney's custom ids, embeds.
 */
import { snowflake } from "./accounts";
import { FAKE_ORIGIN, MIDJOURNEY_BOT_ID } from "./env";

export interface Attachment {
	id: string;
	filename: string;
	url: string;
	proxy_url: string;
	width?: number;
	height?: number;
	size: number;
	content_type: string;
}

export interface Embed {
	type: "rich";
	title?: string;
	description?: string;
	color?: number;
	image?: { url: string; proxy_url: string; width: number; height: number };
	footer?: { text: string };
}

export interface ButtonComponent {
	type: 2;
	style: number;
	label?: string;
	emoji?: { name: string };
	custom_id?: string;
	url?: string;
}

export interface Row {
	type: 1;
	components: ButtonComponent[];
}

export interface Message {
	id: string;
	type: number;
	channel_id: string;
	guild_id?: string;
	author: { id: string; username: string; discriminator: string; global_name: null; bot: true };
	content: string;
	timestamp: string;
	edited_timestamp: string | null;
	attachments: Attachment[];
	embeds: Embed[];
	components: Row[];
	mentions: { id: string }[];
	flags: number;
	nonce?: string;
	interaction_metadata?: { id: string; type: number; name?: string; user: { id: string } };
	interaction?: { id: string; type: number; name: string; user: { id: string } };
	message_reference?: { message_id: string; channel_id: string; guild_id?: string };
	referenced_message?: Message | null;
}

/** The ephemeral flag: only the user who ran the command sees the message. */
export const EPHEMERAL = 64;
export const RED = 16711680;
export const YELLOW = 16239475;
/** The grid and single pictures the CDN draws are this many pixels square. */
const PICTURE_SIZE = 512;

export interface Where {
	channelId: string;
	guildId?: string;
	botId: string;
	userId: string;
}

/** The interaction a message answers, as Discord attaches it. */
export interface Origin {
	interactionId: string;
	name?: string;
	/** Set on the first answer only. */
	nonce?: string;
	/** The drop_interaction_metadata fault and `--fake-no-metadata` leave it out. */
	withMetadata: boolean;
}

export function baseMessage(where: Where, fields: Partial<Message>, origin?: Origin): Message {
	const message: Message = {
		id: snowflake(),
		type: 0,
		channel_id: where.channelId,
		...(where.guildId ? { guild_id: where.guildId } : {}),
		author: {
			id: where.botId,
			username: where.botId === MIDJOURNEY_BOT_ID ? "Midjourney Bot" : "niji・journey Bot",
			discriminator: "0",
			global_name: null,
			bot: true,
		},
		content: "",
		timestamp: new Date().toISOString(),
		edited_timestamp: null,
		attachments: [],
		embeds: [],
		components: [],
		mentions: [{ id: where.userId }],
		flags: 0,
		...fields,
	};
	if (origin?.nonce) message.nonce = origin.nonce;
	if (origin?.withMetadata) {
		const user = { id: where.userId };
		message.interaction_metadata = {
			id: origin.interactionId,
			type: 2,
			...(origin.name ? { name: origin.name } : {}),
			user,
		};
		if (origin.name) message.interaction = { id: origin.interactionId, type: 2, name: origin.name, user };
	}
	return message;
}

/** `**prompt** - <label> by <@user> (…) (mode)`, or `**prompt** - <@user> (…)` without a label. */
export function jobContent(prompt: string, label: string | undefined, userId: string, tail: string): string {
	const who = label ? `${label} by <@${userId}>` : `<@${userId}>`;
	return `**${prompt}** - ${who} ${tail}`.trimEnd();
}

function slug(prompt: string): string {
	const words = prompt
		.replace(/<?https?:\/\/\S+>?/g, " ")
		.replace(/(^|\s)--\S+(\s+[^-\s]\S*)?/g, " ")
		.toLowerCase()
		.match(/[a-z0-9]+/g);
	return (words ?? ["image"]).slice(0, 6).join("_").slice(0, 48) || "image";
}

/** A CDN link with the `ex`/`is`/`hm` query Discord signs its links with. */
function cdnUrl(channelId: string, filename: string, single: boolean): { url: string; id: string } {
	const id = snowflake();
	const expires = Math.floor(Date.now() / 1000 + 86400).toString(16);
	const query = `ex=${expires}&is=${Math.floor(Date.now() / 1000).toString(16)}&hm=${id.slice(-12)}${single ? "&fake=single" : ""}`;
	return { id, url: `${FAKE_ORIGIN}/attachments/${channelId}/${id}/${encodeURIComponent(filename)}?${query}` };
}

function picture(channelId: string, filename: string, single: boolean): Attachment {
	const { id, url } = cdnUrl(channelId, filename, single);
	return {
		id,
		filename,
		url,
		proxy_url: url,
		width: PICTURE_SIZE,
		height: PICTURE_SIZE,
		size: PICTURE_SIZE * PICTURE_SIZE * 3,
		content_type: "image/png",
	};
}

/** The final picture of a job: `<user>_<prompt words>_<hash>.png`, as Discord names Midjourney's files. */
export function resultAttachment(channelId: string, prompt: string, hash: string, single: boolean): Attachment {
	return picture(channelId, `fake_${slug(prompt)}_${hash}.png`, single);
}

/** The preview on a progress message. */
export function previewAttachment(channelId: string, hash: string): Attachment {
	return picture(channelId, `${hash}_grid_0.png`, false);
}

/** The video of an animate job, `<hash>_0.mp4`, and its first frame. */
export function videoAttachments(channelId: string, hash: string): Attachment[] {
	const { id, url } = cdnUrl(channelId, `${hash}_0.mp4`, false);
	const video: Attachment = {
		id,
		filename: `${hash}_0.mp4`,
		url,
		proxy_url: url,
		width: 128,
		height: 128,
		size: 7288,
		content_type: "video/mp4",
	};
	return [video, picture(channelId, `${hash}_0.png`, true)];
}

const button = (custom_id: string, label?: string, emoji?: string): ButtonComponent => ({
	type: 2,
	style: 2,
	custom_id,
	...(label ? { label } : {}),
	...(emoji ? { emoji: { name: emoji } } : {}),
});

export type ButtonSet = "grid" | "upscaled" | "video";

/** The rows of buttons Midjourney shows under each kind of result. */
export function buttonRows(set: ButtonSet, hash: string): Row[] {
	const web: Row = {
		type: 1,
		components: [{ type: 2, style: 5, label: "Web", url: `https://www.midjourney.com/jobs/${hash}` }],
	};
	switch (set) {
		case "grid":
			return [
				{ type: 1, components: [1, 2, 3, 4].map((n) => button(`MJ::JOB::upsample::${n}::${hash}`, `U${n}`)) },
				{
					type: 1,
					components: [
						button(`MJ::JOB::reroll::0::${hash}::SOLO`, undefined, "🔄"),
						...[1, 2, 3, 4].map((n) => button(`MJ::JOB::variation::${n}::${hash}`, `V${n}`)),
					],
				},
			];
		case "upscaled":
			return [
				{
					type: 1,
					components: [
						button(`MJ::JOB::upsample_v6_2x_subtle::1::${hash}::SOLO`, "Upscale (Subtle)"),
						button(`MJ::JOB::upsample_v6_2x_creative::1::${hash}::SOLO`, "Upscale (Creative)"),
					],
				},
				{
					type: 1,
					components: [
						button(`MJ::JOB::low_variation::1::${hash}::SOLO`, "Vary (Subtle)", "🪄"),
						button(`MJ::JOB::high_variation::1::${hash}::SOLO`, "Vary (Strong)", "🪄"),
						button(`MJ::Inpaint::1::${hash}::SOLO`, "Vary (Region)", "🖌️"),
					],
				},
				{
					type: 1,
					components: [
						button(`MJ::Outpaint::50::1::${hash}::SOLO`, "Zoom Out 2x", "🔍"),
						button(`MJ::Outpaint::75::1::${hash}::SOLO`, "Zoom Out 1.5x", "🔍"),
						button(`MJ::CustomZoom::${hash}`, "Custom Zoom", "🔍"),
					],
				},
				{
					type: 1,
					components: [
						button(`MJ::JOB::pan_left::1::${hash}::SOLO`, undefined, "⬅️"),
						button(`MJ::JOB::pan_right::1::${hash}::SOLO`, undefined, "➡️"),
						button(`MJ::JOB::pan_up::1::${hash}::SOLO`, undefined, "⬆️"),
						button(`MJ::JOB::pan_down::1::${hash}::SOLO`, undefined, "⬇️"),
					],
				},
				{
					type: 1,
					components: [
						button(`MJ::JOB::animate_high::1::${hash}::SOLO`, "Animate (High motion)", "🎞️"),
						button(`MJ::JOB::animate_low::1::${hash}::SOLO`, "Animate (Low motion)", "🎞️"),
					],
				},
				web,
			];
		case "video":
			return [
				{
					type: 1,
					components: [
						button(`MJ::JOB::animate_high_extend::1::${hash}::SOLO`, "Extend (High motion)", "🎞️"),
						button(`MJ::JOB::animate_low_extend::1::${hash}::SOLO`, "Extend (Low motion)", "🎞️"),
					],
				},
				web,
			];
	}
}

/** A red embed, Midjourney's way of refusing a job or an account. */
export function redEmbed(title: string, description: string): Embed {
	return { type: "rich", title, description, color: RED };
}

/** Red embeds the markers and faults produce, in Midjourney's words. */
export const REFUSALS = {
	banned: redEmbed(
		"Banned prompt detected",
		"Sorry! Our AI moderators feel your prompt might be against our community standards.\n\nIf you think this is a mistake, please press the Appeal button below and we will send it to a more sophisticated AI to double-check the result.",
	),
	invalid: redEmbed("Invalid parameter", "Unrecognized parameter(s): `--fake-invalid`"),
	invalidLink: redEmbed(
		"Invalid link",
		"The Midjourney Bot tried to access a link, but it appears to be invalid. Please make sure your image links are correct.",
	),
	queueFull: redEmbed(
		"Queue full",
		"You have reached the maximum allowed number of concurrent jobs. Don't worry, this job will start as soon as another one finishes!",
	),
	filtered: redEmbed(
		"Request cancelled due to output filters",
		"Sorry! Our AI moderators feel your image might be against our community standards.",
	),
	credits_exhausted: redEmbed(
		"Credits exhausted",
		"You've run out of fast hours. Switch to relax mode with /relax, or buy more fast time at https://www.midjourney.com/account",
	),
	blocked: redEmbed("Blocked", "You have been blocked from accessing Midjourney for 1 hour."),
	pending_mod: redEmbed("Pending mod message", "A moderator has sent you a message. Acknowledge it to continue."),
	plan_cancelled: redEmbed(
		"Plan Cancelled",
		"Your plan has been cancelled. Subscribe again at https://www.midjourney.com/account",
	),
	subscription_required: redEmbed(
		"Subscription required",
		"To use Midjourney, you need an active subscription: https://www.midjourney.com/account",
	),
	captcha: redEmbed("Action required to continue", "Please verify you're human to continue using Midjourney."),
} as const;

export type Refusal = keyof typeof REFUSALS;

/** Numbered lines, `1️⃣ …`, as describe and shorten number their prompts. */
export function numbered(prompts: string[]): string {
	return prompts.map((prompt, i) => `${i + 1}\uFE0F\u20E3 ${prompt}`).join("\n\n");
}

/** The /info embed. */
export function infoEmbed(userId: string, mode: "fast" | "relax" | "turbo", fastHoursLeft: number): Embed {
	const jobMode = mode === "relax" ? "Relaxed" : mode === "turbo" ? "Turbo" : "Fast";
	const percent = ((fastHoursLeft / 15) * 100).toFixed(2);
	return {
		type: "rich",
		title: `Your info - fake-${userId.slice(-4)}`,
		description: [
			`**User ID**: ${userId}`,
			"**Subscription**: Standard (Active monthly, renews next on <t:1798761600>)",
			`**Job Mode**: ${jobMode}`,
			"**Visibility Mode**: Public",
			`**Fast Time Remaining**: ${fastHoursLeft.toFixed(2)}/15.0 hours (${percent}%)`,
			"**Lifetime Usage**: 1024 images (38.21 hours)",
			"**Relaxed Usage**: 400 images (10.02 hours)",
			"**Queued Jobs (fast)**: 0",
			"**Queued Jobs (relax)**: 0",
			"**Running Jobs**: None",
		].join("\n"),
		color: 0,
	};
}
