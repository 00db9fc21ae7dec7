/** Types shared by the Hono app, its middleware and its route groups. */
import type { Role } from "./auth/token";

/** Which client API a route belongs to: decides the error envelope. */
export type Surface = "seed002" | "seed001" | "album" | "proxy" | "plain";

export interface AuthUser {
	id: number;
	sub: string;
	role: Role;
}

export interface AppEnv {
	Bindings: Env;
	Variables: {
		surface: Surface;
		user: AuthUser;
	};
}
