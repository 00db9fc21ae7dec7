/**
 * Discord's REST API as a user account speaks it (shared/DISCORD.md "REST calls"): the gateway URL,
 * the guild's application-command index, and interactions. Waits out a 429 by its retry_after and
 * turns the answers that matter into typed errors; pacing between interactions is the caller's.
 */
import type { Fetch } from "../deps";

/** Discord's epoch (2015-01-01) in ms: snowflakes count from it. */
const DISCORD_EPOCH = 1_420_070_400_000n;
let snowflakeCounter = 0n;

/** A fresh snowflake from `now` (ms): the nonce that ties the bot's first answer to our interaction. */
export function snowflake(now: number): string {
	snowflakeCounter = (snowflakeCounter + 1n) & 0xfffn;
	return (((BigInt(Math.floor(now)) - DISCORD_EPOCH) << 22n) | snowflakeCounter).toString();
}

/** The token is refused (401/403): the account is disabled with this reason. */
export class DiscordAuthError extends Error {
	override name = "DiscordAuthError";
}
/** 400 with code 50035: the command id/version is stale (or the body is invalid). */
export class DiscordInvalidFormError extends Error {
	override name = "DiscordInvalidFormError";
}
/** Anything else Discord refused, or an unreachable Discord. */
export class DiscordError extends Error {
	override name = "DiscordError";
	constructor(
		message: string,
		readonly status: number,
	) {
		super(message);
	}
}

export interface ApplicationCommand {
	id: string;
	application_id: string;
	version: string;
	name: string;
	type?: number;
	options?: unknown[];
	[key: string]: unknown;
}

export interface RestOptions {
	token: string;
	userAgent: string;
	apiBase: string;
	fetch: Fetch;
	/** Waits `ms`; injectable so tests of 429 need not sleep. */
	sleep?: (ms: number) => Promise<void>;
}

/** A 429 is waited out this many times before the call fails. */
const RATE_LIMIT_TRIES = 3;
/** Never wait longer than this for one 429, whatever retry_after says. */
const MAX_RETRY_AFTER_MS = 30_000;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class DiscordRest {
	readonly #options: RestOptions;
	constructor(options: RestOptions) {
		this.#options = options;
	}

	async gatewayUrl(): Promise<string> {
		const body = (await (await this.#call("GET", "/api/v9/gateway")).json()) as { url?: unknown };
		if (typeof body.url !== "string" || !body.url) throw new DiscordError("Discord gave no gateway URL", 200);
		return body.url;
	}

	async me(): Promise<{ id: string; username?: string }> {
		return (await (await this.#call("GET", "/api/v9/users/@me")).json()) as { id: string; username?: string };
	}

	async commandIndex(guildId: string): Promise<ApplicationCommand[]> {
		const response = await this.#call("GET", `/api/v9/guilds/${guildId}/application-command-index`);
		const body = (await response.json()) as { application_commands?: ApplicationCommand[] };
		return Array.isArray(body.application_commands) ? body.application_commands : [];
	}

	/** The DM channel with a bot (created if needed); its id. */
	async openDm(botId: string): Promise<string> {
		const body = (await (await this.#call("POST", "/api/v9/users/@me/channels", { recipients: [botId] })).json()) as {
			id?: string;
		};
		return body.id ?? "";
	}

	/** Adds our reaction `emoji` to a message. */
	async react(channelId: string, messageId: string, emoji: string): Promise<void> {
		const response = await this.#call(
			"PUT",
			`/api/v9/channels/${channelId}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}/%40me`,
		);
		await response.body?.cancel();
	}

	/**
	 * The attachments flow (describe by upload): Discord hands out an upload URL, the bytes are PUT
	 * there, and the interaction then names the file by its `upload_filename`.
	 */
	async upload(channelId: string, filename: string, bytes: ArrayBuffer, contentType: string): Promise<string> {
		const response = await this.#call("POST", `/api/v9/channels/${channelId}/attachments`, {
			files: [{ filename, file_size: bytes.byteLength, id: "0" }],
		});
		const body = (await response.json()) as { attachments?: { upload_url?: unknown; upload_filename?: unknown }[] };
		const slot = body.attachments?.[0];
		const url = typeof slot?.upload_url === "string" ? slot.upload_url : "";
		if (!/^https?:\/\//i.test(url) || typeof slot?.upload_filename !== "string" || !slot.upload_filename) {
			throw new DiscordError("Discord gave no upload URL for the picture", 502);
		}
		let put: Response;
		try {
			// A storage bucket's signed URL: the account's token has no business there.
			put = await this.#options.fetch(url, {
				method: "PUT",
				headers: { "content-type": contentType, "user-agent": this.#options.userAgent },
				body: bytes,
				signal: AbortSignal.timeout(30_000),
			});
		} catch (error) {
			throw new DiscordError(
				`the picture's upload failed: ${error instanceof Error ? error.message : String(error)}`,
				0,
			);
		}
		await put.body?.cancel();
		if (!put.ok) throw new DiscordError(`the picture's upload answered HTTP ${put.status}`, put.status);
		return slot.upload_filename;
	}

	/** POST /api/v9/interactions: 204 means Discord took it; the outcome arrives on the gateway. */
	async interact(payload: Record<string, unknown>): Promise<void> {
		const response = await this.#call("POST", "/api/v9/interactions", payload);
		await response.body?.cancel();
	}

	async #call(method: string, path: string, body?: unknown): Promise<Response> {
		const { token, userAgent, apiBase } = this.#options;
		const sleep = this.#options.sleep ?? defaultSleep;
		for (let attempt = 1; ; attempt++) {
			let response: Response;
			try {
				response = await this.#options.fetch(`${apiBase}${path}`, {
					method,
					headers: {
						authorization: token,
						"user-agent": userAgent,
						...(body === undefined ? {} : { "content-type": "application/json" }),
					},
					body: body === undefined ? undefined : JSON.stringify(body),
					signal: AbortSignal.timeout(20_000),
				});
			} catch (error) {
				throw new DiscordError(`Discord unreachable: ${error instanceof Error ? error.message : String(error)}`, 0);
			}
			if (response.ok) return response;
			const text = await response.text();
			let parsed: { code?: number; message?: string; retry_after?: number } = {};
			try {
				parsed = JSON.parse(text);
			} catch {
				// Not JSON: the status says enough.
			}
			if (response.status === 429 && attempt < RATE_LIMIT_TRIES) {
				const seconds = Number(parsed.retry_after ?? response.headers.get("retry-after") ?? 1);
				await sleep(Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Number.isFinite(seconds) ? seconds * 1000 : 1000)));
				continue;
			}
			const detail = parsed.message ? `: ${parsed.message}` : "";
			if (response.status === 401 || response.status === 403) {
				throw new DiscordAuthError(`Discord refused the token (HTTP ${response.status}${detail})`);
			}
			if (response.status === 400 && parsed.code === 50035) {
				throw new DiscordInvalidFormError(`Discord answered 50035 (invalid form body)${detail}`);
			}
			throw new DiscordError(
				`Discord answered HTTP ${response.status}${detail || (text ? `: ${text.slice(0, 200)}` : "")}`,
				response.status,
			);
		}
	}
}
