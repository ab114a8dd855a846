/*
 * leveldb's opening and error strings. The strings come from leveldb's Status::ToString()
 * over the POSIX env: "IO error: <path>: No space left on device" for ENOSPC, "...: Disk
 * quota exceeded", and for the LOCK file "lock <path>/LOCK: already held by process" (its
 * own table of locks in this process) or "...: Resource temporarily unavailable"
 * (fcntl's EAGAIN: another process); "No such file or directory" when a database that
 * must exist does not.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sys/ldb.h"

int sys_ldb_error(char *err, char *detail, size_t size)
{
	int r = -EIO;

	if (!err)
		return 0;
	if (strstr(err, "No space left"))
		r = -ENOSPC;
	else if (strstr(err, "Disk quota"))
		r = -EDQUOT;
	else if (strstr(err, "already held by process") ||
		 strstr(err, "Resource temporarily unavailable") || strstr(err, "/LOCK:"))
		r = -EBUSY;
	else if (strstr(err, "No such file or directory"))
		r = -ENOENT;
	if (detail && size)
		snprintf(detail, size, "%s", err);
	leveldb_free(err);
	return r;
}

void sys_ldb_close(struct sys_ldb *l)
{
	if (!l)
		return;
	if (l->db)
		leveldb_close(l->db);
	if (l->opts)
		leveldb_options_destroy(l->opts);
	if (l->ro)
		leveldb_readoptions_destroy(l->ro);
	if (l->wo)
		leveldb_writeoptions_destroy(l->wo);
	if (l->wo_lazy)
		leveldb_writeoptions_destroy(l->wo_lazy);
	*l = (struct sys_ldb){0};
}

int sys_ldb_open(const char *dir, const struct sys_ldb_config *cfg, struct sys_ldb *ret,
		 char *detail, size_t size)
{
	struct sys_ldb l = {0};
	char *err = NULL;

	*ret = (struct sys_ldb){0};
	l.opts = leveldb_options_create();
	l.ro = leveldb_readoptions_create();
	l.wo = leveldb_writeoptions_create();
	l.wo_lazy = leveldb_writeoptions_create();
	if (!l.opts || !l.ro || !l.wo || !l.wo_lazy) {
		sys_ldb_close(&l);
		return -ENOMEM;
	}
	leveldb_options_set_create_if_missing(l.opts, cfg && cfg->create);
	leveldb_options_set_paranoid_checks(l.opts, cfg && cfg->paranoid);
	leveldb_readoptions_set_verify_checksums(l.ro, cfg && cfg->paranoid);
	if (cfg && cfg->write_buffer)
		leveldb_options_set_write_buffer_size(l.opts, cfg->write_buffer);
	if (cfg && cfg->max_open_files)
		leveldb_options_set_max_open_files(l.opts, cfg->max_open_files);
	leveldb_writeoptions_set_sync(l.wo, 1);
	leveldb_writeoptions_set_sync(l.wo_lazy, 0);
	l.db = leveldb_open(l.opts, dir, &err);
	if (!l.db) {
		int r = err ? sys_ldb_error(err, detail, size) : -EIO;

		sys_ldb_close(&l);
		return r;
	}
	*ret = l;
	return 0;
}
