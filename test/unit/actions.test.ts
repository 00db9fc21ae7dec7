import { describe, expect, it } from "vitest";
import { decodeInlineImage } from "../../src/images/inputs";
import { actionOfButton } from "../../src/tasks/actions";
import { queueLimits } from "../../src/tasks/model";
import { DEFAULT_PRICES } from "../../src/tasks/pricing";
import { TASK_ACTIONS } from "../../src/vocabulary";
import { png } from "../helpers/album";
import { dataUrl } from "../helpers/proxy";

const H = "03ee7a3e-b4d2-4465-9165-b93c99cb6617";

describe("the action a button starts", () => {
	it.each([
		[`MJ::JOB::upsample::3::${H}`, { action: "UPSCALE", index: 3 }],
		[`MJ::JOB::upsample_v6_2x_subtle::1::${H}::SOLO`, { action: "UPSCALE" }],
		[`MJ::JOB::upsample_v7_2x_creative::1::${H}::SOLO`, { action: "UPSCALE" }],
		[`MJ::JOB::variation::4::${H}`, { action: "VARIATION", index: 4 }],
		[`MJ::JOB::low_variation::1::${H}::SOLO`, { action: "VARIATION" }],
		[`MJ::JOB::high_variation::1::${H}::SOLO`, { action: "VARIATION" }],
		[`MJ::JOB::reroll::0::${H}::SOLO`, { action: "REROLL" }],
		[`MJ::JOB::pan_down::1::${H}::SOLO`, { action: "PAN" }],
		[`MJ::Outpaint::50::1::${H}::SOLO`, { action: "ZOOM" }],
		[`MJ::Outpaint::75::1::${H}::SOLO`, { action: "ZOOM" }],
		[`MJ::CustomZoom::${H}`, { action: "CUSTOM_ZOOM", modal: "prompt" }],
		[`MJ::Inpaint::1::${H}::SOLO`, { action: "INPAINT", modal: "mask" }],
		[`MJ::JOB::animate_high::1::${H}::SOLO`, { action: "VIDEO" }],
		[`MJ::JOB::animate_low_extend::1::${H}::SOLO`, { action: "VIDEO" }],
		[`MJ::BOOKMARK::${H}`, { action: "ACTION" }],
	])("%s", (customId, expected) => {
		expect(actionOfButton(customId)).toEqual(expected);
	});

	it("every action has a price", () => {
		for (const action of TASK_ACTIONS) expect(DEFAULT_PRICES[action], action).toBeGreaterThan(0);
	});
});

describe("inline pictures", () => {
	it("accepts base64 and data URLs of real pictures, refuses anything else naming the field", async () => {
		const bytes = await png(4, 4, 1);
		const url = dataUrl(bytes);
		expect(decodeInlineImage(url, "image")).toEqual({ bytes, type: "image/png" });
		expect(decodeInlineImage(url.slice(url.indexOf(",") + 1), "image").type).toBe("image/png");
		expect(() => decodeInlineImage("", "base64")).toThrow(/base64 is empty/);
		expect(() => decodeInlineImage("!!!!", "base64")).toThrow(/not valid base64/);
		expect(() => decodeInlineImage(btoa("GIF89a not allowed"), "mask")).toThrow(/mask must be a PNG, JPEG or WebP/);
		expect(() => decodeInlineImage("A".repeat(14 * 1024 * 1024), "big")).toThrow(/big is larger than/);
	});
});

describe("submit limits", () => {
	it("reads the queue limits with defaults for missing or bad values", () => {
		expect(queueLimits({ USER_CONCURRENCY: "5", USER_QUEUE_LIMIT: "20" })).toEqual({ concurrency: 5, limit: 20 });
		expect(queueLimits({ USER_CONCURRENCY: "x", USER_QUEUE_LIMIT: "-1" })).toEqual({ concurrency: 3, limit: 100 });
	});
});
