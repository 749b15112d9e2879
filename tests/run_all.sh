#!/usr/bin/env bash
# The whole test suite (`deno task test`): a private Docker engine, then every
# test under tests/. Docker tests share that one daemon, so files run serially.
set -euo pipefail
cd "$(dirname "$0")/.."

# docker_env.sh installs what is missing, starts a private dockerd and exports
# DOCKER_HOST and VOLSNAP_TEST_IMAGE; it fails loudly when it cannot.
if ! source tests/docker_env.sh; then
  echo "run_all: FAILED: no private Docker engine could be started (see above); not running tests" >&2
  exit 1
fi
# docker_env.sh is not written for errexit (its cleanup greps may find nothing).
trap 'set +e; stop_private_dockerd' EXIT

# `deno` is on PATH inside `deno task` run through npx; fall back to npx otherwise.
if command -v deno >/dev/null 2>&1; then DENO=(deno); else DENO=(npx -y deno@2.9.6); fi
"${DENO[@]}" test -A --no-check=remote tests/
