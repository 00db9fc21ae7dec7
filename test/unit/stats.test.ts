/**
 * p50/p95 from duration histograms (src/tasks/stats.ts): the estimate falls in the bucket of the
 * exact nearest-rank value, so from 1 s up to the open last bucket it is within 2^(1/4) (19%)
 * of it, and under 1 s within 1 s.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bucketStart, durationBucket, MAX_BUCKET } from "../../src/db/stats";
import { estimateQuantile } from "../../src/tasks/stats";

function histogram(values: number[]): Map<number, number> {
	const h = new Map<number, number>();
	for (const v of values) h.set(durationBucket(v), (h.get(durationBucket(v)) ?? 0) + 1);
	return h;
}

function exact(values: number[], q: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];
}

describe("duration buckets", () => {
	it("four per doubling from 1 s, the last one open", () => {
		expect([0, 999, 1000, 1188, 1190, 2000, 4000].map(durationBucket)).toEqual([0, 0, 1, 1, 2, 5, 9]);
		expect(bucketStart(5)).toBe(2000);
		expect(durationBucket(bucketStart(MAX_BUCKET))).toBe(MAX_BUCKET);
		expect(durationBucket(10 * bucketStart(MAX_BUCKET))).toBe(MAX_BUCKET);
		for (let b = 1; b < MAX_BUCKET; b++) expect(bucketStart(b + 1) / bucketStart(b)).toBeCloseTo(2 ** 0.25, 10);
	});
});

describe("estimateQuantile", () => {
	it("is null for an empty histogram", () => {
		expect(estimateQuantile(new Map(), 0.5)).toBeNull();
		expect(estimateQuantile(new Map([[3, 0]]), 0.5)).toBeNull();
	});

	it("lands in the exact value's bucket: within 19% from 1 s on, within 1 s below", () => {
		const duration = fc.integer({ min: 0, max: bucketStart(MAX_BUCKET) - 1 });
		fc.assert(
			fc.property(fc.array(duration, { minLength: 1, maxLength: 300 }), fc.constantFrom(0.5, 0.95), (values, q) => {
				const truth = exact(values, q);
				const estimate = estimateQuantile(histogram(values), q) ?? Number.NaN;
				expect(durationBucket(estimate)).toBe(durationBucket(truth));
				if (truth >= 1000) expect(Math.abs(estimate - truth) / truth).toBeLessThanOrEqual(2 ** 0.25 - 1 + 1e-9);
				else expect(Math.abs(estimate - truth)).toBeLessThan(1000);
			}),
			{ numRuns: 300 },
		);
	});

	it("reports the open last bucket's start", () => {
		const values = [5_000, 50_000_000, 60_000_000];
		expect(estimateQuantile(histogram(values), 0.95)).toBe(Math.round(bucketStart(MAX_BUCKET)));
	});
});
