/*
 * The reaper: after a daemon's death without unmount (SIGKILL, a crash), the dead mount is
 * detached within FS_REAPER_WAIT_MS, so that the mountpoint is usable again (reaper.c
 * explains why fusermount3's auto_unmount alone is not enough).
 */
#ifndef FS_REAPER_H
#define FS_REAPER_H

/*
 * fs_reaper_start() - fork the reaper for the volume just mounted on mountpoint (an
 * absolute path, as in /proc/self/mountinfo). *ret_fd is the daemon's end of a pipe: the
 * reaper acts once every copy of it is closed, which the daemon's exit does; keep it open
 * until then. Returns 0, -ENOENT (nothing mounted there), or -errno of pipe/fork.
 */
int fs_reaper_start(const char *mountpoint, int *ret_fd);

#endif
