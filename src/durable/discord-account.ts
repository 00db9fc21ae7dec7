/**
 * One Durable Object per discord channel: the account's gateway socket (a client WebSocket, so no
 * hibernation: the object stays in memory while connected), its interactions over REST at the
 * account's pace, and its running and waiting tasks. Every Midjourney message is matched to its
 * task (src/discord/midjourney.ts) and handed to that task's TaskObject.apply, exactly as a poll
 * or a push would be: the task object stays the one place that decides a transition.
 *
 * What must survive an eviction or a deploy lives in storage: the session (id, seq, resume URL),
 * the tasks, the command index. A watchdog alarm runs while the channel is enabled, so a lost
 * connection or a restarted object comes back by itself with a RESUME.
 */
import { DurableObject } from "cloudflare:workers";
import { config } from "../config";
import { disableChannel, findChannel, setDiscordState } from "../db/channels";
import { getDb } from "../db/client";
import type { ChannelRow, TaskRow } from "../db/schema";
import { findTask } from "../db/tasks";
import { type Deps, runtimeDeps } from "../deps";
import { discordFetch } from "../discord/fetcher";
import { GatewayConnection, type GatewayEnd, type GatewaySession } from "../discord/gateway";
import {
	botIdFor,
	buttonPress,
	findCommand,
	modalSubmit,
	slashCommand,
	type UploadedAttachment,
	type Where,
} from "../discord/interactions";
import {
	buttonsOf,
	classifyMessage,
	type DiscordMessage,
	MIDJOURNEY_BOT_ID,
	type MjAccountState,
	type MjButton,
	type MjEvent,
	matchTask,
	NIJI_BOT_ID,
	type PendingTask,
} from "../discord/midjourney";
import {
	type ApplicationCommand,
	DiscordAuthError,
	DiscordError,
	DiscordInvalidFormError,
	DiscordRest,
	snowflake,
} from "../discord/rest";
import { type DiscordSettings, type DiscordState, IDLE_STATE, isFull, parseSettings } from "../discord/settings";
import { base64 } from "../encoding";
import { publicBase, uploadUrl } from "../images/links";
import { extensionOf, newFileName } from "../images/upload";
import { logError, logWarning } from "../log";
import { actionOfButton } from "../tasks/actions";
import type { AccountSubmit, DiscordAccountCalls, PreparedInput } from "../tasks/discord-account-stub";
import { discordCannotRun } from "../tasks/discord-capabilities";
import type { TaskMessage } from "../tasks/messages";
import { isTerminal, parseOptions, storedButtons, type TaskUpdate } from "../tasks/model";
import { inputKeysOf } from "../tasks/submit";
import { taskObject } from "../tasks/task-object-stub";

/** The watchdog's period while the channel is enabled. */
const WATCHDOG_MS = 30_000;
/** The command index is read again after this long even without a 50035. */
const COMMANDS_TTL_MS = 6 * 3600_000;
/** A connection that ends this often within RECONNECT_WINDOW_MS takes the account out. */
const RECONNECT_LIMIT = 5;
const RECONNECT_WINDOW_MS = 5 * 60_000;
/** How long seed() waits for the bot's DM. */
const SEED_WAIT_MS = 20_000;
/** /info is read this often, so the admin sees the fast time left. */
const INFO_EVERY_MS = 30 * 60_000;
/** "Last heard" is written to D1 at most this often; every other change of state at once. */
const HEARD_WRITE_MS = 15_000;
/**
 * The channel row is read from D1 again after this long. Every gateway message needs it (is the
 * channel on, its Discord channel id, its token): a D1 read and its mapping per message were most
 * of a progress update's CPU. An admin's change reaches the object at once anyway (refresh() reads
 * afresh), and the watchdog alarm reads afresh too.
 */
const CHANNEL_TTL_MS = 5_000;

interface WaitingTask {
	taskId: string;
	nonce: string;
	queuedAt: number;
	/** The prompt and modal prompt as the gateway prepared them (translated), when they differ from the task's. */
	prompt?: string;
	modalPrompt?: string;
}

interface StoredTasks {
	running: AccountTask[];
	waiting: WaitingTask[];
}

interface StoredCommands {
	fetchedAt: number;
	list: ApplicationCommand[];
}

/** What the object keeps per sent task: matching's fields plus what a modal step needs. */
interface AccountTask extends PendingTask {
	/** The bot the task talks to (modal submits go to it). */
	botId?: string;
	/** The second input of a modal flow: the prompt (custom zoom, remix) and the mask (vary region). */
	modalPrompt?: string;
	maskKey?: string;
}

/** Thrown while building an interaction: the task cannot run on this account, and why. */
class TaskRefused extends Error {}

