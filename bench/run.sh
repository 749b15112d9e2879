#!/usr/bin/env bash
# Benchmarks (not timed tests): capture, then restore if that bench exists.
set -euo pipefail
cd "$(dirname "$0")/.."
deno run -A bench/capture_bench.ts "$@"
if [ -f bench/restore_bench.ts ]; then
  deno run -A bench/restore_bench.ts
fi
