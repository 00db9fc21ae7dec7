/**
 * The one Durable Object behind the fake: every account's gateway session and connection,
 * REST calls, the scripted bot and the test controls. One object rather than one per token
 * because a gateway connection names its token only in IDENTIFY, after the upgrade was routed.
 */
import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";
import { Accounts, FAULTS, type Fault, stepHeld } from "./accounts";
import { type FakeDiscordEnv, numberVar } from "./env";
import { acceptGateway, applyGatewayFault, closeConnection, GATEWAY_FAULTS } from "./gateway";
import { discordError, restApp } from "./rest";
import { Scripts } from "./scripts";

export class FakeDiscordHub extends DurableObject<FakeDiscordEnv> {
	readonly #accounts = new Accounts();
	readonly #app: Hono;

	constructor(ctx: DurableObjectState, env: FakeDiscordEnv) {
		super(ctx, env);
		const heartbeatMs = numberVar(env.FAKE_DISCORD_HEARTBEAT_MS, 41250);
		const scripts = new Scripts(numberVar(env.FAKE_DISCORD_STEP_MS, 700));
		const app = new Hono();
		app.get("/gateway", (c) => this.#upgrade(c.req.raw, heartbeatMs));
		app.get("/gateway/", (c) => this.#upgrade(c.req.raw, heartbeatMs));
		this.#control(app);
		app.put("/upload/*", async (c) => {
			const name = decodeURIComponent(new URL(c.req.url).pathname.slice("/upload/".length));
			const size = (await c.req.arrayBuffer()).byteLength;
			if (scripts.uploads.size >= 200) scripts.uploads.delete(scripts.uploads.keys().next().value ?? "");
			scripts.uploads.set(name, { size, contentType: c.req.header("content-type") ?? "" });
			return new Response(null, { status: 200 });
		});
		app.get("/_fake/uploads", (c) => c.json(Object.fromEntries(scripts.uploads)));
		app.post("/inpaint/api/submit-job", async (c) =>
			scripts.submitJob(this.#accounts, await c.req.json().catch(() => null)),
		);
		app.route("/", restApp(this.#accounts, scripts));
		app.notFound(() => discordError(404, 0, "404: Not Found"));
		this.#app = app;
	}

	override fetch(request: Request): Promise<Response> | Response {
		return this.#app.fetch(request);
	}

	#upgrade(request: Request, heartbeatMs: number): Response {
		if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
			return new Response("Expected a WebSocket upgrade", { status: 426 });
		}
		return acceptGateway(this.#accounts, heartbeatMs);
	}

	/** Test controls, never part of Discord's surface (README "Faults"). */
	#control(app: Hono): void {
		app.post("/_fake/faults", async (c) => {
			const body = await c.req
				.json<{ token?: unknown; fault?: unknown; count?: unknown; retry_after?: unknown }>()
				.catch(() => null);
			const fault = body?.fault as Fault;
			if (typeof body?.token !== "string" || !body.token || !FAULTS.includes(fault)) {
				return c.json({ error: `token and fault (one of ${FAULTS.join(", ")}) are required` }, 400);
			}
			const count = Number.isInteger(body.count) && Number(body.count) > 0 ? Number(body.count) : 1;
			const account = this.#accounts.get(body.token);
			if (typeof body.retry_after === "number" && body.retry_after >= 0) account.retryAfter = body.retry_after;
			if (fault === "revoke") {
				account.revoked = true;
				closeConnection(account, 4004, "Authentication failed.");
				return c.json({ fault, applied: "now" });
			}
			if (fault === "stale_command") {
				account.commandEpoch += 1;
				return c.json({ fault, applied: "now" });
			}
			if (GATEWAY_FAULTS.includes(fault) && applyGatewayFault(account, fault)) return c.json({ fault, applied: "now" });
			account.faults.set(fault, (account.faults.get(fault) ?? 0) + count);
			return c.json({ fault, applied: "armed", count: account.faults.get(fault) });
		});
		app.delete("/_fake/faults", (c) => {
			const account = this.#accounts.get(c.req.query("token") ?? "");
			account.faults.clear();
			account.revoked = false;
			return c.json({ cleared: true });
		});
		// Held steps: the bot's messages leave one step at a time, when asked (benchmarks).
		app.post("/_fake/hold", async (c) => {
			const body = await c.req.json<{ token?: unknown; hold?: unknown }>().catch(() => null);
			if (typeof body?.token !== "string" || !body.token || typeof body.hold !== "boolean") {
				return c.json({ error: "token and hold (true or false) are required" }, 400);
			}
			const account = this.#accounts.get(body.token);
			if (body.hold) account.held ??= [];
			else {
				// Released: what was held runs now, in order, and later steps keep their timers again.
				const waiting = account.held ?? [];
				account.held = undefined;
				for (const run of waiting) run();
			}
			return c.json({ held: account.held !== undefined });
		});
		app.post("/_fake/step", async (c) => {
			const body = await c.req.json<{ token?: unknown }>().catch(() => null);
			if (typeof body?.token !== "string" || !body.token) return c.json({ error: "token is required" }, 400);
			const account = this.#accounts.get(body.token);
			if (!account.held) return c.json({ error: "the account's steps are not held: POST /_fake/hold first" }, 409);
			const dispatched = stepHeld(account);
			return c.json({ ran: dispatched !== null, dispatched: dispatched ?? [], left: account.held.length });
		});
		app.get("/_fake/interactions", (c) => c.json(this.#accounts.get(c.req.query("token") ?? "").interactions));
		app.get("/_fake/state", (c) => {
			const account = this.#accounts.get(c.req.query("token") ?? "");
			return c.json({
				connected: account.connection !== undefined,
				silent: account.connection?.silent ?? false,
				session_id: account.session?.id ?? null,
				seq: account.session?.seq ?? 0,
				revoked: account.revoked,
				command_epoch: account.commandEpoch,
				faults: Object.fromEntries(account.faults),
				...account.stats,
			});
		});
	}
}
