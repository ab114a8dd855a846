/*
 * The reaper: a small process, forked once the volume is mounted, that detaches the mount
 * if the daemon dies without unmounting it (SIGKILL, a crash), so that the mountpoint is
 * an empty directory again instead of "Transport endpoint is not connected".
 *
 * fusermount3's auto_unmount (also asked for) does the same, but loses a race under load:
 * it looks as soon as the daemon's socket to it closes, which the kernel can do before it
 * closes the daemon's /dev/fuse descriptor; its open() of the mountpoint then waits for
 * the connection and fails with ECONNABORTED rather than ENOTCONN, and it leaves the dead
 * mount in place. The reaper waits for the same end (its pipe from the daemon reaches EOF)
 * and then keeps looking for a while, taking either error as "dead".
 *
 * It forks from a process with threads, so the child does only async-signal-safe things
 * (raw reads of /proc/self/mountinfo into a static buffer, open, umount2, execvp) and
 * recognizes the mount by its device number, which no later mount on the same directory
 * has while this one exists.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "fs/limits.h"
#include "fs/reaper.h"

static char info[256 * 1024];

/* Reads /proc/self/mountinfo into info; returns its length, or -1. */
static ssize_t read_mountinfo(void)
{
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (len < sizeof(info) - 1 && (n = read(fd, info + len, sizeof(info) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	info[len] = '\0';
	return (ssize_t)len;
}

/* The third field of a mountinfo line (major:minor), or NULL. */
static const char *dev_field(const char *line, size_t *ret_len)
{
	const char *p = line;

	for (int f = 0; f < 2; f++) {
		p = strchr(p, ' ');
		if (!p)
			return NULL;
		p++;
	}
	*ret_len = strcspn(p, " \n");
	return p;
}

/* Whether a mount with this device ("major:minor") exists. true when unsure. */
static bool mounted(const char *dev)
{
	size_t dlen = strlen(dev);

	if (read_mountinfo() < 0)
		return true;
	for (const char *line = info; *line;) {
		const char *end = strchr(line, '\n'), *d;
		size_t len;

		if ((d = dev_field(line, &len)) && len == dlen && memcmp(d, dev, dlen) == 0 &&
		    (!end || d < end))
			return true;
		if (!end)
			break;
		line = end + 1;
	}
	return false;
}

/* Unescapes a mountinfo path field (octal escapes) into out; false if it does not fit. */
static bool unescape(const char *p, size_t len, char *out, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < len; i++) {
		char c = p[i];

		if (c == '\\' && i + 3 < len && p[i + 1] >= '0' && p[i + 1] <= '3') {
			c = (char)((p[i + 1] - '0') * 64 + (p[i + 2] - '0') * 8 + (p[i + 3] - '0'));
			i += 3;
		}
		if (k + 1 >= cap)
			return false;
		out[k++] = c;
	}
	out[k] = '\0';
	return true;
}

/* The device ("major:minor") of the topmost mount on mountpoint; 0 or -errno. */
static int mount_dev(const char *mountpoint, char *ret_dev, size_t cap)
{
	char path[4096];
	bool found = false;

	if (read_mountinfo() < 0)
		return -errno;
	for (const char *line = info; *line;) {
		const char *end = strchr(line, '\n'), *d, *m;
		size_t len, mlen;

		d = dev_field(line, &len);
		m = d ? strchr(d, ' ') : NULL;    /* root */
		m = m ? strchr(m + 1, ' ') : NULL; /* mount point */
		if (m && (!end || m < end)) {
			mlen = strcspn(m + 1, " \n");
			if (unescape(m + 1, mlen, path, sizeof(path)) &&
			    strcmp(path, mountpoint) == 0 && len < cap) {
				memcpy(ret_dev, d, len);
				ret_dev[len] = '\0';
				found = true;
			}
		}
		if (!end)
			break;
		line = end + 1;
	}
	return found ? 0 : -ENOENT;
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* The reaper's life: wait for EOF on fd, then detach the mount if it is there and dead. */
static void reap(int fd, const char *mountpoint, const char *dev)
{
	char c;

	while (read(fd, &c, 1) != 0 && errno == EINTR)
		;
	for (long waited = 0; waited < FS_REAPER_WAIT_MS; waited += 20) {
		int d;

		if (!mounted(dev))
			return; /* unmounted cleanly, or by fusermount3 */
		d = open(mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (d >= 0) {
			close(d); /* not dead yet: the kernel still holds the connection */
		} else if (errno == ENOTCONN || errno == ECONNABORTED) {
			if (geteuid() == 0) {
				umount2(mountpoint, MNT_DETACH);
			} else {
				char *argv[] = {"fusermount3", "-u", "-z", "-q", (char *)mountpoint,
						NULL};

				execvp(argv[0], argv);
			}
			return;
		}
		pause_ms(20);
	}
}

int fs_reaper_start(const char *mountpoint, int *ret_fd)
{
	char dev[64];
	int p[2], r;
	pid_t pid;

	r = mount_dev(mountpoint, dev, sizeof(dev));
	if (r < 0)
		return r;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		/* Hold nothing of the daemon's: above all not its /dev/fuse descriptor. */
		int null = open("/dev/null", O_RDWR);

		prctl(PR_SET_NAME, "zgfs-reaper", 0, 0, 0);
		if (null >= 0 && dup2(null, 0) == 0 && dup2(null, 1) == 1 && dup2(null, 2) == 2 &&
		    dup2(p[0], 3) == 3) {
			close_range(4, ~0U, 0);
			if (chdir("/") == 0)
				reap(3, mountpoint, dev);
		}
		_exit(0);
	}
	close(p[0]);
	*ret_fd = p[1]; /* closed by the daemon's end, whichever it is */
	return 0;
}
