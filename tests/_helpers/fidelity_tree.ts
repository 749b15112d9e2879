/**
 * A volume with everything SPEC §3 keeps beyond plain files: names that are
 * not UTF-8, user/trusted xattrs, security.capability, POSIX ACLs (access
 * and default), sparse files, setuid/setgid, a fifo, plus a socket (skipped
 * and counted). Built and compared with the real tools (setfattr, setfacl,
 * setcap, getfattr, find, sha256sum), never with volsnap's own code.
 */

const latin1 = new TextDecoder("latin1");

export async function sh(script: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: ["-euo", "pipefail", "-c", script, "sh", ...args],
    stdout: "piped",
    stderr: "piped",
    env: { LC_ALL: "C" },
  }).output();
  if (!out.success) {
    throw new Error(
      `bash failed (${out.code}): ${script}\n${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return latin1.decode(out.stdout); // bytes 1:1, so raw names compare exactly
}

/** A dir on a filesystem with user xattrs: /tmp if it has them, else a loop-mounted ext4. */
export async function xattrBase(): Promise<{ base: string; cleanup: () => Promise<void> }> {
  const base = await Deno.makeTempDir({ prefix: "vs_fid_" });
  try {
    await sh(`touch "$1/probe" && setfattr -n user.probe -v 1 "$1/probe" && rm "$1/probe"`, base);
    return { base, cleanup: () => Deno.remove(base, { recursive: true }) };
  } catch {
    await sh(
      `truncate -s 256M "$1.img" && mkfs.ext4 -q "$1.img" && mount -o loop,user_xattr,acl "$1.img" "$1"`,
      base,
    );
    return {
      base,
      cleanup: async () => {
        await sh(`umount "$1" && rm -f "$1.img" && rmdir "$1"`, base);
      },
    };
  }
}

export const SPARSE_SIZE = 64 * 1024 * 1024;

/** Builds the tree at `root` (which must not exist). */
export async function buildFidelityTree(root: string): Promise<void> {
  await sh(
    `
    mkdir "$1" && cd "$1"
    printf 'latin1 name\\n' > "$(printf 'caf\\351')"
    mkdir "$(printf 'dir\\377')"
    printf 'inside\\n' > "$(printf 'dir\\377/f\\376')"
    ln -s "$(printf 'target\\375')" raw_link
    ln -s "$(printf 'dir\\377/f\\376')" link_to_raw
    printf 'attrs\\n' > xfile
    setfattr -n user.comment -v 'hello world' xfile
    setfattr -n user.binary -v 0x00ff10ee xfile
    setfattr -n trusted.volsnap -v secret xfile
    mkdir xdir && setfattr -n user.dirattr -v 1 xdir
    printf 'acl\\n' > aclfile && setfacl -m u:1234:rwx,g:2345:r aclfile
    mkdir acldir && setfacl -d -m u:1234:rx acldir && setfacl -m u:1234:rwx acldir
    printf 'inherits\\n' > acldir/child
    printf '#!/bin/sh\\n' > capfile && chmod 755 capfile && setcap cap_net_raw+ep capfile
    printf 'suid\\n' > suid && chown 1234:1234 suid && chmod 6755 suid
    printf 'sgid\\n' > sgid && chmod 2750 sgid
    mkfifo -m 640 pipe
    python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' sock
    truncate -s ${SPARSE_SIZE} sparse_mid
    printf 'middle' | dd of=sparse_mid bs=1 seek=$((10*1024*1024)) conv=notrunc status=none
    truncate -s ${SPARSE_SIZE} sparse_empty
    printf 'start' > sparse_ends && truncate -s $((8*1024*1024)) sparse_ends
    printf 'end' >> sparse_ends
    setfattr -n user.on_sparse -v yes sparse_mid
    setfattr -n user.root -v top .
    find . -exec touch -h -d @1700000000.123 {} +
    `,
    root,
  );
}

/**
 * Everything a restore must reproduce, as text: type, mode, owner, mtime
 * (to the ms, which volsnap keeps), link target, size (not for dirs),
 * content, and every xattr (ACLs and capabilities included), sorted, paths
 * as raw bytes.
 */
export async function treePrint(root: string): Promise<string> {
  const text = await sh(
    `
    cd "$1"
    find . ! -type d ! -type s -printf '%P|%y|%m|%U|%G|%T@|%l|%s\\n' | sort
    find . -type d -printf '%P|%y|%m|%U|%G|%T@\\n' | sort
    find . -type f -print0 | sort -z | xargs -0 sha256sum
    getfattr -R -h -d -m - -e hex . 2>/dev/null | awk '/^# file: /{f=substr($0,9)} /=/{print f "|" $0}' | sort
    `,
    root,
  );
  return text.replace(/\|(\d+\.\d{3})\d*\|/g, "|$1|");
}

/** 512-byte blocks allocated for `path` (stat %b). */
export async function blocks(path: string): Promise<number> {
  return Number((await sh(`stat -c %b "$1"`, path)).trim());
}
