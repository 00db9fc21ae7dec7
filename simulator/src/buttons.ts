/**
 * The buttons real Midjourney shows under each kind of result, and what pressing one
 * (`/submit/action` with its customId) asks for. The customIds are Discord's own, so a
 * client that forwards buttons verbatim works against the simulator as against Midjourney.
 */
import type { UpstreamButton } from "../../src/upstream/protocol";

/** Which row of buttons a finished task shows. */
export type ButtonSet = "grid" | "upscaled" | "video" | "none";

export type PanDirection = "left" | "right" | "up" | "down";

/** What a button asks for; `hash` is the job hash of the task that showed it. */
export type ButtonIntent =
	| { kind: "upscale"; index: number }
	| { kind: "upscale-again"; flavour: "subtle" | "creative" }
	| { kind: "variation"; index: number }
	| { kind: "vary-single"; strength: "subtle" | "strong" }
	| { kind: "reroll" }
	| { kind: "pan"; direction: PanDirection }
	| { kind: "zoom"; factor: 2 | 1.5 }
	| { kind: "custom-zoom" }
	| { kind: "inpaint" }
	| { kind: "animate"; motion: "high" | "low" }
	| { kind: "extend"; motion: "high" | "low" };

function button(customId: string, label: string, emoji = ""): UpstreamButton {
	return { customId, emoji, label, type: 2, style: 2 };
}

/** The buttons of a finished task with job hash `hash`. */
export function buttonsOf(set: ButtonSet, hash: string): UpstreamButton[] {
	switch (set) {
		case "grid":
			return [
				...[1, 2, 3, 4].map((n) => button(`MJ::JOB::upsample::${n}::${hash}`, `U${n}`)),
				button(`MJ::JOB::reroll::0::${hash}::SOLO`, "", "🔄"),
				...[1, 2, 3, 4].map((n) => button(`MJ::JOB::variation::${n}::${hash}`, `V${n}`)),
			];
		case "upscaled":
			return [
				button(`MJ::JOB::upsample_v6_2x_subtle::1::${hash}::SOLO`, "Upscale (Subtle)"),
				button(`MJ::JOB::upsample_v6_2x_creative::1::${hash}::SOLO`, "Upscale (Creative)"),
				button(`MJ::JOB::low_variation::1::${hash}::SOLO`, "Vary (Subtle)", "🪄"),
				button(`MJ::JOB::high_variation::1::${hash}::SOLO`, "Vary (Strong)", "🪄"),
				button(`MJ::Inpaint::1::${hash}::SOLO`, "Vary (Region)", "🖌️"),
				button(`MJ::Outpaint::50::1::${hash}::SOLO`, "Zoom Out 2x", "🔍"),
				button(`MJ::Outpaint::75::1::${hash}::SOLO`, "Zoom Out 1.5x", "🔍"),
				button(`MJ::CustomZoom::${hash}`, "Custom Zoom", "🔍"),
				button(`MJ::JOB::pan_left::1::${hash}::SOLO`, "", "⬅️"),
				button(`MJ::JOB::pan_right::1::${hash}::SOLO`, "", "➡️"),
				button(`MJ::JOB::pan_up::1::${hash}::SOLO`, "", "⬆️"),
				button(`MJ::JOB::pan_down::1::${hash}::SOLO`, "", "⬇️"),
				button(`MJ::JOB::animate_high::1::${hash}::SOLO`, "Animate (High motion)", "🎞️"),
				button(`MJ::JOB::animate_low::1::${hash}::SOLO`, "Animate (Low motion)", "🎞️"),
			];
		case "video":
			return [
				button(`MJ::JOB::animate_high_extend::1::${hash}::SOLO`, "Extend (High motion)", "🎞️"),
				button(`MJ::JOB::animate_low_extend::1::${hash}::SOLO`, "Extend (Low motion)", "🎞️"),
			];
		case "none":
			return [];
	}
}

/** What a customId asks for, or null when it is no button the simulator knows. */
export function intentOf(customId: string): ButtonIntent | null {
	const parts = customId.split("::");
	const [ns, kind, verb, n] = parts;
	if (ns !== "MJ") return null;
	if (kind === "CustomZoom" && parts.length === 3) return { kind: "custom-zoom" };
	if (kind === "Inpaint") return { kind: "inpaint" };
	if (kind === "Outpaint")
		return verb === "50" ? { kind: "zoom", factor: 2 } : verb === "75" ? { kind: "zoom", factor: 1.5 } : null;
	if (kind !== "JOB" || verb === undefined) return null;
	const index = Number(n);
	if (verb === "upsample" && index >= 1 && index <= 4) return { kind: "upscale", index };
	if (verb === "variation" && index >= 1 && index <= 4) return { kind: "variation", index };
	if (verb === "reroll") return { kind: "reroll" };
	const again = /^upsample_v\d+(?:_\d+)?_2x_(subtle|creative)$/.exec(verb);
	if (again) return { kind: "upscale-again", flavour: again[1] === "creative" ? "creative" : "subtle" };
	if (verb === "low_variation") return { kind: "vary-single", strength: "subtle" };
	if (verb === "high_variation") return { kind: "vary-single", strength: "strong" };
	const pan = /^pan_(left|right|up|down)$/.exec(verb);
	if (pan) return { kind: "pan", direction: pan[1] as PanDirection };
	const animate = /^animate_(high|low)(_extend)?$/.exec(verb);
	if (animate) {
		const motion = animate[1] === "high" ? "high" : "low";
		return animate[2] ? { kind: "extend", motion } : { kind: "animate", motion };
	}
	return null;
}
