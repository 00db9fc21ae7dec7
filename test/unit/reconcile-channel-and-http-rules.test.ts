import { describe, expect, it } from "vitest";
import { normalizePath } from "../../src/app";
import { parseRange } from "../../src/images/serve";
import { decodeCursor, encodeCursor } from "../../src/routes/cursor";
import { backoffSeconds, pollDelaySeconds } from "../../src/tasks/messages";
import { planFor, planForMissing, REQUEUE_AFTER_MS, VANISH_GRACE_MS } from "../../src/tasks/reconcile-rules";
import { jobHash } from "../../src/tasks/views/seed002";
import { chooseByWeight } from "../../src/upstream/channels";

const NOW = 1_800_000_000_000;
const TIMEOUT = 30 * 60_000;

describe("reconcile rules", () => {
	it("fails anything past the timeout, whatever its state", () => {
		for (const status of ["NOT_START", "SUBMITTED", "IN_PROGRESS", "MODAL"] as const) {
			expect(planFor({ status, submitTime: NOW - TIMEOUT - 1, upstreamId: "1", channelId: 1 }, NOW, TIMEOUT)).toEqual({
				kind: "fail",
				reason: "timed out after 30 minutes",
			});
		}
	});

	it("says why a MODAL task that never got its second step ended, and waits for it until the timeout", () => {
		const waiting = { status: "MODAL" as const, upstreamId: null, channelId: null };
		expect(planFor({ ...waiting, submitTime: NOW - TIMEOUT + 1 }, NOW, TIMEOUT)).toEqual({ kind: "wait" });
		expect(planFor({ ...waiting, submitTime: NOW - TIMEOUT - 1 }, NOW, TIMEOUT)).toEqual({
			kind: "fail",
			reason: "the modal step (mask or prompt) was not sent within 30 minutes; the charge is refunded",
		});
	});

	it("re-queues a NOT_START task only once its message has had time to arrive", () => {
		const task = { status: "NOT_START" as const, upstreamId: null, channelId: null };
		expect(planFor({ ...task, submitTime: NOW - REQUEUE_AFTER_MS + 1 }, NOW, TIMEOUT)).toEqual({ kind: "wait" });
		expect(planFor({ ...task, submitTime: NOW - REQUEUE_AFTER_MS - 1 }, NOW, TIMEOUT)).toEqual({ kind: "requeue" });
	});

	it("polls in-flight tasks that reached an upstream", () => {
		expect(planFor({ status: "IN_PROGRESS", submitTime: NOW, upstreamId: "1", channelId: 2 }, NOW, TIMEOUT)).toEqual({
			kind: "poll",
		});
		expect(planFor({ status: "SUBMITTED", submitTime: NOW, upstreamId: null, channelId: null }, NOW, TIMEOUT)).toEqual({
			kind: "wait",
		});
	});

	it("calls a task missing upstream vanished only after the grace period", () => {
		expect(planForMissing({ submitTime: NOW - VANISH_GRACE_MS + 1 }, NOW)).toEqual({ kind: "wait" });
		expect(planForMissing({ submitTime: NOW - VANISH_GRACE_MS - 1 }, NOW).kind).toBe("fail");
	});
});

describe("delays", () => {
	it("backoff grows and is capped", () => {
		const seq = [1, 2, 3, 4, 5, 6].map(backoffSeconds);
		for (let i = 1; i < seq.length; i++) expect(seq[i]).toBeGreaterThan(seq[i - 1]);
		expect(backoffSeconds(50)).toBe(300);
	});

	it("poll delays never shrink and are capped at 30 s", () => {
		let last = 0;
		for (let n = 0; n < 40; n++) {
			expect(pollDelaySeconds(n)).toBeGreaterThanOrEqual(last);
			last = pollDelaySeconds(n);
		}
		expect(pollDelaySeconds(0)).toBeLessThanOrEqual(2);
		expect(last).toBe(30);
	});
});

