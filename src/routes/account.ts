/** GET /api/user/self: the caller's own account, quota included (new-api envelope). */
import { createRoute } from "@hono/zod-openapi";
import { dbOf } from "../db/request-db";
import { findUserById } from "../db/users";
import { notFound } from "../errors";
import { about, answers, on, routeGroup, signedInElsewhere } from "../openapi/define";
import * as body from "../openapi/responses";
import { userView } from "./admin";
import { ok } from "./envelopes";

const self = createRoute({
	...about("account", "user"),
	method: "get",
	path: "/self",
	summary: "The caller's account and quota",
	responses: answers("seed001", "The account.", body.UserView),
});

export const accountRoutes = routeGroup();
on(accountRoutes, self, async (c) => {
	const user = await findUserById(dbOf(c), c.get("user").id);
	if (!user) throw notFound("no such user");
	return ok(c, userView(user));
});
// The last group under /api/user: its unknown paths are a signed-in API's.
signedInElsewhere(accountRoutes, "user");
