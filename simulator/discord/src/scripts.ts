/**
 * The scripted Midjourney (and Niji) bot: what it answers to each interaction, as gateway
 * dispatches on the account's session (shared/DISCORD.md "Matching"). A job goes, one step
 * (FAKE_DISCORD_STEP_MS) apart: the first answer with our nonce "(Waiting to start)", two
 * MESSAGE_UPDATEs with (NN%) and a preview, then MESSAGE_DELETE of that message and the final
 * MESSAGE_CREATE with the picture and buttons. Before any of it: INTERACTION_CREATE and
 * INTERACTION_SUCCESS {id, nonce}. Modal buttons answer INTERACTION_MODAL_CREATE (or the
 * iframe variant for Vary (Region)) and run when the modal is submitted.
 */
import { intentOf } from "../../src/buttons";
import { describePrompts, shortenPrompt } from "../../src/prompts";
import { type Account, type Accounts, dispatch, type Fault, snowflake, takeFault } from "./accounts";
import { FAKE_ORIGIN, MIDJOURNEY_BOT_ID, NIJI_BOT_ID } from "./env";
import { displayPrompt, parseMarkers, shortLink } from "./markers";
import {
	type ButtonSet,
	baseMessage,
	buttonRows,
	EPHEMERAL,
	infoEmbed,
	jobContent,
	type Message,
	numbered,
	type Origin,
	previewAttachment,
	REFUSALS,
	type Refusal,
	resultAttachment,
	videoAttachments,
	type Where,
	YELLOW,
} from "./messages";
import { type Bot, discordError, dmChannelId, type Interaction } from "./rest";

/** A finished job, found again by its message (buttons, reactions) or its hash (/show). */
interface Job {
	token: string;
	hash: string;
	/** The prompt as the client sent it, markers and all: follow-ups inherit it. */
	prompt: string;
	label?: string;
	set: ButtonSet;
	where: Where;
	messageId: string;
}

interface JobSpec {
	where: Where;
	origin: Origin;
	prompt: string;
	/** "Variations (Strong)", "Pan Left" …: the words before "by <@user>"; none for imagine, reroll, blend. */
	label?: string;
	set: ButtonSet;
	/** A job without progress posts its result at once (the U1–U4 picks). */
	instant?: { index: number; parent: Message };
}

interface Modal {
	token: string;
	customId: string;
	field: string;
	where: Where;
	run: (prompt: string, origin: Origin) => JobSpec;
}

interface Iframe {
	token: string;
	where: Where;
	interactionId: string;
	parent: Job;
}

const REFUSAL_FAULTS: readonly (Fault & Refusal)[] = [
	"captcha",
	"credits_exhausted",
	"blocked",
	"pending_mod",
	"plan_cancelled",
	"subscription_required",
];

const JOBS_KEPT = 5000;

export class Scripts implements Bot {
	readonly #stepMs: number;
	/** Messages per account and channel, oldest first, for GET …/messages. */
	readonly #messages = new Map<string, Message[]>();
	/** Every live message by id, with the job it shows and the token it was posted for. */
	readonly #byId = new Map<string, { token: string; message: Message; job?: Job; shortened?: string[] }>();
	readonly #jobsByHash = new Map<string, Job>();
	readonly #modals = new Map<string, Modal>();
	readonly #iframes = new Map<string, Iframe>();
	/** Bytes PUT to each upload URL, by `upload_filename` (bounded: the latest uploads only). */
	readonly uploads = new Map<string, { size: number; contentType: string }>();

	constructor(stepMs: number) {
		this.#stepMs = stepMs;
	}