describe("chooseByWeight", () => {
	const channels = [
		{ id: 1, weight: 1 },
		{ id: 2, weight: 3 },
		{ id: 3, weight: 0 },
	];
	it("picks in proportion to weight and never a zero-weight channel", () => {
		expect(chooseByWeight(channels, () => 0)?.id).toBe(1);
		expect(chooseByWeight(channels, () => 0.24)?.id).toBe(1);
		expect(chooseByWeight(channels, () => 0.26)?.id).toBe(2);
		expect(chooseByWeight(channels, () => 0.9999)?.id).toBe(2);
		expect(chooseByWeight([{ id: 3, weight: 0 }], Math.random)).toBeUndefined();
		expect(chooseByWeight([], Math.random)).toBeUndefined();
	});
});

describe("seed-002 helpers", () => {
	it("reads the job hash from the buttons", () => {
		const buttons = JSON.stringify([
			{ customId: "MJ::JOB::upsample::1::03ee7a3e-b4d2-4465-9165-b93c99cb6617", label: "U1" },
		]);
		expect(jobHash(buttons)).toBe("03ee7a3e-b4d2-4465-9165-b93c99cb6617");
		expect(jobHash("[]")).toBe("");
		expect(jobHash("not json")).toBe("");
	});

	it("reads the hash from an upscale's buttons (subtle/creative, vary, zoom) and from the button it was made with", () => {
		const hash = "9c8f6a51-3d2e-4b7a-8f10-2a4b6c8d0e1f";
		for (const customId of [
			`MJ::JOB::upsample_v6_2x_subtle::1::${hash}::SOLO`,
			`MJ::JOB::low_variation::1::${hash}::SOLO`,
			`MJ::CustomZoom::${hash}`,
			`MJ::Outpaint::50::1::${hash}::SOLO`,
		]) {
			expect(jobHash(JSON.stringify([{ customId }])), customId).toBe(hash);
		}
		expect(jobHash("[]", `MJ::JOB::upsample::2::${hash}`)).toBe(hash);
		expect(jobHash("[]", "MJ::JOB::upsample::2::not-a-hash")).toBe("");
	});

	it("answers a second read of the same buttons as the first, whatever the button it was made with", () => {
		const hash = "1b2c3d4e-5f60-4172-8394-a5b6c7d8e9f0";
		const withHash = JSON.stringify([{ customId: `MJ::JOB::variation::3::${hash}`, label: "V3" }]);
		const withoutHash = JSON.stringify([{ customId: "MJ::BOOKMARK::x", label: "Bookmark" }]);
		for (let i = 0; i < 2; i++) {
			expect(jobHash(withHash, "MJ::JOB::upsample::2::00000000-0000-4000-8000-000000000000")).toBe(hash);
			// Buttons without a hash fall back to the button the task was made with, each time its own.
			expect(jobHash(withoutHash, `MJ::JOB::upsample::2::${hash}`)).toBe(hash);
			expect(jobHash(withoutHash)).toBe("");
		}
	});

	it("list cursors round-trip and refuse garbage", () => {
		const cursor = { submitTime: 1_700_000_000_123, id: 42 };
		expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
		expect(() => decodeCursor("!!!")).toThrow(/cursor/);
		expect(() => decodeCursor(btoa("1.2.3"))).toThrow(/cursor/);
	});
});

describe("parseRange", () => {
	it("reads single byte ranges and ignores everything else", () => {
		expect(parseRange("bytes=0-7")).toEqual({ offset: 0, length: 8 });
		expect(parseRange("bytes=10-")).toEqual({ offset: 10 });
		expect(parseRange("bytes=-4")).toEqual({ suffix: 4 });
		for (const header of [undefined, "", "bytes=", "bytes=-", "bytes=5-2", "items=0-7", "bytes=abc", "bytes=0-1,4-5"]) {
			expect(parseRange(header)).toBeNull();
		}
	});
});

describe("normalizePath", () => {
	it("collapses repeated slashes and drops a trailing slash", () => {
		expect(normalizePath("http://h/api/v1//task/fetch?_id=1")).toBe("/api/v1/task/fetch");
		expect(normalizePath("http://h/api/mj/?p=1")).toBe("/api/mj");
		expect(normalizePath("http://h/")).toBe("/");
		expect(normalizePath("http://h")).toBe("/");
		expect(normalizePath("http://h/health")).toBe("/health");
		expect(normalizePath("http://h/a?x=//y/")).toBe("/a");
	});
});
