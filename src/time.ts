/** Epoch seconds, the unit every client surface shows times in; the database keeps milliseconds. */

/** Whole seconds since the epoch (rounded down). */
export function epochSeconds(ms: number): number {
	return Math.floor(ms / 1000);
}

/** epochSeconds, with 0 for a time that has not happened (null) as seed 001's dashboards expect. */
export function epochSecondsOrZero(ms: number | null | undefined): number {
	return ms ? epochSeconds(ms) : 0;
}
