import { describe, expect, it } from "vitest";
import { pictureUrls, promptSeed } from "../../src/tasks/views/proxy";

describe("pictureUrls", () => {
	it("names each quadrant of a grid with a media fragment, in Midjourney's order", () => {
		expect(pictureUrls("IMAGINE", "https://g/mj/image/t?sig=s")).toEqual([
			"https://g/mj/image/t?sig=s#xywh=percent:0,0,50,50",
			"https://g/mj/image/t?sig=s#xywh=percent:50,0,50,50",
			"https://g/mj/image/t?sig=s#xywh=percent:0,50,50,50",
			"https://g/mj/image/t?sig=s#xywh=percent:50,50,50,50",
		]);
	});

	it("gives a single picture as itself and no picture as nothing", () => {
		expect(pictureUrls("UPSCALE", "https://g/i")).toEqual(["https://g/i"]);
		expect(pictureUrls("SWAP_FACE", "https://g/i")).toEqual(["https://g/i"]);
		expect(pictureUrls("IMAGINE", "")).toEqual([]);
	});
});

describe("promptSeed", () => {
	it("reads --seed and --sameseed, and nothing else", () => {
		expect(promptSeed("a fox --seed 123 --ar 2:3")).toBe("123");
		expect(promptSeed("a fox --sameseed 42")).toBe("42");
		expect(promptSeed("a fox --seed")).toBe("");
		expect(promptSeed("a fox --seed 12abc")).toBe("");
		expect(promptSeed("a fox--seed 5")).toBe("");
		expect(promptSeed("a fox --seed 99999999999")).toBe("");
	});
});
