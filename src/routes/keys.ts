/**
 * API keys, in the new-api envelope `{success, message, data}`: a user's own keys under
 * /api/user/keys and any user's under /api/admin. The whole key is in the answer to its
 * creation only; lists show its prefix.
 *
 * Each route's auth is its definition's (`about("keys", role)`): these groups share their base
 * paths with the account and admin groups, mounted before those groups' signed-in catch-alls.
 */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { createApiKey } from "../auth/api-keys";
import { type ApiKeyListing, listLiveKeys, revokeApiKey } from "../db/api-keys";
import { dbOf } from "../db/request-db";
import { findUserBySub } from "../db/users";
import { notFound } from "../errors";
import { about, answers, jsonBody, on, routeGroup } from "../openapi/define";
import * as body from "../openapi/responses";
import { epochSeconds } from "../time";
import { ok } from "./envelopes";

function keyView(key: ApiKeyListing) {
	return {
		id: key.id,
		name: key.name,
		prefix: key.prefix,
		role: key.role,
		created_at: epochSeconds(key.createdAt),
		last_used_at: key.lastUsedAt === null ? null : epochSeconds(key.lastUsedAt),
	};
}

export const newKeyBody = z.object({ name: z.string().trim().min(1).max(64) }).strict();
export const keyId = z.object({ id: z.string().regex(/^\d{1,15}$/, "key id must be a number") });

const keyDescription = "The whole key is in this answer only. At most 20 live keys (409 beyond).";

const createOwnKey = createRoute({
	...about("keys", "user"),
	method: "post",
	path: "/",
	summary: "Make an API key",
	description: keyDescription,
	request: { body: jsonBody(newKeyBody) },
	responses: answers("seed001", "The new key.", body.NewApiKey, 201),
});
const listOwnKeys = createRoute({
	...about("keys", "user"),
	method: "get",
	path: "/",
	summary: "The caller's live API keys, newest first",
	responses: answers("seed001", "The keys (prefixes only).", body.ApiKeyList),
});
const revokeOwnKey = createRoute({
	...about("keys", "user"),
	method: "delete",
	path: "/{id}",
	summary: "Revoke one of the caller's API keys",
	request: { params: keyId },
	responses: answers("seed001", "Revoked.", body.IdAnswer),
});

/** Mount at /api/user/keys, before the account group. */
export const userKeyRoutes = routeGroup();
on(userKeyRoutes, createOwnKey, async (c) => {
	const created = await createApiKey(
		dbOf(c),
		c.get("user"),
		c.req.valid("json").name,
		c.get("deps").now(),
		c.get("deps"),
	);
	return ok(c, { ...keyView(created), key: created.key }, 201);
});
on(userKeyRoutes, listOwnKeys, async (c) => {
	const keys = await listLiveKeys(dbOf(c), c.get("user").id);
	return ok(c, keys.map(keyView));
});
on(userKeyRoutes, revokeOwnKey, async (c) => {
	const id = Number(c.req.valid("param").id);
	if (!(await revokeApiKey(dbOf(c), id, c.get("deps").now(), c.get("user").id))) throw notFound("no such API key");
	return ok(c, { id });
});

const listUserKeys = createRoute({
	...about("keys", "admin"),
	method: "get",
	path: "/users/{sub}/keys",
	summary: "Any user's live API keys",
	responses: answers("seed001", "The keys (prefixes only).", body.ApiKeyList),
});
const createUserKey = createRoute({
	...about("keys", "admin"),
	method: "post",
	path: "/users/{sub}/keys",
	summary: "Make an API key for a user",
	description: `The key acts as that user, with that user's role (an admin's key stops acting as admin when the user is demoted). ${keyDescription}`,
	request: { body: jsonBody(newKeyBody) },
	responses: answers("seed001", "The new key.", body.NewApiKey, 201),
});
const revokeAnyKey = createRoute({
	...about("keys", "admin"),
	method: "delete",
	path: "/keys/{id}",
	summary: "Revoke any API key",
	request: { params: keyId },
	responses: answers("seed001", "Revoked.", body.IdAnswer),
});

/** Mount at /api/admin, before the admin group. */
export const adminKeyRoutes = routeGroup();
on(adminKeyRoutes, listUserKeys, async (c) => {
	const db = dbOf(c);
	const user = await findUserBySub(db, c.req.param("sub"));
	if (!user) throw notFound("no such user");
	return ok(c, (await listLiveKeys(db, user.id)).map(keyView));
});
// The key acts as that user, with that user's role (never the calling admin's): shown once, here.
on(adminKeyRoutes, createUserKey, async (c) => {
	const db = dbOf(c);
	const user = await findUserBySub(db, c.req.param("sub"));
	if (!user) throw notFound("no such user");
	const owner = { id: user.id, sub: user.sub, role: user.role };
	const created = await createApiKey(db, owner, c.req.valid("json").name, c.get("deps").now(), c.get("deps"));
	return ok(c, { ...keyView(created), key: created.key }, 201);
});
on(adminKeyRoutes, revokeAnyKey, async (c) => {
	const id = Number(c.req.valid("param").id);
	if (!(await revokeApiKey(dbOf(c), id, c.get("deps").now()))) throw notFound("no such API key");
	return ok(c, { id });
});
