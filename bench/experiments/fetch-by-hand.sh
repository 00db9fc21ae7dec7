#!/usr/bin/env bash
# The seed 002 fetch of an unfinished task as main serves it (A) and answered by hand before Hono
# (B: fetch-by-hand.patch, applied only for its runs), PAIRS times in turn: how close to its
# ceiling the route can come with no framework at all. Each run is one
# `BENCH_ONLY=routes BENCH_ROUTES=fetchPending npm run bench`; logs in bench/.out/fetch-by-hand-*.log.
# bench/README.md ("Miniflare's entry Worker") has the results and what they mean; they were taken
# through Miniflare's entry Worker, as the routes then were: BENCH_ENTRY=1 runs them so again.
set -euo pipefail
cd "$(dirname "$0")/../.."
git diff --quiet -- src || { echo "src has uncommitted changes: commit or stash them first" >&2; exit 1; }
trap 'git checkout -- src/index.ts' EXIT
for i in $(seq 1 "${PAIRS:-3}"); do
	for variant in main by-hand; do
		if [ "$variant" = by-hand ]; then git apply bench/experiments/fetch-by-hand.patch; fi
		log="bench/.out/fetch-by-hand-$variant-$i.log"
		BENCH_ONLY=routes BENCH_ROUTES=fetchPending npm run -s bench >"$log" 2>&1
		git checkout -- src/index.ts
		echo "$variant $i (load $(cut -d' ' -f1-3 /proc/loadavg)):"
		grep -E "^ +fetchPending" "$log" | sed 's/^/  /'
	done
done
