/**
 * Every Midjourney action the gateway runs, and what a button (`customId`) of a finished task
 * starts. Pure: the submit rules and the dispatcher read these tables.
 */
import type { TaskAction } from "../vocabulary";

/** What a modal action needs before it can run (the second step, `/submit/modal`). */
export type ModalInput = "prompt" | "mask";

export interface ButtonAction {
	action: TaskAction;
	/** 1..4 for the grid buttons (U1..U4, V1..V4); undefined for the others. */
	index?: number;
	/** Set for CUSTOM_ZOOM and INPAINT: the task waits in MODAL for this input. */
	modal?: ModalInput;
}

const BUTTON_RULES: readonly [RegExp, (match: RegExpExecArray) => ButtonAction][] = [
	[/^MJ::JOB::upsample::([1-4])::/, (m) => ({ action: "UPSCALE", index: Number(m[1]) })],
	[/^MJ::JOB::upsample_v\d+_\dx_(?:subtle|creative)::/, () => ({ action: "UPSCALE" })],
	[/^MJ::JOB::variation::([1-4])::/, (m) => ({ action: "VARIATION", index: Number(m[1]) })],
	[/^MJ::JOB::(?:low|high)_variation::/, () => ({ action: "VARIATION" })],
	[/^MJ::JOB::reroll::/, () => ({ action: "REROLL" })],
	[/^MJ::JOB::pan_(?:left|right|up|down)::/, () => ({ action: "PAN" })],
	[/^MJ::Outpaint::/, () => ({ action: "ZOOM" })],
	[/^MJ::CustomZoom::/, () => ({ action: "CUSTOM_ZOOM", modal: "prompt" })],
	[/^MJ::Inpaint::/, () => ({ action: "INPAINT", modal: "mask" })],
	[/^MJ::JOB::animate_(?:high|low)(?:_extend)?::/, () => ({ action: "VIDEO" })],
	[/^MJ::JOB::video::/, () => ({ action: "VIDEO" })],
];

/** The action a button starts; ACTION for a well-formed button of a kind the gateway has no name for. */
export function actionOfButton(customId: string): ButtonAction {
	for (const [pattern, build] of BUTTON_RULES) {
		const match = pattern.exec(customId);
		if (match) return build(match);
	}
	return { action: "ACTION" };
}

/** Actions whose result is a 2x2 grid that U1..U4 / V1..V4 pick from. */
export const GRID_ACTIONS: ReadonlySet<string> = new Set([
	"IMAGINE",
	"VARIATION",
	"REROLL",
	"PAN",
	"ZOOM",
	"CUSTOM_ZOOM",
	"INPAINT",
	"BLEND",
	"RETEXTURE",
]);

/** Shown in `description` when a task is created, the way midjourney-proxy describes its tasks. */
export function describeAction(action: TaskAction, detail: string): string {
	const verb: Record<TaskAction, string> = {
		IMAGINE: "/imagine",
		UPSCALE: "/up",
		VARIATION: "/variation",
		REROLL: "/reroll",
		PAN: "/pan",
		ZOOM: "/zoom",
		CUSTOM_ZOOM: "/zoom",
		INPAINT: "/inpaint",
		DESCRIBE: "/describe",
		BLEND: "/blend",
		SHORTEN: "/shorten",
		VIDEO: "/video",
		EDITS: "/edits",
		RETEXTURE: "/retexture",
		SWAP_FACE: "/swap",
		SWAP_VIDEO_FACE: "/video-swap",
		ACTION: "/action",
	};
	return detail ? `${verb[action]} ${detail}` : verb[action];
}
