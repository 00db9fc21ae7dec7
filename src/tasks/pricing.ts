/**
 * What each action costs: DEFAULT_ACTION_PRICES (src/config.ts)
 * overridden by ACTION_PRICES, as parsed once by config().
 */
import { type ConfigVars, config, DEFAULT_ACTION_PRICES, FALLBACK_PRICE } from "../config";

export const DEFAULT_PRICES = DEFAULT_ACTION_PRICES;

export function priceOf(env: ConfigVars, action: string): number {
	return config(env).actionPrices[action] ?? FALLBACK_PRICE;
}
