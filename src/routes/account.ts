/** GET /api/user/self: the caller's own account, quota included (new-api envelope). */
import { Hono } from "hono";
import { authenticate } from "../auth/middleware";
import type { AppEnv } from "../context";
import { dbOf, requestDb } from "../db/request-db";
import { findUserById } from "../db/users";
import { notFound } from "../errors";
import { userView } from "./admin";
import { ok } from "./envelopes";

export const accountRoutes = new Hono<AppEnv>().use(requestDb(), authenticate()).get("/self", async (c) => {
	const user = await findUserById(dbOf(c), c.get("user").id);
	if (!user) throw notFound("no such user");
	return ok(c, userView(user));
});
