/**
 * What each action costs and what new users start with. Defaults below; ACTION_PRICES (a JSON
 * object, e.g. {"IMAGINE": 200}) overrides single prices and NEW_USER_QUOTA the starting balance.
 */
import type { TaskAction } from "./actions";

export const DEFAULT_PRICES: Readonly<Record<TaskAction, number>> = {
	IMAGINE: 100,
	UPSCALE: 50,
	VARIATION: 100,
	REROLL: 100,
	PAN: 100,
	ZOOM: 100,
	CUSTOM_ZOOM: 100,
	INPAINT: 100,
	DESCRIBE: 50,
	BLEND: 100,
	SHORTEN: 50,
	VIDEO: 300,
	EDITS: 100,
	SWAP_FACE: 100,
	ACTION: 100,
};
/** Price of an action missing from both tables. */
const FALLBACK_PRICE = 100;

let cachedSource: string | undefined;
let cachedPrices: Record<string, number> = { ...DEFAULT_PRICES };

function prices(env: Pick<Env, "ACTION_PRICES">): Record<string, number> {
	const source = env.ACTION_PRICES ?? "";
	if (source === cachedSource) return cachedPrices;
	let overrides: Record<string, number> = {};
	if (source.trim()) {
		try {
			const parsed: unknown = JSON.parse(source);
			if (typeof parsed !== "object" || parsed === null) throw new Error("not an object");
			for (const [action, price] of Object.entries(parsed)) {
				if (!Number.isSafeInteger(price) || (price as number) < 0) throw new Error(`bad price for ${action}`);
				overrides[action.toUpperCase()] = price as number;
			}
		} catch (error) {
			console.error("ACTION_PRICES is not a JSON object of non-negative integers; using the defaults", error);
			overrides = {};
		}
	}
	cachedSource = source;
	cachedPrices = { ...DEFAULT_PRICES, ...overrides };
	return cachedPrices;
}

export function priceOf(env: Pick<Env, "ACTION_PRICES">, action: string): number {
	return prices(env)[action] ?? FALLBACK_PRICE;
}

export function newUserQuota(env: Pick<Env, "NEW_USER_QUOTA">): number {
	const quota = Number(env.NEW_USER_QUOTA);
	return Number.isSafeInteger(quota) && quota >= 0 ? quota : 0;
}
