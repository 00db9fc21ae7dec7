import { describe, expect, it } from "vitest";
import { parseProgress, type TaskStatus } from "../../src/tasks/model";
import { decide, keepsUpstreamId } from "../../src/tasks/transitions";

const at = (status: TaskStatus, progress = 0, upstreamId?: string) => ({ status, progress, upstreamId });

describe("decide", () => {
	it("accepts every forward step of the normal path", () => {
		expect(decide(at("NOT_START"), { status: "SUBMITTED", upstreamId: "1" })).toEqual({
			accept: true,
			status: "SUBMITTED",
			progress: 0,
		});
		expect(decide(at("SUBMITTED"), { status: "IN_PROGRESS", progress: "10%" })).toEqual({
			accept: true,
			status: "IN_PROGRESS",
			progress: 10,
		});
		expect(decide(at("IN_PROGRESS", 10), { status: "SUCCESS", progress: "" })).toEqual({
			accept: true,
			status: "SUCCESS",
			progress: 100,
		});
	});

	it("lets a task jump straight to an end state", () => {
		expect(decide(at("NOT_START"), { status: "FAILURE" }).accept).toBe(true);
		expect(decide(at("SUBMITTED"), { status: "SUCCESS" }).accept).toBe(true);
	});

	it("never leaves an end state", () => {
		for (const end of ["SUCCESS", "FAILURE", "CANCEL"] as const) {
			for (const next of ["SUBMITTED", "IN_PROGRESS", "SUCCESS", "FAILURE"] as const) {
				expect(decide(at(end, 100), { status: next, progress: "100%" })).toEqual({ accept: false, reason: "terminal" });
			}
		}
	});

	it("refuses a step back", () => {
		expect(decide(at("IN_PROGRESS", 40), { status: "SUBMITTED" })).toEqual({ accept: false, reason: "stale" });
		expect(decide(at("SUBMITTED"), { status: "NOT_START" })).toEqual({ accept: false, reason: "stale" });
	});

	it("accepts more progress, refuses the same or less", () => {
		expect(decide(at("IN_PROGRESS", 40), { status: "IN_PROGRESS", progress: "41%" })).toMatchObject({
			accept: true,
			progress: 41,
		});
		expect(decide(at("IN_PROGRESS", 40), { status: "IN_PROGRESS", progress: "40%" })).toEqual({
			accept: false,
			reason: "duplicate",
		});
		expect(decide(at("IN_PROGRESS", 40), { status: "IN_PROGRESS", progress: "39%" })).toEqual({
			accept: false,
			reason: "duplicate",
		});
		expect(decide(at("IN_PROGRESS", 40), { status: "IN_PROGRESS" })).toEqual({ accept: false, reason: "duplicate" });
	});

	it("keeps progress when a higher state reports less of it", () => {
		expect(decide(at("SUBMITTED", 20), { status: "IN_PROGRESS", progress: "5%" })).toMatchObject({ progress: 20 });
	});

	it("moves between MODAL and IN_PROGRESS without losing progress", () => {
		expect(decide(at("IN_PROGRESS", 50), { status: "MODAL", progress: "50%" })).toMatchObject({
			accept: true,
			status: "MODAL",
		});
		expect(decide(at("MODAL", 50), { status: "IN_PROGRESS", progress: "30%" }).accept).toBe(false);
	});

	it("treats a repeated SUBMITTED as a duplicate unless it brings the first upstream id", () => {
		expect(decide(at("SUBMITTED", 0, "1"), { status: "SUBMITTED", upstreamId: "1" })).toEqual({
			accept: false,
			reason: "duplicate",
		});
		expect(decide(at("SUBMITTED"), { status: "SUBMITTED", upstreamId: "1" }).accept).toBe(true);
	});
});

describe("keepsUpstreamId", () => {
	const submitted = { status: "SUBMITTED" as const, upstreamId: "up-1" };
	it("an ended task without an upstream id takes the one an update brings", () => {
		for (const status of ["CANCEL", "FAILURE"] as const) {
			expect(keepsUpstreamId({ status, progress: 0 }, submitted)).toBe(true);
		}
	});
	it("never replaces an upstream id, and a running task goes through decide instead", () => {
		expect(keepsUpstreamId({ status: "CANCEL", progress: 0, upstreamId: "up-0" }, submitted)).toBe(false);
		expect(keepsUpstreamId({ status: "NOT_START", progress: 0 }, submitted)).toBe(false);
		expect(keepsUpstreamId({ status: "CANCEL", progress: 0 }, { status: "SUBMITTED" })).toBe(false);
	});
});

describe("parseProgress", () => {
	it("reads percentages and refuses the rest", () => {
		expect(parseProgress("45%")).toBe(45);
		expect(parseProgress("7")).toBe(7);
		expect(parseProgress("12.5%")).toBe(12);
		expect(parseProgress("250%")).toBe(100);
		expect(parseProgress("")).toBeUndefined();
		expect(parseProgress("done")).toBeUndefined();
		expect(parseProgress(null)).toBeUndefined();
	});
});
