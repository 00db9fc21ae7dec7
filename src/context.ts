/** Types shared by the Hono app, its middleware and its route groups. */
import type { Role } from "./auth/token";
import type { Db } from "./db/client";
import type { Deps } from "./deps";

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
		openDb: () => Db;
		/** The network, clock and chance every handler uses (createApp's argument). */
		deps: Deps;
		/** Set by the mount table in src/app.ts for every route group; unset outside them. */
		surface?: Surface;
	};
}