export class DiscordAccount extends DurableObject<Env> implements DiscordAccountCalls {
	/** A Durable Object has no request context: it builds its network, clock and chance once. */
	/** Read at each use, so a test that replaces the runtime's Deps reaches an object already built. */
	get #deps(): Deps {
		return runtimeDeps();
	}
	#channelId: number | null = null;
	/** The channel row as last read (undefined: not a discord channel, or gone), and when. */
	#channelRead: { row: ChannelRow | undefined; at: number } | null = null;
	#session: GatewaySession | null = null;
	#tasks: StoredTasks = { running: [], waiting: [] };
	#gateway: GatewayConnection | null = null;
	#connecting = false;
	#connection: DiscordState["connection"] = "disconnected";
	#lastError = "";
	#lastHeardAt = 0;
	#fastTimeRemaining = "";
	#mode: DiscordState["mode"];
	#written = "";
	#writtenHeardAt = 0;
	#nextSendAt = 0;
	#pumping = false;
	#ends: number[] = [];
	#reconnectTimer: ReturnType<typeof setTimeout> | undefined;
	/** seed() calls waiting for the bot's DM, by job hash. */
	readonly #seedWaiters = new Map<string, (seed: string | null) => void>();

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		ctx.blockConcurrencyWhile(async () => {
			const stored = await ctx.storage.get<unknown>(["channelId", "session", "tasks", "mode"]);
			this.#mode = stored.get("mode") as DiscordState["mode"];
			this.#channelId = (stored.get("channelId") as number | undefined) ?? null;
			this.#session = (stored.get("session") as GatewaySession | undefined) ?? null;
			this.#tasks = (stored.get("tasks") as StoredTasks | undefined) ?? { running: [], waiting: [] };
		});
	}

	// ---- RPC ----------------------------------------------------------------------------------

	/** The channel row changed (created, enabled, disabled, settings): connect or close to match it. */
	async refresh(channelId: number): Promise<DiscordState> {
		await this.#remember(channelId);
		const channel = await this.#channel(true);
		if (!channel?.enabled) {
			this.#closeGateway("the channel is disabled");
			this.#connection = "disabled";
			if (channel?.disabledReason) this.#lastError = channel.disabledReason;
			await this.ctx.storage.deleteAlarm();
		} else {
			// New settings or a new token: a fresh connection picks them up.
			this.#closeGateway("settings changed");
			this.#connection = "disconnected";
			await this.#ensureConnected(channel);
			await this.ctx.storage.setAlarm(this.#deps.now() + WATCHDOG_MS);
		}
		await this.#report(true);
		return this.#state();
	}

	/** Takes a task for this account (waiting until a slot frees), or says why it cannot. */
	async submit(channelId: number, taskId: string, prepared: PreparedInput = {}): Promise<AccountSubmit> {
		await this.#remember(channelId);
		const channel = await this.#channel();
		const settings = channel ? parseSettings(channel.discord) : undefined;
		if (!channel?.enabled || !settings)
			return { kind: "down", reason: channel?.disabledReason || "the channel is disabled" };
		const known = [...this.#tasks.running, ...this.#tasks.waiting].find((task) => task.taskId === taskId);
		if (known) return { kind: "accepted", upstreamId: known.nonce };
		if (isFull(settings, this.#state())) return { kind: "full" };
		const nonce = snowflake(this.#deps.now());
		this.#tasks.waiting.push({ taskId, nonce, queuedAt: this.#deps.now(), ...prepared });
		await this.#saveTasks();
		await this.#report(true);
		await this.ctx.storage.setAlarm(this.#deps.now() + WATCHDOG_MS);
		// The caller records SUBMITTED first; sending starts right after this call returns.
		this.ctx.waitUntil(this.#kick(channel));
		return { kind: "accepted", upstreamId: nonce };
	}

	/**
	 * The gateway no longer wants the task (cancelled), named by its public id or its nonce (the
	 * upstream id it got at submit): forget it. Midjourney cannot be stopped mid-job.
	 */
	async cancel(id: string): Promise<boolean> {
		const keep = (task: { taskId: string; nonce: string }) => task.taskId !== id && task.nonce !== id;
		const before = this.#tasks.running.length + this.#tasks.waiting.length;
		this.#tasks.running = this.#tasks.running.filter(keep);
		this.#tasks.waiting = this.#tasks.waiting.filter(keep);
		const removed = before !== this.#tasks.running.length + this.#tasks.waiting.length;
		if (removed) {
			await this.#saveTasks();
			await this.#report(true);
		}
		return removed;
	}

	/**
	 * The seed of a finished job: the ✉️ reaction on its message, and the bot's DM that answers it
	 * (`**Job ID**: <hash> **seed** <n>`). Null when Discord refused or no answer came in time.
	 */
	async seed(channelId: number, messageId: string, hash: string, botType: string): Promise<string | null> {
		await this.#remember(channelId);
		const channel = await this.#channel();
		const settings = channel ? parseSettings(channel.discord) : undefined;
		if (!channel?.enabled || !settings) return null;
		await this.#ensureConnected(channel);
		const key = hash.toLowerCase();
		const answer = new Promise<string | null>((resolve) => {
			const timer = setTimeout(() => {
				this.#seedWaiters.delete(key);
				resolve(null);
			}, SEED_WAIT_MS);
			this.#seedWaiters.set(key, (seed) => {
				clearTimeout(timer);
				this.#seedWaiters.delete(key);
				resolve(seed);
			});
		});
		try {
			const rest = this.#rest(channel, settings);
			// The DM channel with the bot is where its answer arrives: opening it makes sure it exists,
			// unless the admin named it (one call fewer per seed).
			const known = botType === "NIJI_JOURNEY" ? settings.niji_dm_channel_id : settings.dm_channel_id;
			if (!known) await rest.openDm(botIdFor(botType));
			await this.#paced();
			await rest.react(settings.channel_id, messageId, "\u2709\uFE0F");
		} catch (error) {
			this.#seedWaiters.get(key)?.(null);
			if (error instanceof DiscordAuthError) await this.#disable(error.message);
			return null;
		}
		return answer;
	}

	/** What the admin list shows, straight from the object (tests, diagnostics). */
	async status(): Promise<DiscordState & { session: boolean; running: number; waiting: number }> {
		return { ...this.#state(), session: this.#session !== null };
	}

	/** The watchdog: reconnect a lost connection, notice a dead one, start waiting tasks, drop finished ones. */
	override async alarm(): Promise<void> {
		const channel = await this.#channel(true);
		if (!channel?.enabled) {
			this.#closeGateway("the channel is disabled");
			this.#connection = "disabled";
			await this.#report(true);
			return;
		}
		await this.ctx.storage.setAlarm(this.#deps.now() + WATCHDOG_MS);
		if (this.#gateway && !this.#gateway.checkAlive(this.#deps.now())) this.#gateway = null;
		await this.#dropFinished();
		await this.#kick(channel);
		await this.#readInfo(channel);
		await this.#report(false);
	}

	// ---- the connection -------------------------------------------------------------------------

	async #remember(channelId: number): Promise<void> {
		if (this.#channelId === channelId) return;
		this.#channelId = channelId;
		this.#channelRead = null;
		await this.ctx.storage.put("channelId", channelId);
	}

	/** The channel's row: from memory for CHANNEL_TTL_MS, from D1 when older or `fresh`. */
	async #channel(fresh = false): Promise<ChannelRow | undefined> {
		if (this.#channelId === null) return undefined;
		const now = this.#deps.now();
		const read = this.#channelRead;
		if (!fresh && read && now - read.at >= 0 && now - read.at < CHANNEL_TTL_MS) return read.row;
		const channel = await findChannel(getDb(this.env.DB), this.#channelId);
		const row = channel?.kind === "discord" ? channel : undefined;
		this.#channelRead = { row, at: now };
		return row;
	}

	#rest(channel: ChannelRow, settings: DiscordSettings): DiscordRest {
		return new DiscordRest({
			token: channel.secret,
			userAgent: settings.user_agent,
			apiBase: settings.api_base,
			fetch: discordFetch(this.env, this.#deps.fetch),
		});
	}

	/** Connects when needed, then starts what waits. */
	async #kick(channel: ChannelRow): Promise<void> {
		try {
			await this.#ensureConnected(channel);
			await this.#pump();
		} catch (error) {
			logError("discord account kick failed", this.#channelId, error);
		}
	}

	async #ensureConnected(channel: ChannelRow): Promise<void> {
		if (this.#gateway?.open || this.#connecting) return;
		const settings = parseSettings(channel.discord);
		if (!settings) return;
		this.#connecting = true;
		this.#connection = "connecting";
		try {
			const rest = this.#rest(channel, settings);
			const resumable = this.#session?.resumeUrl && this.#session.seq !== null ? this.#session : null;
			const url = resumable ? resumable.resumeUrl : await rest.gatewayUrl();
			const gateway: GatewayConnection = new GatewayConnection({
				token: channel.secret,
				userAgent: settings.user_agent,
				fetch: discordFetch(this.env, this.#deps.fetch),
				random: this.#deps.random,
				now: this.#deps.now,
				session: resumable,
				handlers: {
					ready: (session) => this.#onReady(gateway, session),
					sequence: (seq) => this.#onSequence(gateway, seq),
					dispatch: (type, data) => this.#onDispatch(gateway, type, data),
					end: (end) => this.#onEnd(gateway, end),
				},
			});
			this.#gateway = gateway;
			await gateway.connect(url);
		} catch (error) {
			this.#gateway = null;
			this.#connection = "disconnected";
			if (error instanceof DiscordAuthError) {
				await this.#disable(error.message);
				return;
			}
			this.#lastError = `cannot connect: ${error instanceof Error ? error.message : String(error)}`;
			logWarning("discord gateway connect failed", this.#channelId, this.#lastError);
			this.#scheduleReconnect(5000);
		} finally {
			this.#connecting = false;
			await this.#report(true);
		}
	}

	#closeGateway(reason: string): void {
		clearTimeout(this.#reconnectTimer);
		this.#gateway?.close(1000, reason);
		this.#gateway = null;
	}

	#scheduleReconnect(delayMs: number): void {
		clearTimeout(this.#reconnectTimer);
		this.#reconnectTimer = setTimeout(() => {
			this.ctx.waitUntil(
				(async () => {
					const channel = await this.#channel();
					if (channel?.enabled) await this.#kick(channel);
				})(),
			);
		}, delayMs);
	}

	#onReady(gateway: GatewayConnection, session: GatewaySession): void {
		if (gateway !== this.#gateway) return;
		this.#session = session;
		this.#connection = "connected";
		this.#lastError = "";
		this.#heard();
		this.ctx.waitUntil(
			(async () => {
				await this.ctx.storage.put("session", session);
				await this.#report(true);
				await this.#pump();
			})(),
		);
	}

	#onSequence(gateway: GatewayConnection, seq: number): void {
		if (gateway !== this.#gateway || !this.#session) return;
		this.#session = { ...this.#session, seq };
		// Output gate: the put lands before anything this event causes is acknowledged.
		this.ctx.storage.put("session", this.#session);
	}

	#onEnd(gateway: GatewayConnection, end: GatewayEnd): void {
		if (gateway !== this.#gateway) return;
		this.#gateway = null;
		this.#connection = "disconnected";
		this.#lastError = end.reason;
		this.ctx.waitUntil(
			(async () => {
				if (end.kind === "fatal") {
					await this.#disable(end.reason);
					return;
				}
				if (end.kind === "identify") {
					this.#session = null;
					await this.ctx.storage.delete("session");
				}
				const now = this.#deps.now();
				// Discord's own request to move (op 7) is routine; anything else counts toward giving up.
				if (!end.reason.includes("op 7")) {
					this.#ends = [...this.#ends.filter((at) => now - at < RECONNECT_WINDOW_MS), now];
					if (this.#ends.length >= RECONNECT_LIMIT) {
						await this.#disable(`${RECONNECT_LIMIT} lost connections within 5 minutes; last: ${end.reason}`);
						return;
					}
				}
				await this.#report(true);
				const channel = await this.#channel();
				if (channel?.enabled) await this.#kick(channel);
			})(),
		);
	}

	#heard(): void {
		this.#lastHeardAt = this.#deps.now();
	}

	// ---- events -----------------------------------------------------------------------------------

	#onDispatch(gateway: GatewayConnection, type: string, data: unknown): void {
		if (gateway !== this.#gateway) return;
		this.#heard();
		switch (type) {
			case "MESSAGE_CREATE":
			case "MESSAGE_UPDATE":
				this.ctx.waitUntil(this.#onMessage(data as DiscordMessage));
				return;
			case "INTERACTION_CREATE":
			case "INTERACTION_SUCCESS":
				this.ctx.waitUntil(this.#onInteraction(data as { id?: string; nonce?: string }));
				return;
			case "INTERACTION_MODAL_CREATE":
				this.ctx.waitUntil(this.#onModal(data as ModalCreate));
				return;
			case "INTERACTION_IFRAME_MODAL_CREATE":
				this.ctx.waitUntil(this.#onIframe(data as ModalCreate));
				return;
			default:
				if (this.#lastHeardAt - this.#writtenHeardAt > HEARD_WRITE_MS) this.ctx.waitUntil(this.#report(false));
		}
	}

	async #onInteraction(data: { id?: string; nonce?: string }): Promise<void> {
		if (!data?.id || !data.nonce) return;
		const task = this.#tasks.running.find((pending) => pending.nonce === String(data.nonce));
		if (!task || task.interactionId === data.id) return;
		task.interactionId = data.id;
		await this.#saveTasks();
	}

	async #onMessage(message: DiscordMessage): Promise<void> {
		const channel = await this.#channel();
		const settings = channel ? parseSettings(channel.discord) : undefined;
		if (!settings || !message?.id) return;
		const author = message.author?.id;
		if (author !== MIDJOURNEY_BOT_ID && author !== NIJI_BOT_ID) return;
		const event = classifyMessage(message);
		// A seed comes as a DM from the bot; everything else must be in the account's channel.
		if (event.kind === "seed") {
			this.#seedWaiters.get(event.hash.toLowerCase())?.(event.seed);
			return;
		}
		if (message.channel_id !== settings.channel_id || event.kind === "ignore") return;
		if (event.kind === "info") {
			await this.#onInfo(event);
			return;
		}
		const task = matchTask(message, event, this.#tasks.running);
		if (event.kind === "account") {
			await this.#onAccountState(event.state, event.reason, task);
			return;
		}
		if (!task) {
			if (event.kind === "result" || event.kind === "failure") {
				logWarning("discord message matched no task", this.#channelId, message.id, event.kind);
			}
			await this.#report(false);
			return;
		}
		await this.#advance(task, message, event);
	}

	/** One matched message moves its task on. */
	async #advance(task: AccountTask, message: DiscordMessage, event: MjEvent): Promise<void> {
		const channelId = this.#channelId ?? undefined;
		let update: TaskUpdate | null = null;
		let done = false;
		switch (event.kind) {
			case "start":
				// The first answer: its message is the one Midjourney keeps editing with progress.
				if (!task.messageId) task.messageId = message.id;
				task.status = "started";
				update = { status: "IN_PROGRESS", progress: "0%", channelId, finalPrompt: event.prompt || undefined };
				break;
			case "progress": {
				if (!task.messageId) task.messageId = message.id;
				if (event.hash) task.hash = event.hash;
				task.status = "started";
				update = {
					status: "IN_PROGRESS",
					progress: `${Math.max(0, Math.min(99, event.progress))}%`,
					channelId,
					imageUrl: event.imageUrl,
				};
				break;
			}
			case "result":
				done = true;
				update = {
					status: "SUCCESS",
					progress: "100%",
					channelId,
					// The result message is what the task's buttons are pressed on.
					upstreamId: message.id,
					imageUrl: event.imageUrl,
					videoUrl: event.videoUrl,
					finalPrompt: event.prompt || undefined,
					buttons: taskButtons(event.buttons),
				};
				break;
			case "describe":
			case "shorten": {
				// Describe's first answer shows the picture alone; its prompts come in an edit.
				if (event.prompts.length === 0) return;
				done = true;
				const text = event.prompts.join("\n\n");
				update = {
					status: "SUCCESS",
					progress: "100%",
					channelId,
					upstreamId: message.id,
					promptEn: text,
					finalPrompt: text,
					...(event.kind === "describe" && event.imageUrl ? { imageUrl: event.imageUrl } : {}),
					buttons: taskButtons(buttonsOf(message)),
				};
				break;
			}
			case "failure":
				done = true;
				update = {
					status: "FAILURE",
					channelId,
					failReason: [event.title, event.description].filter(Boolean).join(": ") || "Midjourney refused the task",
				};
				break;
			default:
				return;
		}
		if (done) this.#tasks.running = this.#tasks.running.filter((pending) => pending !== task);
		await this.#saveTasks();
		if (update) await taskObject(this.env, task.taskId).apply(task.taskId, update);
		await this.#report(done);
		if (done) await this.#pump();
	}

	// ---- sending ---------------------------------------------------------------------------------

	/** Starts waiting tasks while slots are free and the connection is up; one pump at a time. */
	async #pump(): Promise<void> {
		if (this.#pumping) return;
		this.#pumping = true;
		try {
			for (;;) {
				const channel = await this.#channel();
				const settings = channel ? parseSettings(channel.discord) : undefined;
				if (!channel?.enabled || !settings || this.#connection !== "connected" || !this.#session) return;
				if (this.#tasks.running.length >= settings.concurrency) return;
				const next = this.#tasks.waiting[0];
				if (!next) return;
				const sent = await this.#start(channel, settings, next);
				if (!sent) return;
			}
		} finally {
			this.#pumping = false;
		}
	}

	/** Sends one waiting task's interaction. False when sending must stop for now. */
	async #start(channel: ChannelRow, settings: DiscordSettings, waiting: WaitingTask): Promise<boolean> {
		const db = getDb(this.env.DB);
		const task = withPrepared(await findTask(db, waiting.taskId), waiting);
		const drop = async () => {
			this.#tasks.waiting = this.#tasks.waiting.filter((item) => item !== waiting);
			await this.#saveTasks();
			await this.#report(true);
		};
		if (!task || isTerminal(task.status)) {
			await drop();
			return true;
		}
		const session = this.#session;
		if (!session) return false;
		const where: Where = {
			guildId: settings.guild_id,
			channelId: settings.channel_id,
			sessionId: session.sessionId,
			nonce: waiting.nonce,
		};
		const rest = this.#rest(channel, settings);
		const pending: AccountTask = {
			taskId: task.publicId,
			nonce: waiting.nonce,
			action: task.action,
			sentAt: this.#deps.now(),
			status: "sent",
		};
		try {
			await this.#send(rest, settings, task, where, pending);
		} catch (error) {
			if (error instanceof DiscordAuthError) {
				await this.#disable(error.message);
				return false;
			}
			const refused =
				error instanceof TaskRefused ||
				error instanceof DiscordInvalidFormError ||
				(error instanceof DiscordError && error.status >= 400 && error.status < 500);
			if (!refused) {
				// Discord unreachable or failing: the task keeps its place; the watchdog tries again.
				this.#lastError = error instanceof Error ? error.message : String(error);
				await this.#report(true);
				return false;
			}
			await drop();
			const reason = error instanceof Error ? error.message : String(error);
			await taskObject(this.env, task.publicId).apply(task.publicId, {
				status: "FAILURE",
				failReason: reason,
				channelId: this.#channelId ?? undefined,
			});
			return true;
		}
		this.#tasks.waiting = this.#tasks.waiting.filter((item) => item !== waiting);
		this.#tasks.running.push(pending);
		await this.#saveTasks();
		await this.#report(true);
		return true;
	}

	/** Builds and sends the interaction that starts `task`, filling in what matching needs. */
	async #send(
		rest: DiscordRest,
		settings: DiscordSettings,
		task: TaskRow,
		where: Where,
		pending: AccountTask,
	): Promise<void> {
		const botId = botIdFor(task.botType);
		pending.botId = botId;
		const cannot = discordCannotRun(task);
		if (cannot) throw new TaskRefused(cannot);
		if (task.action === "DESCRIBE" && !task.customId && !task.parentId) {
			if (settings.describe_by_upload || !publicBase(this.env)) {
				await this.#describeByUpload(rest, settings, where, task, botId);
				return;
			}
		}
		if (!task.customId && !task.parentId) {
			// Pictures go in as the gateway's own signed links, as trueai-org does now: no upload to Discord.
			const links = await this.#inputLinks(task);
			const mode = this.#mode === "relax" ? "relax" : task.mode || settings.mode;
			switch (task.action) {
				case "IMAGINE": {
					const prompt = promptWithMode([...links, task.prompt].join(" ").trim(), mode);
					pending.prompt = prompt;
					await this.#slash(rest, settings, where, "imagine", botId, [{ type: 3, name: "prompt", value: prompt }]);
					return;
				}
				case "BLEND": {
					if (links.length < 2) throw new TaskRefused("a blend needs two to five pictures");
					const ratio = BLEND_RATIOS[parseOptions(task.options).dimensions ?? "SQUARE"] ?? "--ar 1:1";
					const prompt = promptWithMode(`${links.join(" ")} ${ratio}`, mode);
					pending.prompt = prompt;
					await this.#slash(rest, settings, where, "imagine", botId, [{ type: 3, name: "prompt", value: prompt }]);
					return;
				}
				case "DESCRIBE":
					if (!links[0]) throw new TaskRefused("the image to describe is missing");
					await this.#slash(rest, settings, where, "describe", botId, [{ type: 3, name: "link", value: links[0] }]);
					return;
				case "SHORTEN":
					pending.prompt = task.prompt;
					await this.#slash(rest, settings, where, "shorten", botId, [{ type: 3, name: "prompt", value: task.prompt }]);
					return;
				default:
					throw new TaskRefused(`action ${task.action} is not supported on a discord channel yet`);
			}
		}
		const parent = task.parentId ? await findTask(getDb(this.env.DB), task.parentId) : undefined;
		if (!parent) throw new TaskRefused(`action ${task.action} is not supported on a discord channel yet`);
		if (!parent.upstreamId || parent.channelId !== this.#channelId) {
			throw new TaskRefused("the parent task's message is not on this Discord account");
		}
		const customId = task.customId || buttonFor(task, parent);
		const button = actionOfButton(customId);
		const options = parseOptions(task.options);
		if (button.modal === "prompt" && options.modalPrompt) pending.modalPrompt = options.modalPrompt;
		if (button.modal === "mask") {
			if (!options.maskKey) throw new TaskRefused("vary region needs the mask of the modal step");
			pending.maskKey = options.maskKey;
			pending.modalPrompt = options.modalPrompt;
		}
		pending.parentMessageId = parent.upstreamId;
		pending.index = button.index;
		pending.prompt = parent.finalPrompt || parent.prompt;
		pending.botId = botIdFor(parent.botType);
		await this.#paced();
		await rest.interact(
			buttonPress(where, {
				messageId: parent.upstreamId,
				applicationId: pending.botId,
				customId,
			}),
		);
	}

	/** Describe with the picture uploaded to Discord: for a gateway Midjourney cannot fetch a link from. */
	async #describeByUpload(
		rest: DiscordRest,
		settings: DiscordSettings,
		where: Where,
		task: TaskRow,
		botId: string,
	): Promise<void> {
		const key = inputKeysOf(task)[0];
		const object = key ? await this.env.IMAGES.get(key) : null;
		if (!object) throw new TaskRefused("the image to describe is missing");
		const type = object.httpMetadata?.contentType ?? "image/png";
		const filename = `image.${extensionOf(type)}`;
		const uploaded = await rest.upload(settings.channel_id, filename, await object.arrayBuffer(), type);
		await this.#slash(
			rest,
			settings,
			where,
			"describe",
			botId,
			[{ type: 11, name: "image", value: 0 }],
			[{ id: "0", filename, uploaded_filename: uploaded }],
		);
	}

	/** The task's input pictures as public signed links to copies under uploads/ (served by /mj/upload). */
	async #inputLinks(task: TaskRow): Promise<string[]> {
		const keys = inputKeysOf(task);
		if (keys.length === 0) return [];
		const base = publicBase(this.env);
		if (!base)
			throw new TaskRefused("pictures on a Discord account need PUBLIC_BASE_URL: Midjourney fetches them by link");
		return Promise.all(
			keys.map(async (key) => {
				const object = await this.env.IMAGES.get(key);
				if (!object) throw new TaskRefused("an input picture is missing");
				const type = object.httpMetadata?.contentType ?? "image/png";
				const name = newFileName(this.#deps, type);
				await this.env.IMAGES.put(`uploads/${name}`, object.body, { httpMetadata: { contentType: type } });
				return uploadUrl(this.env, base, name);
			}),
		);
	}

	/** A button opened a modal (custom zoom, remix, pan/animate with a prompt): submit it with the task's input. */
	async #onModal(data: ModalCreate): Promise<void> {
		const task = this.#tasks.running.find((pending) => pending.nonce === String(data?.nonce));
		if (!task || !data.id || !data.custom_id) return;
		const channel = await this.#channel();
		const settings = channel ? parseSettings(channel.discord) : undefined;
		const session = this.#session;
		if (!channel || !settings || !session) return;
		const field = data.components?.[0]?.components?.[0];
		const value = task.modalPrompt || field?.value || task.prompt || "";
		const nonce = snowflake(this.#deps.now());
		try {
			await this.#paced();
			await this.#rest(channel, settings).interact(
				modalSubmit(
					{ guildId: settings.guild_id, channelId: settings.channel_id, sessionId: session.sessionId, nonce },
					{
						applicationId: data.application?.id ?? task.botId ?? MIDJOURNEY_BOT_ID,
						id: data.id,
						customId: data.custom_id,
						fieldId: field?.custom_id ?? "",
						value,
					},
				),
			);
		} catch (error) {
			await this.#failRunning(task, `the modal step failed: ${error instanceof Error ? error.message : String(error)}`);
			return;
		}
		// The job now belongs to the modal submit's interaction.
		task.nonce = nonce;
		task.interactionId = undefined;
		if (value) task.prompt = value;
		await this.#saveTasks();
	}

	/** Vary region: the press opened Midjourney's editor; send it the mask (and prompt) as the editor would. */
	async #onIframe(data: ModalCreate): Promise<void> {
		const task = this.#tasks.running.find((pending) => pending.nonce === String(data?.nonce));
		if (!task || !data.custom_id) return;
		if (data.id && !task.interactionId) task.interactionId = data.id;
		const channel = await this.#channel();
		const settings = channel ? parseSettings(channel.discord) : undefined;
		if (!channel || !settings) return;
		try {
			const mask = task.maskKey ? await this.env.IMAGES.get(task.maskKey) : null;
			if (!mask) throw new Error("the mask is missing");
			const bytes = new Uint8Array(await mask.arrayBuffer());
			const response = await discordFetch(this.env, this.#deps.fetch)(
				`${settings.activity_base}/inpaint/api/submit-job`,
				{
					method: "POST",
					headers: { "content-type": "application/json", "user-agent": settings.user_agent },
					body: JSON.stringify({
						customId: data.custom_id.replace(/^MJ::iframe::/, ""),
						mask: base64(bytes),
						prompt: task.modalPrompt ?? task.prompt ?? "",
						userId: "0",
						username: "0",
					}),
				},
			);
			if (!response.ok)
				throw new Error(`the editor answered HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
			await response.body?.cancel();
		} catch (error) {
			await this.#failRunning(task, `vary region failed: ${error instanceof Error ? error.message : String(error)}`);
			return;
		}
		await this.#saveTasks();
	}

	async #failRunning(task: AccountTask, reason: string): Promise<void> {
		this.#tasks.running = this.#tasks.running.filter((pending) => pending !== task);
		await this.#saveTasks();
		await taskObject(this.env, task.taskId).apply(task.taskId, {
			status: "FAILURE",
			failReason: reason,
			channelId: this.#channelId ?? undefined,
		});
		await this.#report(true);
		await this.#pump();
	}

	/** A slash command by the current id/version; a 50035 reads the index again and retries once. */
	async #slash(
		rest: DiscordRest,
		settings: DiscordSettings,
		where: Where,
		name: string,
		botId: string,
		options: unknown[],
		attachments: UploadedAttachment[] = [],
	): Promise<void> {
		for (let attempt = 1; ; attempt++) {
			const commands = await this.#commands(rest, settings, attempt > 1);
			const command = findCommand(commands, name, botId);
			if (!command) throw new TaskRefused(`the server has no /${name} command of the bot ${botId}`);
			await this.#paced();
			try {
				await rest.interact(slashCommand(where, command, options, attachments));
				return;
			} catch (error) {
				if (!(error instanceof DiscordInvalidFormError) || attempt > 1) throw error;
			}
		}
	}

	async #commands(rest: DiscordRest, settings: DiscordSettings, refresh: boolean): Promise<ApplicationCommand[]> {
		const cached = await this.ctx.storage.get<StoredCommands>("commands");
		const now = this.#deps.now();
		if (!refresh && cached && now - cached.fetchedAt < COMMANDS_TTL_MS) return cached.list;
		const list = await rest.commandIndex(settings.guild_id);
		await this.ctx.storage.put("commands", { fetchedAt: now, list } satisfies StoredCommands);
		return list;
	}

	/** Interactions of one account leave at least DISCORD_PACE_MS apart (plus up to half again). */
	async #paced(): Promise<void> {
		const now = this.#deps.now();
		const wait = this.#nextSendAt - now;
		const pace = config(this.env).discordPaceMs;
		this.#nextSendAt = Math.max(now, this.#nextSendAt) + pace + this.#deps.random() * (pace / 2);
		if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
	}

	// ---- account health -----------------------------------------------------------------------------

	/** "Your info": fast time left and the mode; an account with no fast time left runs relax. */
	async #onInfo(event: Extract<MjEvent, { kind: "info" }>): Promise<void> {
		if (event.fastTimeRemaining) this.#fastTimeRemaining = event.fastTimeRemaining;
		const spent = event.fastTimeRemaining !== undefined && /^0(?:\.0+)?\s*\//.test(event.fastTimeRemaining.trim());
		const mode = spent ? "relax" : event.mode;
		if (mode && mode !== this.#mode) {
			this.#mode = mode;
			await this.ctx.storage.put("mode", mode);
		}
		await this.#report(true);
	}

	/**
	 * Midjourney said something about the account itself. Credits exhausted: run relax from now on
	 * and send the task again. CAPTCHA: stop sending and keep every task for when the admin has
	 * solved it. Blocked, pending moderation, plan cancelled, no subscription: take the account out.
	 */
	async #onAccountState(state: MjAccountState, reason: string, task: AccountTask | undefined): Promise<void> {
		const requeue = async () => {
			if (!task) return;
			this.#tasks.running = this.#tasks.running.filter((pending) => pending !== task);
			this.#tasks.waiting.unshift({ taskId: task.taskId, nonce: snowflake(this.#deps.now()), queuedAt: task.sentAt });
			await this.#saveTasks();
		};
		if (state === "credits_exhausted") {
			this.#mode = "relax";
			await this.ctx.storage.put("mode", "relax");
			this.#lastError = `${reason} (now running relax)`;
			await requeue();
			await this.#report(true);
			await this.#pump();
			return;
		}
		if (state === "captcha") {
			await requeue();
			const why = `CAPTCHA: ${reason}. Open Discord with this account, solve it, then enable the channel again; its tasks wait.`;
			this.#closeGateway(why);
			this.#connection = "disabled";
			this.#lastError = why;
			this.#channelRead = null;
			if (this.#channelId !== null) await disableChannel(getDb(this.env.DB), this.#channelId, why, this.#deps.now());
			await this.ctx.storage.deleteAlarm();
			await this.#report(true);
			return;
		}
		await this.#disable(reason);
	}

	/** Sends /info (no task) so the admin sees fast time left; at most every INFO_EVERY_MS. */
	async #readInfo(channel: ChannelRow): Promise<void> {
		const settings = parseSettings(channel.discord);
		const session = this.#session;
		const now = this.#deps.now();
		if (!settings || !session || this.#connection !== "connected") return;
		const last = (await this.ctx.storage.get<number>("infoAt")) ?? 0;
		if (now - last < INFO_EVERY_MS) return;
		await this.ctx.storage.put("infoAt", now);
		const where: Where = {
			guildId: settings.guild_id,
			channelId: settings.channel_id,
			sessionId: session.sessionId,
			nonce: snowflake(now),
		};
		try {
			await this.#slash(this.#rest(channel, settings), settings, where, "info", MIDJOURNEY_BOT_ID, []);
		} catch (error) {
			if (error instanceof DiscordAuthError) await this.#disable(error.message);
			else logWarning("discord /info failed", this.#channelId, error instanceof Error ? error.message : String(error));
		}
	}

	/**
	 * Takes the account out: the channel is disabled with the reason; its running tasks fail
	 * (refunded), its waiting new tasks go back to the queue for another channel.
	 */
	async #disable(reason: string): Promise<void> {
		this.#closeGateway(reason);
		this.#connection = "disabled";
		this.#lastError = reason;
		this.#channelRead = null;
		if (this.#channelId !== null) await disableChannel(getDb(this.env.DB), this.#channelId, reason, this.#deps.now());
		const { waiting, running } = this.#tasks;
		this.#tasks = { running: [], waiting: [] };
		await this.#saveTasks();
		await this.ctx.storage.deleteAlarm();
		const db = getDb(this.env.DB);
		const failed = running.map((task) => ({
			taskId: task.taskId,
			failReason: `the Discord account was taken out: ${reason}`,
		}));
		for (const task of waiting) {
			// Never sent: a new task can run on another channel; a follow-up only here, where its parent is.
			const row = await findTask(db, task.taskId);
			if (row?.parentId) {
				failed.push({
					taskId: task.taskId,
					failReason: `the Discord account was taken out before this follow-up started (${reason}); a follow-up runs only on the account of its parent task`,
				});
				continue;
			}
			const moved = row && (await taskObject(this.env, task.taskId).returnToQueue(task.taskId, task.nonce));
			if (moved) await this.env.TASK_QUEUE.send({ kind: "submit", taskId: task.taskId } satisfies TaskMessage);
			else failed.push({ taskId: task.taskId, failReason: `the Discord account was taken out: ${reason}` });
		}
		for (const { taskId, failReason } of failed) {
			await taskObject(this.env, taskId).apply(taskId, { status: "FAILURE", failReason });
		}
		await this.#report(true);
	}

	/** Running tasks that ended elsewhere (timed out by the reconciler, cancelled) free their slot. */
	async #dropFinished(): Promise<void> {
		if (this.#tasks.running.length === 0) return;
		const db = getDb(this.env.DB);
		const still: PendingTask[] = [];
		for (const task of this.#tasks.running) {
			const row = await findTask(db, task.taskId);
			if (row && !isTerminal(row.status)) still.push(task);
		}
		if (still.length !== this.#tasks.running.length) {
			this.#tasks.running = still;
			await this.#saveTasks();
		}
	}

	// ---- state ----------------------------------------------------------------------------------------

	#state(): DiscordState {
		return {
			...IDLE_STATE,
			connection: this.#connection,
			running: this.#tasks.running.length,
			waiting: this.#tasks.waiting.length,
			...(this.#mode ? { mode: this.#mode } : {}),
			lastError: this.#lastError,
			lastHeardAt: this.#lastHeardAt,
			...(this.#fastTimeRemaining ? { fastTimeRemaining: this.#fastTimeRemaining } : {}),
		};
	}

	async #saveTasks(): Promise<void> {
		await this.ctx.storage.put("tasks", this.#tasks);
	}

	/** Writes the state to the channel's row when it changed (`force`) or "last heard" is stale. */
	async #report(force: boolean): Promise<void> {
		if (this.#channelId === null) return;
		const state = this.#state();
		const { lastHeardAt: _, ...rest } = state;
		const key = JSON.stringify(rest);
		if (!force && key === this.#written && state.lastHeardAt - this.#writtenHeardAt < HEARD_WRITE_MS) return;
		if (force && key === this.#written && state.lastHeardAt === this.#writtenHeardAt) return;
		this.#written = key;
		this.#writtenHeardAt = state.lastHeardAt;
		try {
			await setDiscordState(getDb(this.env.DB), this.#channelId, JSON.stringify(state));
		} catch (error) {
			logError("discord state write failed", this.#channelId, error);
		}
	}
}

/** Midjourney's buttons as a task keeps them (the midjourney-proxy shape). */
function taskButtons(buttons: readonly MjButton[]): NonNullable<TaskUpdate["buttons"]> {
	return buttons.map((button) => ({
		customId: button.customId,
		emoji: button.emoji,
		label: button.label,
		type: 2,
		style: button.style,
	}));
}

/** The task as the gateway prepared it: its prompt and modal prompt translated, when they were. */
function withPrepared(task: TaskRow | undefined, waiting: WaitingTask): TaskRow | undefined {
	if (!task || (waiting.prompt === undefined && waiting.modalPrompt === undefined)) return task;
	const options =
		waiting.modalPrompt === undefined
			? task.options
			: JSON.stringify({ ...parseOptions(task.options), modalPrompt: waiting.modalPrompt });
	return { ...task, prompt: waiting.prompt ?? task.prompt, options };
}

/** The account's mode as a prompt parameter, unless the prompt names one. */
function promptWithMode(prompt: string, mode: string | null | undefined): string {
	const flag = mode === "relax" || mode === "RELAX" ? "--relax" : mode === "turbo" || mode === "TURBO" ? "--turbo" : "";
	if (!flag || /\s--(?:fast|relax|turbo)\b/.test(prompt)) return prompt;
	return `${prompt} ${flag}`;
}

/** The button of the parent that a /submit/change task (no customId) means. */
function buttonFor(task: TaskRow, parent: TaskRow): string {
	const buttons = storedButtons(parent.buttons).map((button) => button.customId);
	const index = task.taskIndex ?? 0;
	if (task.action === "VIDEO") {
		// Discord animates an upscale (or extends a video) with its own buttons: the motion picks one.
		const options = parseOptions(task.options);
		const motion = options.motion === "high" ? "high" : "low";
		const prefix = `MJ::JOB::animate_${motion}${options.videoAction === "extend" ? "_extend" : ""}::`;
		const animate = buttons.find((customId) => customId.startsWith(prefix));
		if (!animate) {
			throw new TaskRefused(
				options.videoAction === "extend"
					? "the parent task is not a video to extend"
					: "a video on Discord starts from an upscale: upscale the picture first (U1-U4), then animate that task",
			);
		}
		return animate;
	}
	const wanted =
		task.action === "UPSCALE"
			? `MJ::JOB::upsample::${index}::`
			: task.action === "VARIATION"
				? `MJ::JOB::variation::${index}::`
				: task.action === "REROLL"
					? "MJ::JOB::reroll::"
					: null;
	const found = wanted ? buttons.find((customId) => customId.startsWith(wanted)) : undefined;
	if (!found) throw new TaskRefused(`the parent task has no button for ${task.action}${index ? ` ${index}` : ""}`);
	return found;
}

/** Blend's dimensions as Midjourney's aspect-ratio parameter. */
const BLEND_RATIOS: Record<string, string> = { PORTRAIT: "--ar 2:3", SQUARE: "--ar 1:1", LANDSCAPE: "--ar 3:2" };

/** INTERACTION_MODAL_CREATE / INTERACTION_IFRAME_MODAL_CREATE as the gateway sends them. */
interface ModalCreate {
	id?: string;
	nonce?: string;
	custom_id?: string;
	application?: { id?: string };
	components?: { components?: { custom_id?: string; value?: string }[] }[];
}
