/*
 * flat_dir.h - removing a test's scratch directory that holds files only (a leveldb
 * directory is flat). Used by the chain tests.
 */
#ifndef ZGFS_TESTS_FLAT_DIR_H
#define ZGFS_TESTS_FLAT_DIR_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Unlink every file of d, then d itself; quietly does what it can. */
__attribute__((unused)) static void remove_dir(const char *d)
{
	DIR *dh = opendir(d);
	struct dirent *e;
	char path[512];

	if (!dh)
		return;
	while ((e = readdir(dh))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", d, e->d_name);
		unlink(path);
	}
	closedir(dh);
	rmdir(d);
}

#endif