	interaction(account: Account, body: Interaction): Response | undefined {
		const channelId = body.channel_id ?? "";
		const guildId = body.guild_id;
		const interactionId = snowflake();
		const nonce = body.nonce ? String(body.nonce) : undefined;
		let plan: ((where: Where, origin: Origin) => void) | undefined;
		let botId = body.application_id === NIJI_BOT_ID ? NIJI_BOT_ID : MIDJOURNEY_BOT_ID;
		let name: string | undefined;

		if (body.type === 2) {
			name = String(body.data?.name ?? "");
			const planned = this.#command(account, name, body);
			if (planned instanceof Response) return planned;
			plan = planned;
		} else if (body.type === 3) {
			const entry = body.message_id ? this.#byId.get(body.message_id) : undefined;
			if (!entry || entry.token !== account.token || entry.message.channel_id !== channelId) {
				return discordError(404, 10008, "Unknown Message");
			}
			const customId = String(body.data?.custom_id ?? "");
			const shown = entry.message.components.some((row) => row.components.some((c) => c.custom_id === customId));
			if (!shown) return componentInvalid();
			botId = entry.message.author.id;
			const planned = this.#button(account, entry, customId, interactionId, nonce);
			if (planned instanceof Response) return planned;
			plan = planned;
		} else {
			const modal = this.#modals.get(String(body.data?.id ?? ""));
			const field = modalValue(body, modal?.field);
			if (!modal || modal.token !== account.token || modal.customId !== body.data?.custom_id || !field) {
				return componentInvalid();
			}
			this.#modals.delete(String(body.data?.id));
			botId = modal.where.botId;
			plan = (_where, origin) => this.#runJob(account, modal.run(field, origin));
		}

		const where: Where = { channelId, ...(guildId ? { guildId } : {}), botId, userId: account.userId };
		const origin: Origin = { interactionId, nonce, ...(name ? { name } : {}), withMetadata: true };
		this.#after(account, 0, () => {
			dispatch(account, "INTERACTION_CREATE", { id: interactionId, nonce });
			dispatch(account, "INTERACTION_SUCCESS", { id: interactionId, nonce });
			const refusal = REFUSAL_FAULTS.find((fault) => takeFault(account, fault));
			if (refusal) {
				this.#refuse(account, where, origin, refusal);
				return;
			}
			plan?.(where, origin);
		});
		return undefined;
	}

	reaction(account: Account, channelId: string, messageId: string, emoji: string): Response | undefined {
		const entry = this.#byId.get(messageId);
		if (!entry || entry.token !== account.token || entry.message.channel_id !== channelId) {
			return discordError(404, 10008, "Unknown Message");
		}
		const job = entry.job;
		if (emoji.replace(/\uFE0F/g, "") !== "✉" || !job) return undefined;
		// The seed arrives as a DM from the bot that ran the job.
		const dm: Where = {
			channelId: dmChannelId(account, job.where.botId),
			botId: job.where.botId,
			userId: account.userId,
		};
		this.#after(account, this.#stepMs, () => {
			this.#post(
				account,
				baseMessage(dm, {
					content: `**${displayPrompt(job.prompt)}**\n**Job ID**: ${job.hash}\n**seed** ${seedOf(job.hash)}`,
				}),
			);
		});
		return undefined;
	}

	messages(account: Account, channelId: string, limit: number): unknown[] {
		return (this.#messages.get(`${account.token}\n${channelId}`) ?? []).slice(-limit).reverse();
	}

	/** The activity host's vary-region submit: the mask and prompt for an iframe a press opened. */
	submitJob(accounts: Accounts, body: unknown): Response {
		const input = (body ?? {}) as { customId?: unknown; mask?: unknown; prompt?: unknown };
		const iframe = typeof input.customId === "string" ? this.#iframes.get(input.customId) : undefined;
		if (!iframe) return Response.json({ success: false, message: "unknown customId" }, { status: 404 });
		if (typeof input.mask !== "string" || !isPngBase64(input.mask)) {
			return Response.json({ success: false, message: "mask must be a base64 PNG" }, { status: 400 });
		}
		this.#iframes.delete(input.customId as string);
		const account = accounts.get(iframe.token);
		const prompt = typeof input.prompt === "string" && input.prompt.trim() ? input.prompt : iframe.parent.prompt;
		this.#runJob(account, {
			where: iframe.where,
			origin: { interactionId: iframe.interactionId, withMetadata: true },
			prompt,
			label: "Variations (Region)",
			set: "grid",
		});
		return Response.json({ success: true });
	}

	/** A slash command: what to do once the interaction is acknowledged, or an error response now. */
	#command(account: Account, name: string, body: Interaction): ((where: Where, origin: Origin) => void) | Response {
		const options = (body.data?.options ?? []) as { name?: string; value?: unknown }[];
		const option = (key: string) => options.find((o) => o.name === key)?.value;
		const attachments = (body.data?.attachments ?? []) as {
			id?: string;
			filename?: string;
			uploaded_filename?: string;
		}[];
		const attachmentUrl = (index: unknown) => {
			const file = attachments[Number(index)];
			const filename = file?.filename ?? file?.uploaded_filename?.split("/").pop();
			return filename ? `${FAKE_ORIGIN}/attachments/${body.channel_id}/${snowflake()}/${filename}` : undefined;
		};
		switch (name) {
			case "imagine": {
				const prompt = option("prompt");
				if (typeof prompt !== "string" || !prompt.trim()) return invalidForm();
				return (where, origin) => this.#runJob(account, { where, origin, prompt, set: "grid" });
			}
			case "blend": {
				const links = [1, 2, 3, 4, 5].map((n) => option(`image${n}`)).filter((v) => v !== undefined);
				const urls = links.map(attachmentUrl);
				if (urls.length < 2 || urls.some((url) => url === undefined)) return invalidForm();
				const dimensions = option("dimensions");
				const shown = urls.map((url) => shortLink(url as string)).join(" ");
				const prompt = typeof dimensions === "string" ? `${shown} ${dimensions}` : shown;
				return (where, origin) => this.#runJob(account, { where, origin, prompt, set: "grid" });
			}
			case "describe": {
				const link = option("link");
				if (!(typeof link === "string" && link)) {
					// As Discord does, a picture named by upload must have been PUT to its upload URL first.
					const file = attachments[Number(option("image"))];
					if (!file?.uploaded_filename || !this.uploads.get(file.uploaded_filename)?.size) return invalidForm();
				}
				const source = typeof link === "string" && link ? link : attachmentUrl(option("image"));
				if (!source) return invalidForm();
				return (where, origin) => this.#describe(account, where, origin, source);
			}
			case "shorten": {
				const prompt = option("prompt");
				if (typeof prompt !== "string" || !prompt.trim()) return invalidForm();
				return (where, origin) => this.#shorten(account, where, origin, prompt);
			}
			case "info":
				return (where, origin) =>
					this.#after(account, this.#stepMs, () =>
						this.#post(
							account,
							baseMessage(
								where,
								{ flags: EPHEMERAL, embeds: [infoEmbed(account.userId, account.mode, account.fastHoursLeft)] },
								origin,
							),
						),
					);
			case "fast":
			case "relax":
			case "turbo":
				return (where, origin) => {
					account.mode = name;
					const content =
						name === "relax"
							? "Done! Your jobs now do not cost fast-hours, but will take a little longer to run."
							: `Done! Your jobs now run in ${name} mode.`;
					this.#post(account, baseMessage(where, { flags: EPHEMERAL, content }, origin));
				};
			case "settings":
				return (where, origin) => this.#post(account, this.#settingsMessage(account, where, origin));
			case "show": {
				const hash = option("job_id");
				if (typeof hash !== "string") return invalidForm();
				return (where, origin) => this.#show(account, where, origin, hash);
			}
			default:
				return invalidForm();
		}
	}

	/** A button press on one of the bot's messages. */
	#button(
		account: Account,
		entry: { message: Message; job?: Job; shortened?: string[] },
		customId: string,
		interactionId: string,
		nonce: string | undefined,
	): ((where: Where, origin: Origin) => void) | Response {
		const parent = entry.job;
		if (customId.startsWith("MJ::Settings::")) {
			return (where, origin) => {
				if (customId === "MJ::Settings::RemixMode") account.remix = !account.remix;
				const mode = /^MJ::Settings::(Fast|Relax|Turbo)Mode$/.exec(customId)?.[1]?.toLowerCase();
				if (mode === "fast" || mode === "relax" || mode === "turbo") account.mode = mode;
				const updated = this.#settingsMessage(account, where, origin);
				this.#edit(account, entry.message, { components: updated.components });
			};
		}
		const analyzer = /^MJ::Job::PromptAnalyzer::[0-9a-f-]+::([1-5])$/.exec(customId);
		if (analyzer) {
			const prompt = entry.shortened?.[Number(analyzer[1]) - 1];
			if (!prompt) return componentInvalid();
			return (where, origin) => this.#runJob(account, { where, origin, prompt, set: "grid" });
		}
		const intent = intentOf(customId);
		if (!intent || !parent) return componentInvalid();
		const remix = account.remix || parseMarkers(parent.prompt).remix;
		const prompt = parent.prompt;
		const job = (spec: Omit<JobSpec, "where" | "origin">) => (where: Where, origin: Origin) =>
			this.#runJob(account, { where, origin, ...spec });
		const modal = (customIdOf: string, field: string, title: string, value: string, run: Modal["run"]) => {
			return (where: Where) => {
				this.#modals.set(interactionId, { token: account.token, customId: customIdOf, field, where, run });
				dispatch(account, "INTERACTION_MODAL_CREATE", {
					id: interactionId,
					nonce,
					channel_id: where.channelId,
					custom_id: customIdOf,
					title,
					components: [
						{ type: 1, components: [{ type: 4, custom_id: field, label: "Prompt", style: 2, value, required: true }] },
					],
					application: { id: where.botId },
				});
			};
		};
		const runWith =
			(label: string | undefined, set: ButtonSet) =>
			(newPrompt: string, origin: Origin): JobSpec => ({
				where: parent.where,
				origin,
				prompt: newPrompt,
				...(label ? { label } : {}),
				set,
			});
		switch (intent.kind) {
			case "upscale":
				return (where, origin) =>
					this.#runJob(account, {
						where,
						origin,
						prompt,
						set: "upscaled",
						instant: { index: intent.index, parent: entry.message },
					});
			case "upscale-again":
				return job({
					prompt,
					label: intent.flavour === "creative" ? "Upscaled (Creative)" : "Upscaled (Subtle)",
					set: "upscaled",
				});
			case "variation":
			case "vary-single": {
				const strong = intent.kind === "variation" || intent.strength === "strong";
				const strength = strong ? "Strong" : "Subtle";
				if (remix) {
					const index = intent.kind === "variation" ? intent.index : 1;
					return modal(
						`MJ::RemixModal::${parent.hash}::${index}::${strong ? 1 : 0}`,
						"MJ::RemixModal::new_prompt",
						"Remix Prompt",
						prompt,
						runWith(`Remix (${strength})`, "grid"),
					);
				}
				return job({ prompt, label: `Variations (${strength})`, set: "grid" });
			}
			case "reroll":
				if (remix) {
					return modal(
						`MJ::ImagineModal::${entry.message.id}`,
						"MJ::ImagineModal::new_prompt",
						"Imagine This!",
						prompt,
						runWith(undefined, "grid"),
					);
				}
				return job({ prompt, set: "grid" });
			case "pan": {
				const label = `Pan ${intent.direction[0]?.toUpperCase()}${intent.direction.slice(1)}`;
				if (remix) {
					return modal(
						`MJ::PanModal::${intent.direction}::${parent.hash}::1`,
						"MJ::PanModal::prompt",
						"Pan",
						prompt,
						runWith(label, "grid"),
					);
				}
				return job({ prompt, label, set: "grid" });
			}
			case "zoom":
				return job({ prompt, label: "Zoom Out", set: "grid" });
			case "custom-zoom":
				return modal(
					`MJ::OutpaintCustomZoomModal::${parent.hash}`,
					"MJ::OutpaintCustomZoomModal::prompt",
					"Zoom Out",
					`${prompt} --zoom 2`,
					runWith("Zoom Out", "grid"),
				);
			case "inpaint":
				return (where) => {
					const token = crypto.randomUUID().replaceAll("-", "");
					this.#iframes.set(token, { token: account.token, where, interactionId, parent });
					dispatch(account, "INTERACTION_IFRAME_MODAL_CREATE", {
						id: interactionId,
						nonce,
						channel_id: where.channelId,
						custom_id: `MJ::iframe::${token}`,
						title: "Vary Region",
						iframe_path: `/inpaint/?custom_id=${token}&instance_id=${interactionId}`,
						modal_size: 2,
						application: { id: where.botId },
					});
				};
			case "animate":
			case "extend": {
				const withMotion = `${prompt.replace(/\s--motion\s+\S+/g, "")} --motion ${intent.motion}`;
				if (remix && intent.kind === "animate") {
					return modal(
						`MJ::AnimateModal::${parent.hash}::1::${intent.motion}::1`,
						"MJ::AnimateModal::prompt",
						"Animate",
						withMotion,
						runWith(undefined, "video"),
					);
				}
				return job({ prompt: withMotion, set: "video" });
			}
		}
	}

	/** A job from its first answer to its final message (or its refusal). */
	#runJob(account: Account, spec: JobSpec): void {
		const { where, origin } = spec;
		const markers = parseMarkers(spec.prompt);
		const step = this.#stepMs * (markers.slow ? 10 : 1);
		const shown = displayPrompt(spec.prompt);
		const hash = crypto.randomUUID();
		const mode = /(^|\s)--relax(\s|$)/.test(spec.prompt)
			? "relax"
			: /(^|\s)--turbo(\s|$)/.test(spec.prompt)
				? "turbo"
				: /(^|\s)--fast(\s|$)/.test(spec.prompt)
					? "fast"
					: account.mode;
		const tail = mode === "relax" ? "(relaxed)" : `(${mode})`;
		const finalOrigin: Origin = {
			interactionId: origin.interactionId,
			...(origin.name ? { name: origin.name } : {}),
			withMetadata: !markers.noMetadata && !takeFault(account, "drop_interaction_metadata"),
		};
		const deleteIt = takeFault(account, "delete_next");
		const final = (): Message => {
			const attachments =
				spec.set === "video"
					? videoAttachments(where.channelId, hash)
					: [resultAttachment(where.channelId, shown, hash, spec.set === "upscaled")];
			const content = spec.instant
				? `**${shown}** - Image #${spec.instant.index} <@${where.userId}>`
				: jobContent(shown, spec.label, where.userId, tail);
			const reference = spec.instant
				? {
						type: 19,
						message_reference: {
							message_id: spec.instant.parent.id,
							channel_id: where.channelId,
							...(where.guildId ? { guild_id: where.guildId } : {}),
						},
						referenced_message: spec.instant.parent,
					}
				: {};
			return baseMessage(
				where,
				{ content, attachments, components: buttonRows(spec.set, hash), ...reference },
				finalOrigin,
			);
		};
		const finish = (message: Message) => {
			const job: Job = {
				token: account.token,
				hash,
				prompt: spec.prompt,
				...(spec.label ? { label: spec.label } : {}),
				set: spec.set,
				where,
				messageId: message.id,
			};
			this.#jobsByHash.set(`${account.token}\n${hash}`, job);
			// Bounded, so a long `npm start` does not grow without end: /show knows the latest jobs.
			if (this.#jobsByHash.size > JOBS_KEPT) this.#jobsByHash.delete(this.#jobsByHash.keys().next().value ?? "");
			this.#post(account, message, job);
		};

		this.#after(account, step, () => {
			const refusal = markers.banned
				? REFUSALS.banned
				: markers.invalidLink
					? REFUSALS.invalidLink
					: markers.invalid
						? REFUSALS.invalid
						: markers.queueFull
							? REFUSALS.queueFull
							: undefined;
			if (refusal) {
				this.#post(account, baseMessage(where, { flags: EPHEMERAL, embeds: [refusal] }, origin));
				return;
			}
			if (markers.failed) {
				this.#post(account, baseMessage(where, { content: "Failed to process your command :(" }, origin));
				return;
			}
			if (markers.warning) {
				const warning = {
					type: "rich" as const,
					title: "Job queued",
					description: "Your job will start shortly.",
					color: YELLOW,
				};
				this.#post(account, baseMessage(where, { flags: EPHEMERAL, embeds: [warning] }, origin));
			}
			if (spec.instant) {
				finish(final());
				return;
			}
			const progress = this.#post(
				account,
				baseMessage(where, { content: jobContent(shown, spec.label, where.userId, "(Waiting to start)") }, origin),
			);
			this.#after(account, step, () => {
				if (deleteIt) {
					this.#delete(account, progress);
					return;
				}
				const percents = markers.long ? [8, 15, 23, 31, 38, 46, 54, 62, 69, 77, 85, 92] : [31, 72];
				const update = (n: number) => {
					this.#edit(account, progress, {
						content: jobContent(shown, spec.label, where.userId, `(${percents[n]}%) ${tail}`),
						attachments: [previewAttachment(where.channelId, hash)],
					});
					this.#after(account, step, () => {
						if (n + 1 < percents.length) {
							update(n + 1);
							return;
						}
						this.#delete(account, progress);
						if (markers.filtered) {
							this.#post(account, baseMessage(where, { embeds: [REFUSALS.filtered] }, finalOrigin));
							return;
						}
						finish(final());
					});
				};
				update(0);
			});
		});
	}

	#describe(account: Account, where: Where, origin: Origin, source: string): void {
		const picture = `${FAKE_ORIGIN}/attachments/${where.channelId}/${snowflake()}/describe_${seedOf(source)}.png?fake=single`;
		const image = { url: picture, proxy_url: picture, width: 512, height: 512 };
		this.#after(account, this.#stepMs, () => {
			const message = this.#post(account, baseMessage(where, { embeds: [{ type: "rich", image }] }, origin));
			this.#after(account, this.#stepMs, () => {
				this.#edit(account, message, {
					embeds: [{ type: "rich", description: describePrompts(source), image, color: 0 }],
				});
			});
		});
	}

	#shorten(account: Account, where: Where, origin: Origin, prompt: string): void {
		const shortened = shortenPrompt(prompt).split("\n\n");
		const tokens = prompt
			.split(/\s+/)
			.filter((word) => word && !word.startsWith("--"))
			.slice(0, 6)
			.join(", ");
		const hash = crypto.randomUUID();
		this.#after(account, this.#stepMs, () => {
			const message = baseMessage(
				where,
				{
					embeds: [
						{
							type: "rich",
							description: `## Important tokens\n${tokens}\n## Shortened options\n${numbered(shortened)}`,
							footer: { text: "Click on a button to imagine one of the shortened prompts" },
							color: 0,
						},
					],
					components: [
						{
							type: 1,
							components: shortened.map((_, i) => ({
								type: 2 as const,
								style: 2,
								label: String(i + 1),
								custom_id: `MJ::Job::PromptAnalyzer::${hash}::${i + 1}`,
							})),
						},
					],
				},
				origin,
			);
			this.#post(account, message);
			const entry = this.#byId.get(message.id);
			if (entry) entry.shortened = shortened;
		});
	}

	#show(account: Account, where: Where, origin: Origin, hash: string): void {
		const job = this.#jobsByHash.get(`${account.token}\n${hash.toLowerCase()}`);
		this.#after(account, this.#stepMs, () => {
			if (!job) {
				this.#post(
					account,
					baseMessage(
						where,
						{
							flags: EPHEMERAL,
							embeds: [{ type: "rich", title: "Invalid Job ID", description: "No job with that ID.", color: 16711680 }],
						},
						origin,
					),
				);
				return;
			}
			const original = this.#byId.get(job.messageId)?.message;
			const shown = displayPrompt(job.prompt);
			const message = baseMessage(
				where,
				{
					content: jobContent(
						shown,
						job.label,
						where.userId,
						`(${account.mode === "relax" ? "relaxed" : account.mode})`,
					),
					attachments: original?.attachments ?? [
						resultAttachment(where.channelId, shown, job.hash, job.set === "upscaled"),
					],
					components: buttonRows(job.set, job.hash),
				},
				origin,
			);
			this.#post(account, message, { ...job, where, messageId: message.id });
		});
	}

	#settingsMessage(account: Account, where: Where, origin: Origin): Message {
		const toggle = (customId: string, label: string, on: boolean) => ({
			type: 2 as const,
			style: on ? 3 : 2,
			label,
			custom_id: customId,
		});
		return baseMessage(
			where,
			{
				flags: EPHEMERAL,
				content: "Adjust your settings here.",
				components: [
					{ type: 1, components: [toggle("MJ::Settings::RemixMode", "Remix mode", account.remix)] },
					{
						type: 1,
						components: [
							toggle("MJ::Settings::TurboMode", "Turbo mode", account.mode === "turbo"),
							toggle("MJ::Settings::FastMode", "Fast mode", account.mode === "fast"),
							toggle("MJ::Settings::RelaxMode", "Relax mode", account.mode === "relax"),
						],
					},
				],
			},
			origin,
		);
	}

	/** An account-level refusal in place of the job: the fault's red embed, ephemeral. */
	#refuse(account: Account, where: Where, origin: Origin, refusal: Refusal): void {
		if (refusal === "credits_exhausted") account.fastHoursLeft = 0;
		const components =
			refusal === "captcha"
				? [
						{
							type: 1 as const,
							components: [
								{
									type: 2 as const,
									style: 5,
									label: "Verify",
									url: `https://www.midjourney.com/captcha/${snowflake()}`,
								},
							],
						},
					]
				: [];
		this.#post(account, baseMessage(where, { flags: EPHEMERAL, embeds: [REFUSALS[refusal]], components }, origin));
	}

	#post(account: Account, message: Message, job?: Job): Message {
		const key = `${account.token}\n${message.channel_id}`;
		const list = this.#messages.get(key) ?? [];
		list.push(message);
		if (list.length > 200) for (const old of list.splice(0, list.length - 200)) this.#byId.delete(old.id);
		this.#messages.set(key, list);
		this.#byId.set(message.id, { token: account.token, message, ...(job ? { job } : {}) });
		dispatch(account, "MESSAGE_CREATE", message);
		return message;
	}

	#edit(account: Account, message: Message, fields: Partial<Message>): void {
		Object.assign(message, fields, { edited_timestamp: new Date().toISOString() });
		dispatch(account, "MESSAGE_UPDATE", message);
	}

	#delete(account: Account, message: Message): void {
		const key = `${account.token}\n${message.channel_id}`;
		const list = this.#messages.get(key) ?? [];
		const at = list.indexOf(message);
		if (at >= 0) list.splice(at, 1);
		this.#byId.delete(message.id);
		dispatch(account, "MESSAGE_DELETE", {
			id: message.id,
			channel_id: message.channel_id,
			...(message.guild_id ? { guild_id: message.guild_id } : {}),
		});
	}

	/** A step of the bot: after `ms`, or, while the account's steps are held, when `/_fake/step` says so. */
	#after(account: Account, ms: number, run: () => void): void {
		if (account.held) account.held.push(run);
		else setTimeout(run, ms);
	}
}

function invalidForm(): Response {
	return discordError(400, 50035, "Invalid Form Body");
}

function componentInvalid(): Response {
	return discordError(400, 50035, "Invalid Form Body", {
		data: { _errors: [{ code: "COMPONENT_VALIDATION_FAILED", message: "Component validation failed" }] },
	});
}

/** The text field of a modal submit whose custom_id is `field`. */
function modalValue(body: Interaction, field: string | undefined): string | undefined {
	if (!field) return undefined;
	const rows = (body.data?.components ?? []) as { components?: { custom_id?: string; value?: unknown }[] }[];
	for (const row of rows) {
		for (const input of row.components ?? []) {
			if (input.custom_id === field && typeof input.value === "string" && input.value.trim()) return input.value;
		}
	}
	return undefined;
}

function isPngBase64(text: string): boolean {
	return text.startsWith("iVBORw0KGgo") && /^[A-Za-z0-9+/]+={0,2}$/.test(text);
}

/** A stable seed for a job hash. */
function seedOf(text: string): string {
	let h = 0;
	for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) >>> 0;
	return String(h % 4294967295);
}
