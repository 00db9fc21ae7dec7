/**
 * Stream tickets: browsers cannot send headers with EventSource or WebSocket, so a client trades
 * its token (in a header) for a ticket that goes in the stream URL instead. A ticket names one user
 * (and optionally one task) and dies after TICKET_TTL_SECONDS, so a URL that leaks into a log or a
 * proxy's history is worth little; the long-lived token or key never appears in a URL.
 *
 * Format: `<base64url(JSON claims)>.<HMAC>` with the signing purpose "stream-ticket". Tickets are
 * not single-use on purpose: EventSource reconnects by itself with the same URL, and within the
 * minute that reconnect should work.
 */

import { sign, verify } from "../auth/signing";
import { type Deps, runtimeDeps } from "../deps";
import { base64url, fromBase64url } from "../encoding";

export const TICKET_TTL_SECONDS = 60;

export interface TicketClaims {
	userId: number;
	/** Epoch seconds after which the ticket opens nothing. */
	expiresAt: number;
	/** Set when the ticket opens only this task's stream. */
	taskId?: string;
}

interface WireClaims {
	u: number;
	e: number;
	t?: string;
	/** Makes every ticket distinct, even two for the same user in the same second. */
	n: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function issueTicket(
	env: Env,
	claims: Omit<TicketClaims, "expiresAt">,
	nowMs: number,
	deps: Pick<Deps, "uuid"> = runtimeDeps(),
): Promise<{ ticket: string; expiresAt: number }> {
	const expiresAt = Math.floor(nowMs / 1000) + TICKET_TTL_SECONDS;
	const wire: WireClaims = { u: claims.userId, e: expiresAt, n: deps.uuid().slice(0, 8) };
	if (claims.taskId) wire.t = claims.taskId;
	const payload = base64url(encoder.encode(JSON.stringify(wire)));
	return { ticket: `${payload}.${await sign(env, "stream-ticket", payload)}`, expiresAt };
}

export type TicketCheck = { ok: true; claims: TicketClaims } | { ok: false; reason: "invalid" | "expired" };

/** The ticket's claims when its signature holds and it has not expired. */
export async function checkTicket(env: Env, ticket: string | undefined, nowMs: number): Promise<TicketCheck> {
	if (!ticket || ticket.length > 512) return { ok: false, reason: "invalid" };
	const dot = ticket.indexOf(".");
	if (dot <= 0) return { ok: false, reason: "invalid" };
	const payload = ticket.slice(0, dot);
	if (!(await verify(env, "stream-ticket", payload, ticket.slice(dot + 1)))) return { ok: false, reason: "invalid" };
	const wire = parseClaims(payload);
	if (!wire) return { ok: false, reason: "invalid" };
	if (wire.e * 1000 <= nowMs) return { ok: false, reason: "expired" };
	return { ok: true, claims: { userId: wire.u, expiresAt: wire.e, ...(wire.t ? { taskId: wire.t } : {}) } };
}

/** Only ever called on a payload the gateway signed, but parsed defensively all the same. */
function parseClaims(payload: string): WireClaims | null {
	try {
		const value: unknown = JSON.parse(decoder.decode(fromBase64url(payload)));
		if (typeof value !== "object" || value === null) return null;
		const { u, e, t, n } = value as Record<string, unknown>;
		if (!Number.isSafeInteger(u) || !Number.isSafeInteger(e) || typeof n !== "string") return null;
		if (t !== undefined && typeof t !== "string") return null;
		return { u: u as number, e: e as number, n, ...(t ? { t } : {}) };
	} catch {
		return null;
	}
}
