/**
 * A volume's root directory, opened once for the whole walk: it must be a
 * real directory (never a symlink); its owner and mode go into the manifest.
 */
import { AT_FDCWD, volumeFs } from "./volume_fs.ts";

export interface RootInfo {
  uid: number;
  gid: number;
  mode: number;
  mtimeMs: number;
}

/** Opens the volume root (must be a real directory) and reads its owner and mode. */
export function openVolumeRoot(hostPath: string): { fd: number; root: RootInfo } {
  const vfs = volumeFs();
  const fd = vfs.openDirAt(AT_FDCWD, hostPath);
  try {
    const st = vfs.fstat(fd);
    return { fd, root: { uid: st.uid, gid: st.gid, mode: st.mode, mtimeMs: st.mtimeMs } };
  } catch (err) {
    vfs.close(fd);
    throw err;
  }
}

/** Closes a root fd from openVolumeRoot that was not handed to packVolume. */
export function closeVolumeRoot(fd: number): void {
  try {
    volumeFs().close(fd);
  } catch { /* already closed */ }
}
