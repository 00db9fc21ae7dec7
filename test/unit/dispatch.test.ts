import { describe, expect, it } from "vitest";
import type { TaskRow } from "../../src/db/schema";
import { classifySubmitReply, submitToUpstream } from "../../src/tasks/dispatch";
import { UpstreamClient } from "../../src/upstream/client";

describe("classifySubmitReply (UPSTREAM.md codes)", () => {
	it("1, 21 and 22 are accepted with the upstream id", () => {
		expect(classifySubmitReply({ code: 1, result: "8498455807619990" })).toEqual({
			kind: "accepted",
			upstreamId: "8498455807619990",
		});
		expect(classifySubmitReply({ code: 21, result: 123 })).toEqual({ kind: "accepted", upstreamId: "123" });
		expect(classifySubmitReply({ code: 22, result: "0741798445574458", properties: { numberOfQueues: 1 } })).toEqual({
			kind: "accepted",
			upstreamId: "0741798445574458",
		});
	});

	it("an accepted reply without an id fails rather than tracking nothing", () => {
		expect(classifySubmitReply({ code: 1, result: null }).kind).toBe("failed");
	});

	it("23 is retried", () => {
		expect(classifySubmitReply({ code: 23, description: "queue full" })).toEqual({
			kind: "retry",
			reason: "queue full",
		});
	});

	it("24 fails with the banned word", () => {
		expect(classifySubmitReply({ code: 24, properties: { bannedWord: "nude", promptEn: "nude body" } })).toEqual({
			kind: "failed",
			reason: "banned prompt: nude",
		});
		expect(classifySubmitReply({ code: 24, description: "May contain a banned word" })).toEqual({
			kind: "failed",
			reason: "May contain a banned word",
		});
	});

	it("3 on a new task means the channel has no account: use another channel", () => {
		expect(classifySubmitReply({ code: 3, description: "no available account" })).toEqual({
			kind: "channel-down",
			reason: "no account: no available account",
		});
	});

	it("4, 9 and unknown codes fail with the upstream's description", () => {
		expect(classifySubmitReply({ code: 4, description: "bad prompt" })).toEqual({
			kind: "failed",
			reason: "bad prompt",
		});
		expect(classifySubmitReply({ code: 9, description: "system error: discord unreachable" })).toEqual({
			kind: "failed",
			reason: "system error: discord unreachable",
		});
		expect(classifySubmitReply({ code: 9 })).toEqual({ kind: "failed", reason: "upstream refused the task (code 9)" });
		expect(classifySubmitReply({ code: 77 })).toEqual({
			kind: "failed",
			reason: "upstream refused the task (code 77)",
		});
	});
});

describe("submitToUpstream: a remix the channel cannot honour", () => {
	const task = {
		publicId: "t-remix",
		action: "VARIATION",
		prompt: "old",
		parentId: "parent",
		customId: "MJ::JOB::variation::1::hash",
		taskIndex: 1,
		botType: "",
		mode: "",
		options: JSON.stringify({ remix: true, modalPrompt: "new" }),
	} as TaskRow;

	function upstream(actionCode: number) {
		const calls: { path: string; body: Record<string, unknown> }[] = [];
		const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
			const path = new URL(String(input)).pathname;
			calls.push({ path, body: JSON.parse(String(init?.body ?? "{}")) });
			const code = path.endsWith("/submit/action") ? actionCode : 1;
			return Response.json({ code, description: "ok", result: "777" });
		};
		return { calls, client: new UpstreamClient({ baseUrl: "http://up.test", secret: "s" }, fetch) };
	}

	it("sends enableRemix and then the new prompt when the upstream waits for it (code 21)", async () => {
		const { calls, client } = upstream(21);
		const outcome = await submitToUpstream(client, task, { parentUpstreamId: "555" });
		expect(outcome).toEqual({ kind: "accepted", upstreamId: "777" });
		expect(calls.map((c) => c.path)).toEqual(["/mj/submit/action", "/mj/submit/modal"]);
		expect(calls[0]?.body).toMatchObject({ taskId: "555", customId: task.customId, enableRemix: true });
		expect(calls[1]?.body).toMatchObject({ taskId: "777", prompt: "new" });
	});

	it("fails the task and cancels the upstream's when it ran the button without waiting", async () => {
		const { calls, client } = upstream(1);
		const outcome = await submitToUpstream(client, task, { parentUpstreamId: "555" });
		expect(outcome.kind).toBe("failed");
		expect(outcome.kind === "failed" && outcome.reason).toContain("cannot remix");
		expect(calls.map((c) => c.path)).toEqual(["/mj/submit/action", "/mj/task/777/cancel"]);
	});
});
