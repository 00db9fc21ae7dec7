import { describe, expect, it } from "vitest";
import { FAKE_FAILURE_MARKER, fakeAi } from "../../src/translate/fake-ai";
import { foreignLanguageOf, splitPrompt } from "../../src/translate/prompt-spans";
import { modelTranslator, type Translator, translatePrompt } from "../../src/translate/translator";

const fake = modelTranslator(fakeAi, "fake");

describe("splitting a prompt", () => {
	it("protects parameters (to the end), links, <…> and :: weights; the rest is text", () => {
		const spans = splitPrompt(
			"一只猫::2 <https://a.test/x.png> 花园 https://b.test/y.png 日落 --ar 16:9 --no 红色 --v 6",
		);
		expect(spans).toEqual([
			{ text: "一只猫", translate: true },
			{ text: "::2", translate: false },
			{ text: " ", translate: true },
			{ text: "<https://a.test/x.png>", translate: false },
			{ text: " 花园 ", translate: true },
			{ text: "https://b.test/y.png", translate: false },
			{ text: " 日落 ", translate: true },
			{ text: "--ar 16:9 --no 红色 --v 6", translate: false },
		]);
		expect(spans.map((span) => span.text).join("")).toBe(
			"一只猫::2 <https://a.test/x.png> 花园 https://b.test/y.png 日落 --ar 16:9 --no 红色 --v 6",
		);
	});

	it("a `--` inside a word is not a parameter; weights may be negative or decimal", () => {
		expect(splitPrompt("sci--fi 城市::-0.5").filter((s) => !s.translate)).toEqual([
			{ text: "::-0.5", translate: false },
		]);
	});

	it("recognises scripts English never uses, not Latin-script languages", () => {
		expect(foreignLanguageOf("一只猫")).toBe("zh");
		expect(foreignLanguageOf("ねこ")).toBe("ja");
		expect(foreignLanguageOf("고양이")).toBe("ko");
		expect(foreignLanguageOf("кошка")).toBe("ru");
		expect(foreignLanguageOf("un chat noir")).toBeUndefined();
		expect(foreignLanguageOf("a cat --ar 16:9")).toBeUndefined();
	});
});

describe("translating a prompt", () => {
	it("translates only the text, with parameters, links and weights exactly as written", async () => {
		const prompt = "一只猫在花园::2 https://a.test/x.png 日落::1 --ar 16:9 --v 6";
		expect(await translatePrompt(fake, prompt)).toEqual({
			kind: "translated",
			prompt: "a cat in garden::2 https://a.test/x.png sunset::1 --ar 16:9 --v 6",
			source: "zh",
		});
	});

	it("never calls the translator for English, even with foreign text inside a parameter", async () => {
		const never: Translator = {
			name: "never",
			translate: () => {
				throw new Error("called");
			},
		};
		expect(await translatePrompt(never, "a cat --no 红色")).toEqual({ kind: "english", prompt: "a cat --no 红色" });
	});

	it("a failing translator leaves the prompt as written and says why", async () => {
		const prompt = `一只猫 ${FAKE_FAILURE_MARKER} --v 6`;
		expect(await translatePrompt(fake, prompt)).toEqual({
			kind: "failed",
			prompt,
			error: "fake translator: failure requested",
		});
	});

	it("no translator: the prompt goes as written", async () => {
		expect(await translatePrompt(null, "一只猫")).toEqual({ kind: "off", prompt: "一只猫" });
	});

	it("an empty answer from the model is a failure, not an empty prompt", async () => {
		const empty = modelTranslator({ run: async () => ({ translated_text: " " }) }, "empty");
		expect(await translatePrompt(empty, "一只猫")).toMatchObject({ kind: "failed", prompt: "一只猫" });
	});
});
