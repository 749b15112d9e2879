#!/usr/bin/env bash
# Benchmarks (not timed tests), each side by side with GNU tar + zstd in the
# same run: capture, restore (extraction), then restore downtime vs data size
# through the real server, which needs Docker: a private dockerd is started
# unless DOCKER_HOST and VOLSNAP_TEST_IMAGE are already set.
set -euo pipefail
cd "$(dirname "$0")/.."
deno run -A bench/capture_bench.ts "$@"
# Both data sets exist now (the capture bench makes them): extraction of each.
deno run -A bench/restore_bench.ts --runs 5
deno run -A bench/restore_bench.ts /tmp/volsnap-bench/data-quarter --runs 5
if [ -z "${DOCKER_HOST:-}" ] || [ -z "${VOLSNAP_TEST_IMAGE:-}" ]; then
  source tests/docker_env.sh
  trap 'set +e; stop_private_dockerd' EXIT
fi
deno run -A bench/downtime_bench.ts
deno run -A bench/catalog_bench.ts
deno run -A bench/incremental_bench.ts
