/**
 * The words every floor shares: what a task can be, what it can do, who can ask. Data only, on
 * the ground floor, so the database, the edges and the rules all read the same lists.
 */

/** Every status a task can have (the midjourney-proxy protocol's, see upstream/protocol.ts). */
export const TASK_STATUSES = [
	"NOT_START",
	"SUBMITTED",
	"MODAL",
	"IN_PROGRESS",
	"FAILURE",
	"SUCCESS",
	"CANCEL",
] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Statuses of a task that has not ended. */
export const UNFINISHED_STATUSES = ["NOT_START", "SUBMITTED", "IN_PROGRESS", "MODAL"] as const;

/** Every action a task can have; each has a price (src/tasks/pricing.ts) and its own name in every list. */
export const TASK_ACTIONS = [
	"IMAGINE",
	"UPSCALE",
	"VARIATION",
	"REROLL",
	"PAN",
	"ZOOM",
	"CUSTOM_ZOOM",
	"INPAINT",
	"DESCRIBE",
	"BLEND",
	"SHORTEN",
	"VIDEO",
	"EDITS",
	/** Midjourney's retexture: a new surface on the shape of the given picture. */
	"RETEXTURE",
	"SWAP_FACE",
	/** InsightFace on a video: the face of a picture onto every frame of the given video. */
	"SWAP_VIDEO_FACE",
	/** A button the gateway does not know by name; run as the upstream's generic action. */
	"ACTION",
] as const;
export type TaskAction = (typeof TASK_ACTIONS)[number];

export type Role = "user" | "admin";

/** Longest notifyHook URL accepted. */
export const NOTIFY_HOOK_MAX_LENGTH = 2048;
