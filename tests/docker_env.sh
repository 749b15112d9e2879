#!/usr/bin/env bash
# Provides a private Docker engine for the test suite (SPEC §9).
# Source it: it exports DOCKER_HOST and VOLSNAP_TEST_IMAGE, and defines
# stop_private_dockerd, which stops the daemon by the pid it recorded.
# Fails loudly when no engine can be started: the suite never skips silently.

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
[ -x /bin/busybox ] || command -v busybox >/dev/null 2>&1 || need_pkgs+=(busybox-static)
command -v zstd >/dev/null 2>&1 || need_pkgs+=(zstd)
command -v age >/dev/null 2>&1 || need_pkgs+=(age)
command -v sqlite3 >/dev/null 2>&1 || need_pkgs+=(sqlite3)
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
command -v promtool >/dev/null 2>&1 || need_pkgs+=(prometheus)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "docker_env: installing ${need_pkgs[*]} from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}") >&2 ||
    { echo "docker_env: FAILED to install ${need_pkgs[*]}" >&2; return 1 2>/dev/null || exit 1; }
fi

VOLSNAP_DOCKER_ROOT=${VOLSNAP_DOCKER_ROOT:-$(mktemp -d /tmp/volsnap-dockerd.XXXXXX)}
mkdir -p "$VOLSNAP_DOCKER_ROOT"/{data,exec}
export VOLSNAP_DOCKER_ROOT
export DOCKER_HOST="unix://$VOLSNAP_DOCKER_ROOT/docker.sock"
dockerd --data-root "$VOLSNAP_DOCKER_ROOT/data" --exec-root "$VOLSNAP_DOCKER_ROOT/exec" \
  --pidfile "$VOLSNAP_DOCKER_ROOT/dockerd.pid" -H "$DOCKER_HOST" \
  --bridge=none --iptables=false --ip-masq=false --ip6tables=false \
  >"$VOLSNAP_DOCKER_ROOT/dockerd.log" 2>&1 &
VOLSNAP_DOCKERD_PID=$!
export VOLSNAP_DOCKERD_PID

stop_private_dockerd() {
  if [ -n "${VOLSNAP_DOCKERD_PID:-}" ] && kill -0 "$VOLSNAP_DOCKERD_PID" 2>/dev/null; then
    # Remove what tests left so the daemon stops fast, then stop it by its pid.
    docker ps -aq 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1
    kill "$VOLSNAP_DOCKERD_PID"
    for _ in $(seq 1 100); do kill -0 "$VOLSNAP_DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$VOLSNAP_DOCKERD_PID" 2>/dev/null
  fi
  # Unmount anything left under the private root before deleting it.
  grep " $VOLSNAP_DOCKER_ROOT" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$VOLSNAP_DOCKER_ROOT"
}

for _ in $(seq 1 150); do
  docker version >/dev/null 2>&1 && break
  kill -0 "$VOLSNAP_DOCKERD_PID" 2>/dev/null || break
  sleep 0.2
done
if ! docker version >/dev/null 2>&1; then
  echo "docker_env: FAILED to start a private dockerd; its log follows:" >&2
  tail -n 30 "$VOLSNAP_DOCKER_ROOT/dockerd.log" >&2
  stop_private_dockerd
  return 1 2>/dev/null || exit 1
fi

# Test image: a busybox rootfs plus sqlite3 (a real database engine) from
# the host's Debian packages, imported without any registry.
VOLSNAP_TEST_IMAGE=volsnap-test:latest
export VOLSNAP_TEST_IMAGE
rootfs=$(mktemp -d)
mkdir -p "$rootfs"/{bin,etc,tmp,data,proc,sys,dev,lib,lib64,usr/lib}
busybox_bin=$(command -v busybox || echo /bin/busybox)
cp "$busybox_bin" "$rootfs/bin/busybox"
for app in sh ls cat echo sleep touch mkdir rm mv cp chown chmod ln stat find sha256sum \
  head tail wc sync grep sed true false test kill ps env id date dd trap seq mkfifo du; do
  ln -sf busybox "$rootfs/bin/$app"
done
if command -v sqlite3 >/dev/null 2>&1; then
  cp "$(command -v sqlite3)" "$rootfs/bin/sqlite3"
  for lib in $(ldd "$(command -v sqlite3)" | grep -o '/[^ ]*'); do
    mkdir -p "$rootfs$(dirname "$lib")" && cp -L "$lib" "$rootfs$lib"
  done
fi
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
tar -C "$rootfs" -c . | docker import -c 'CMD ["/bin/sh"]' - "$VOLSNAP_TEST_IMAGE" >/dev/null ||
  { echo "docker_env: FAILED to import the test image" >&2; rm -rf "$rootfs"; stop_private_dockerd; return 1 2>/dev/null || exit 1; }
rm -rf "$rootfs"
echo "docker_env: private dockerd pid $VOLSNAP_DOCKERD_PID at $DOCKER_HOST, image $VOLSNAP_TEST_IMAGE" >&2
