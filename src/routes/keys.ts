/**
 * API keys, in the new-api envelope `{success, message, data}`: a user's own keys under
 * /api/user/keys and any user's under /api/admin. The whole key is in the answer to its
 * creation only; lists show its prefix.
 *
 * Middleware is per route, not `.use()`: these groups share their base paths with the
 * account and admin groups, and mounted before them they answer their own paths alone.
 */
import { zValidator } from "@hono/zod-validator";
import { Hono } from "hono";
import { z } from "zod";
import { createApiKey } from "../auth/api-keys";
import { authenticate } from "../auth/middleware";
import type { AppEnv } from "../context";
import { type ApiKeyListing, listLiveKeys, revokeApiKey } from "../db/api-keys";
import { requestDb } from "../db/request-db";
import { findUserBySub } from "../db/users";
import { notFound } from "../errors";
import { invalid } from "./validation";

const seconds = (ms: number) => Math.floor(ms / 1000);

function keyView(key: ApiKeyListing) {
	return {
		id: key.id,
		name: key.name,
		prefix: key.prefix,
		role: key.role,
		created_at: seconds(key.createdAt),
		last_used_at: key.lastUsedAt === null ? null : seconds(key.lastUsedAt),
	};
}

const newKeyBody = z.object({ name: z.string().trim().min(1).max(64) }).strict();
const keyId = z.object({ id: z.string().regex(/^\d{1,15}$/, "key id must be a number") });

const revoked = (id: number) => ({ success: true, message: "", data: { id } });

/** Mount at /api/user/keys, before the account group. */
export const userKeyRoutes = new Hono<AppEnv>()
	.post("/", requestDb(), authenticate(), zValidator("json", newKeyBody, invalid), async (c) => {
		const created = await createApiKey(c.get("db"), c.get("user"), c.req.valid("json").name, Date.now());
		return c.json({ success: true, message: "", data: { ...keyView(created), key: created.key } }, 201);
	})
	.get("/", requestDb(), authenticate(), async (c) => {
		const keys = await listLiveKeys(c.get("db"), c.get("user").id);
		return c.json({ success: true, message: "", data: keys.map(keyView) });
	})
	.delete("/:id", requestDb(), authenticate(), zValidator("param", keyId, invalid), async (c) => {
		const id = Number(c.req.valid("param").id);
		if (!(await revokeApiKey(c.get("db"), id, Date.now(), c.get("user").id))) throw notFound("no such API key");
		return c.json(revoked(id));
	});

/** Mount at /api/admin, before the admin group. */
export const adminKeyRoutes = new Hono<AppEnv>()
	.get("/users/:sub/keys", requestDb(), authenticate({ role: "admin" }), async (c) => {
		const db = c.get("db");
		const user = await findUserBySub(db, c.req.param("sub"));
		if (!user) throw notFound("no such user");
		return c.json({ success: true, message: "", data: (await listLiveKeys(db, user.id)).map(keyView) });
	})
	.delete("/keys/:id", requestDb(), authenticate({ role: "admin" }), zValidator("param", keyId, invalid), async (c) => {
		const id = Number(c.req.valid("param").id);
		if (!(await revokeApiKey(c.get("db"), id, Date.now()))) throw notFound("no such API key");
		return c.json(revoked(id));
	});
