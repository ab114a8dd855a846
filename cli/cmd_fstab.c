/*
 * mount.fuse.zgfs SOURCE MOUNTPOINT [-o OPTS] [-n] [-s] [-f] [-v]: the helper util-linux's
 * mount(8) runs for `mount -t fuse.zgfs` and for /etc/fstab lines of type fuse.zgfs
 * (installed by setup.sh as /usr/sbin/mount.fuse.zgfs, a link to the zgfs binary, which
 * recognises the name it was run by). It turns mount(8)'s way of asking into `zgfs mount`:
 *
 *   SOURCE            a data directory (--data), or a node's URL (--node)
 *   -o node=URL       the node, whatever SOURCE says (then SOURCE may be "zgfs")
 *   -o volume=NAME    --volume NAME;  -o writeback: --writeback
 *   -o defaults, auto, noauto, nofail, _netdev, user, users, nouser, x-*, comment=*
 *                     are mount(8)'s and systemd's own: not passed on
 *   every other option is passed to `zgfs mount -o`, which refuses the unknown by name.
 *
 * -n (no mtab), -s (sloppy) and -v are accepted; -f (fake) checks the options and mounts
 * nothing.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define HELPER_OPTS_MAX 4096

/* Options that mean something to mount(8) or systemd and nothing to zgfs. */
static bool mount_own(const char *opt)
{
	static const char *const own[] = {"defaults", "auto", "noauto", "nofail", "_netdev",
					  "user",     "users", "nouser", "owner",  "group"};

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (strcmp(opt, own[i]) == 0)
			return true;
	return strncmp(opt, "x-", 2) == 0 || strncmp(opt, "comment=", 8) == 0;
}

/* Appends ",s" (or s to an empty list) to list; false when it does not fit. */
static bool append(char *list, size_t size, const char *s)
{
	size_t len = strlen(list);
	int w = snprintf(list + len, size - len, "%s%s", len ? "," : "", s);

	return w >= 0 && (size_t)w < size - len;
}

static bool is_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

int cli_mount_helper(int argc, char **argv)
{
	static char opts[HELPER_OPTS_MAX], pass[HELPER_OPTS_MAX];
	const char *source = NULL, *mnt = NULL, *node = NULL, *volume = NULL;
	char *args[16];
	bool writeback = false, fake = false;
	int n = 0;

	opts[0] = pass[0] = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			if (!append(opts, sizeof(opts), argv[++i])) {
				cli_error("mount.fuse.zgfs: options too long");
				return 1;
			}
		} else if (strcmp(argv[i], "-f") == 0) {
			fake = true;
		} else if (strcmp(argv[i], "-n") == 0 || strcmp(argv[i], "-s") == 0 ||
			   strcmp(argv[i], "-v") == 0) {
			continue;
		} else if (argv[i][0] == '-') {
			cli_error("mount.fuse.zgfs: unknown flag %s", argv[i]);
			return 1;
		} else if (!source) {
			source = argv[i];
		} else if (!mnt) {
			mnt = argv[i];
		} else {
			cli_error("mount.fuse.zgfs: more than SOURCE and MOUNTPOINT given");
			return 1;
		}
	}
	if (!source || !mnt) {
		cli_error("usage: mount.fuse.zgfs DATA_DIR|URL MOUNTPOINT [-o OPTS] "
			  "(or mount -t fuse.zgfs DATA_DIR MOUNTPOINT)");
		return 1;
	}
	for (char *save = NULL, *opt = strtok_r(opts, ",", &save); opt;
	     opt = strtok_r(NULL, ",", &save)) {
		if (mount_own(opt))
			continue;
		if (strncmp(opt, "node=", 5) == 0) {
			node = opt + 5;
		} else if (strncmp(opt, "volume=", 7) == 0) {
			volume = opt + 7;
		} else if (strcmp(opt, "writeback") == 0) {
			writeback = true;
		} else {
			(void)append(pass, sizeof(pass), opt); /* pass is as large as opts */
		}
	}
	if (!node && is_url(source))
		node = source;
	args[n++] = "mount";
	args[n++] = node ? "--node" : "--data";
	args[n++] = (char *)(node ? node : source);
	if (volume) {
		args[n++] = "--volume";
		args[n++] = (char *)volume;
	}
	if (writeback)
		args[n++] = "--writeback";
	if (pass[0]) {
		args[n++] = "-o";
		args[n++] = pass;
	}
	args[n++] = (char *)mnt;
	args[n] = NULL;
	if (fake) {
		printf("zgfs");
		for (int i = 0; i < n; i++)
			printf(" %s", args[i]);
		printf("\n");
		return 0;
	}
	return cmd_mount(n, args);
}
