/**
 * Discord's REST API as far as a Midjourney client uses it (DISCORD.md "REST calls"). Every
 * route needs `Authorization: <token>`; a missing, `bad-token` or revoked token is 401. Errors
 * use Discord's body `{message, code}`.
 */
import { type Context, Hono } from "hono";
import { type Account, type Accounts, type RecordedInteraction, snowflake, takeFault } from "./accounts";
import { commandIndex, currentCommand } from "./commands";
import { FAKE_ORIGIN, GATEWAY_URL, MIDJOURNEY_BOT_ID, NIJI_BOT_ID } from "./env";

type Vars = { Variables: { account: Account } };

/** What the scripted bot does with what the REST API accepted. */
export interface Bot {
	/** A 204-answered interaction; returns an error response instead when the bot refuses it first. */
	interaction(account: Account, body: Interaction): Response | undefined;
	/** PUT of a reaction on a message (the ✉️ on a /show result asks for the seed in a DM). */
	reaction(account: Account, channelId: string, messageId: string, emoji: string): Response | undefined;
	/** The channel's messages, newest first. */
	messages(account: Account, channelId: string, limit: number): unknown[];
}

export interface Interaction {
	type: number;
	application_id?: string;
	guild_id?: string;
	channel_id?: string;
	session_id?: string;
	nonce?: string;
	message_id?: string;
	message_flags?: number;
	data?: Record<string, unknown> & { id?: string; name?: string; version?: string; custom_id?: string };
}

export function discordError(status: number, code: number, message: string, errors?: unknown): Response {
	return Response.json({ message, code, ...(errors ? { errors } : {}) }, { status });
}

export function restApp(accounts: Accounts, bot: Bot): Hono<Vars> {
	const app = new Hono<Vars>();

	app.use("/api/v9/*", async (c, next) => {
		const account = accounts.authorized(c.req.header("authorization"));
		if (!account) return discordError(401, 0, "401: Unauthorized");
		c.set("account", account);
		await next();
	});

	app.get("/api/v9/gateway", (c) => c.json({ url: GATEWAY_URL }));

	app.get("/api/v9/users/@me", (c) => {
		const account = c.get("account");
		return c.json({
			id: account.userId,
			username: `fake-${account.userId.slice(-4)}`,
			global_name: "Fake Discord user",
			discriminator: "0",
			avatar: null,
			verified: true,
			mfa_enabled: false,
		});
	});

	app.get("/api/v9/guilds/:guild/application-command-index", (c) => {
		const commands = commandIndex(c.get("account").commandEpoch);
		const applications = [MIDJOURNEY_BOT_ID, NIJI_BOT_ID].map((id) => ({
			id,
			name: id === MIDJOURNEY_BOT_ID ? "Midjourney Bot" : "niji・journey Bot",
			bot_id: id,
		}));
		return c.json({ applications, application_commands: commands, version: snowflake() });
	});

	app.post("/api/v9/interactions", async (c) => {
		const account = c.get("account");
		const body = await interactionBody(c);
		const record: RecordedInteraction = { at: Date.now(), status: 204, body: body ?? null };
		account.interactions.push(record);
		const answer = ((): Response => {
			if (!body || ![2, 3, 5].includes(body.type) || !body.channel_id || !body.session_id || !body.data) {
				return discordError(400, 50035, "Invalid Form Body");
			}
			if (takeFault(account, "rate_limit")) {
				const retryAfter = account.retryAfter;
				return Response.json(
					{ message: "You are being rate limited.", retry_after: retryAfter, global: false },
					{ status: 429, headers: { "retry-after": String(Math.ceil(retryAfter)) } },
				);
			}
			if (body.type === 2 && !currentCommand(account.commandEpoch, body.application_id, body.data)) {
				return discordError(400, 50035, "Invalid Form Body", {
					data: {
						_errors: [
							{
								code: "INTERACTION_APPLICATION_COMMAND_INVALID_VERSION",
								message: "This command is outdated, please try again in a few minutes",
							},
						],
					},
				});
			}
			return bot.interaction(account, body) ?? new Response(null, { status: 204 });
		})();
		record.status = answer.status;
		return answer;
	});

	// The old upload flow, needed only for describe by upload.
	app.post("/api/v9/channels/:channel/attachments", async (c) => {
		const body = await c.req
			.json<{ files?: { filename?: string; file_size?: number; id?: string }[] }>()
			.catch(() => null);
		if (!body?.files?.length) return discordError(400, 50035, "Invalid Form Body");
		return c.json({
			attachments: body.files.map((file) => {
				const uploadFilename = `${crypto.randomUUID()}/${file.filename ?? "image.png"}`;
				return {
					id: file.id ?? "0",
					upload_url: `${FAKE_ORIGIN}/upload/${uploadFilename}`,
					upload_filename: uploadFilename,
				};
			}),
		});
	});

	app.post("/api/v9/users/@me/channels", async (c) => {
		const body = await c.req.json<{ recipients?: string[] }>().catch(() => null);
		const recipient = body?.recipients?.[0];
		if (recipient !== MIDJOURNEY_BOT_ID && recipient !== NIJI_BOT_ID)
			return discordError(400, 50035, "Invalid Form Body");
		c.get("account").stats.dm_opens += 1;
		return c.json({
			id: dmChannelId(c.get("account"), recipient),
			type: 1,
			recipients: [{ id: recipient, bot: true }],
		});
	});

	app.put("/api/v9/channels/:channel/messages/:message/reactions/:emoji/:me", (c) => {
		const { channel, message, emoji, me } = c.req.param();
		if (decodeURIComponent(me) !== "@me") return discordError(404, 0, "404: Not Found");
		return (
			bot.reaction(c.get("account"), channel, message, decodeURIComponent(emoji)) ?? new Response(null, { status: 204 })
		);
	});

	app.get("/api/v9/channels/:channel/messages", (c) => {
		const limit = Math.min(Math.max(Number(c.req.query("limit") ?? 50) || 50, 1), 100);
		return c.json(bot.messages(c.get("account"), c.req.param("channel"), limit));
	});

	app.all("/api/v9/*", () => discordError(404, 0, "404: Not Found"));
	return app;
}

/** The DM channel between an account and a bot: stable, so /show and its reply meet. */
export function dmChannelId(account: Account, botId: string): string {
	return `${account.userId.slice(0, 9)}${botId.slice(-9)}`;
}

/** A JSON body, or `payload_json` of a multipart one (browsers send both). */
async function interactionBody(c: Context<Vars>): Promise<Interaction | undefined> {
	const type = c.req.header("content-type") ?? "";
	try {
		if (type.startsWith("multipart/form-data")) {
			const payload = (await c.req.formData()).get("payload_json");
			return typeof payload === "string" ? (JSON.parse(payload) as Interaction) : undefined;
		}
		const body = (await c.req.json()) as unknown;
		return body && typeof body === "object" ? (body as Interaction) : undefined;
	} catch {
		return undefined;
	}
}
