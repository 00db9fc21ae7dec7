/** Types shared by the Hono app, its middleware and its route groups. */

import type { DrizzleD1Database } from "drizzle-orm/d1";
import type { Deps } from "./deps";
import type { Role } from "./vocabulary";

/** Which client API a route belongs to: decides the envelope of its answers and errors. */
export type Surface = "seed002" | "seed001" | "album" | "proxy" | "plain";

export interface AuthUser {
	id: number;
	sub: string;
	role: Role;
}

export interface AppEnv {
	Bindings: Env;
	Variables: {
		user: AuthUser;
		/** Opens this request's D1 session on first use; read it with dbOf(c) (src/db/request-db.ts). */
		openDb: () => DrizzleD1Database;
		/** The network, clock and chance every handler uses (createApp's argument). */
		deps: Deps;
		/** Set by the mount table in src/app.ts for every route group; unset outside them. */
		surface?: Surface;
	};
}
