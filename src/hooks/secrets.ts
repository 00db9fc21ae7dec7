/**
 * Per-user callback signing secrets: made on first need, rotated on request. After a rotation
 * the replaced secret signs too, for WEBHOOK_SECRET_OVERLAP_MS, so a receiver can deploy the new
 * one without rejecting callbacks in between.
 */
import type { Db } from "../db/client";
import type { WebhookSecretRow } from "../db/schema";
import { findWebhookSecret, insertWebhookSecretIfMissing, rotateWebhookSecret } from "../db/webhooks";
import { type Deps, runtimeDeps } from "../deps";
import { generateWebhookSecret } from "./standard-webhooks";

/** How long the previous secret keeps signing after a rotation. */
export const WEBHOOK_SECRET_OVERLAP_MS = 24 * 60 * 60 * 1000;

/** The user's secret row, made now if the user has none. */
export async function ensureWebhookSecret(
	db: Db,
	userId: number,
	now: number,
	deps: Pick<Deps, "randomBytes"> = runtimeDeps(),
): Promise<WebhookSecretRow> {
	return (
		(await findWebhookSecret(db, userId)) ?? insertWebhookSecretIfMissing(db, userId, generateWebhookSecret(deps), now)
	);
}

export async function rotateUserWebhookSecret(
	db: Db,
	userId: number,
	now: number,
	deps: Pick<Deps, "randomBytes"> = runtimeDeps(),
): Promise<WebhookSecretRow> {
	return rotateWebhookSecret(db, userId, generateWebhookSecret(deps), now, now + WEBHOOK_SECRET_OVERLAP_MS);
}

/** When the previous secret stops signing, or null when only the current one signs at `now`. */
export function previousExpiresAt(row: WebhookSecretRow, now: number): number | null {
	return row.previousSecret && row.previousExpiresAt !== null && row.previousExpiresAt > now
		? row.previousExpiresAt
		: null;
}

/** The secrets a callback sent at `now` is signed with: the current one first. */
export function signingSecrets(row: WebhookSecretRow, now: number): string[] {
	return previousExpiresAt(row, now) !== null && row.previousSecret ? [row.secret, row.previousSecret] : [row.secret];
}
