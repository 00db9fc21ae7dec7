import { describe, expect, it } from "vitest";
import { call, type Reply, submit } from "../helpers/simulator";

describe("auth and malformed requests", () => {
	it("answers 401 code 4 without the right mj-api-secret, under every prefix", async () => {
		for (const secret of [null, "wrong"]) {
			for (const prefix of ["/mj", "/mj-fast/mj"]) {
				const response = await call(`${prefix}/submit/imagine`, { body: { prompt: "a cat" }, secret });
				expect(response.status).toBe(401);
				expect(await response.json<Reply>()).toMatchObject({ code: 4 });
			}
		}
		expect((await call("/mj/task/123/fetch", { secret: null })).status).toBe(401);
		expect((await call("/mj/task/list", { secret: null })).status).toBe(401);
	});

	it("answers 400 code 4 to a body that is not JSON or has the wrong shape", async () => {
		const notJson = await call("/mj/submit/imagine", { rawBody: "{nope" });
		expect(notJson.status).toBe(400);
		expect(await notJson.json<Reply>()).toMatchObject({ code: 4 });
		const wrongShape = await call("/mj/submit/change", { body: { taskId: "1", action: "PAN" } });
		expect(wrongShape.status).toBe(400);
		expect(await wrongShape.json<Reply>()).toMatchObject({ code: 4 });
		const badBot = await call("/mj/submit/imagine", { body: { prompt: "x", botType: "DALL_E" } });
		expect(badBot.status).toBe(400);
	});

	it("answers code 4 to an empty prompt and a notifyHook that is not http(s)", async () => {
		expect(await submit("/mj/submit/imagine", { prompt: "  " })).toMatchObject({ code: 4 });
		expect(await submit("/mj/submit/imagine", { prompt: "x", notifyHook: "ftp://a/b" })).toMatchObject({ code: 4 });
	});

	it("fetch of an unknown or malformed id is 404 with null", async () => {
		for (const id of ["1234567890123456789", "not-a-number"]) {
			const response = await call(`/mj/task/${id}/fetch`);
			expect(response.status).toBe(404);
			expect(await response.json()).toBeNull();
		}
	});
});
