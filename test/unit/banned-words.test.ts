import { describe, expect, it } from "vitest";
import { BannedMatcher, normalizeBannedWord } from "../../src/tasks/banned-words";

describe("banned words", () => {
	const matcher = new BannedMatcher(["nude", "gore", "red fox", "blood-soaked", "裸体"]);

	it("finds whole words in any case, never parts of words", () => {
		expect(matcher.find("a NUDE statue")).toBe("nude");
		expect(matcher.find("Gore, everywhere")).toBe("gore");
		expect(matcher.find("a gorest forest")).toBeUndefined();
		expect(matcher.find("denuded hills")).toBeUndefined();
		expect(matcher.find("the --no nude parameter")).toBe("nude");
	});

	it("finds phrases on word boundaries, whatever the spacing and case", () => {
		expect(matcher.find("a Red   Fox in snow")).toBe("red fox");
		expect(matcher.find("a red, fox")).toBe("red fox");
		expect(matcher.find("a red foxglove")).toBeUndefined();
		expect(matcher.find("a bored fox")).toBeUndefined();
		expect(matcher.find("blood-soaked sand")).toBe("blood-soaked");
		expect(matcher.find("blood soaked sand")).toBeUndefined();
	});

	it("finds words of unspaced scripts inside the text", () => {
		expect(matcher.find("一个裸体雕像")).toBe("裸体");
		expect(matcher.find("一个雕像")).toBeUndefined();
	});

	it("stores words lower-cased and single-spaced; no word at all is empty", () => {
		expect(normalizeBannedWord("  Red   FOX ")).toBe("red fox");
		expect(normalizeBannedWord("--Gore!")).toBe("gore");
		expect(normalizeBannedWord(" 裸体 ")).toBe("裸体");
		expect(normalizeBannedWord(" -- !! ")).toBe("");
	});

	it("an empty list bans nothing", () => {
		expect(new BannedMatcher([]).find("anything at all")).toBeUndefined();
	});

	it("a list of one kind of word still finds it (only phrases, only unspaced words, only one word)", () => {
		expect(new BannedMatcher(["red fox"]).find("a red fox")).toBe("red fox");
		expect(new BannedMatcher(["裸体"]).find("一个裸体雕像")).toBe("裸体");
		expect(new BannedMatcher(["gore"]).find("much gore")).toBe("gore");
	});
});
