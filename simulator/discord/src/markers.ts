/**
 * Marker words in a prompt force the paths real Midjourney takes only sometimes (follow-ups
 * inherit their parent's prompt, hence its markers). See README "Prompt markers".
 */
export interface FakeMarkers {
	banned: boolean;
	invalid: boolean;
	invalidLink: boolean;
	queueFull: boolean;
	filtered: boolean;
	failed: boolean;
	warning: boolean;
	rewrite: boolean;
	params: boolean;
	remix: boolean;
	noMetadata: boolean;
	slow: boolean;
	/** Twelve progress updates instead of two, as a real job of about a minute sends (the bench's steady stream). */
	long: boolean;
}

export function parseMarkers(prompt: string): FakeMarkers {
	const has = (word: string) => new RegExp(`(^|\\s)--fake-${word}(?=\\s|$)`, "i").test(prompt);
	return {
		banned: has("banned"),
		invalid: has("invalid"),
		invalidLink: has("invalid-link"),
		queueFull: has("queue-full"),
		filtered: has("filtered"),
		failed: has("failed"),
		warning: has("warning"),
		rewrite: has("rewrite"),
		params: has("params"),
		remix: has("remix"),
		noMetadata: has("no-metadata"),
		slow: has("slow"),
		long: has("long"),
	};
}

/** A link as Midjourney shows it in a prompt it rewrote: `<https://s.mj.run/…>`, stable per link. */
export function shortLink(url: string): string {
	let h = 2166136261;
	for (let i = 0; i < url.length; i++) h = Math.imul(h ^ url.charCodeAt(i), 16777619) >>> 0;
	return `<https://s.mj.run/${h.toString(36)}${url.length.toString(36)}>`;
}

/** The prompt as the bot shows it: links rewritten under `--fake-rewrite`, defaults added under `--fake-params`. */
export function displayPrompt(prompt: string): string {
	const markers = parseMarkers(prompt);
	let shown = prompt.trim().replace(/\s+/g, " ");
	if (markers.rewrite)
		shown = shown.replace(/<?(https?:\/\/[^\s>]+)>?/g, (_, url: string) =>
			url.startsWith("https://s.mj.run/") ? `<${url}>` : shortLink(url),
		);
	if (markers.params && !/(^|\s)--v\s/.test(shown)) shown = `${shown} --v 7`;
	return shown;
}
