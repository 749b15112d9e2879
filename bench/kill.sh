#!/usr/bin/env bash
# Long kill run (not in CI): ≥ 200 random SIGKILLs over capture, restore and
# pre-restore against the real server; a private dockerd is started unless
# DOCKER_HOST and VOLSNAP_TEST_IMAGE are already set.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DOCKER_HOST:-}" ] || [ -z "${VOLSNAP_TEST_IMAGE:-}" ]; then
  source tests/docker_env.sh
  trap 'set +e; stop_private_dockerd' EXIT
fi
if command -v deno >/dev/null 2>&1; then DENO=(deno); else DENO=(npx -y deno@2.9.6); fi
"${DENO[@]}" run -A bench/kill_bench.ts "$@"
