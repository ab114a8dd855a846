/*
 * ldb.h - leveldb, opened and its errors translated in one place. leveldb reports errors
 * as malloc'd strings (its errptr convention); sys_ldb_error() is the one boundary where
 * they become -errno, so that a full disk is -ENOSPC in every layer.
 */
#ifndef SYS_LDB_H
#define SYS_LDB_H

#include <stdbool.h>
#include <stddef.h>

#include <leveldb/c.h>

/*
 * sys_ldb_error() - err (may be NULL: 0) as -errno: -ENOSPC (disk full), -EDQUOT (quota),
 * -EBUSY (its LOCK file is held: the database is open elsewhere), -ENOENT (no database
 * where one must be), -EIO for everything else, corruption included. Frees err. When detail is not NULL, the text is copied there
 * (NUL-terminated, cut to size) before it is freed, for the caller's report.
 */
int sys_ldb_error(char *err, char *detail, size_t size);

/* An open database and the option objects it needs, freed together. */
struct sys_ldb {
	leveldb_t *db;
	leveldb_options_t *opts;
	leveldb_readoptions_t *ro;
	leveldb_writeoptions_t *wo;	 /* sync = true */
	leveldb_writeoptions_t *wo_lazy; /* sync = false */
};

/* How to open it: 0 fields take leveldb's defaults. */
struct sys_ldb_config {
	bool create;	     /* create_if_missing */
	bool paranoid;	     /* paranoid_checks, and ro verifies checksums */
	size_t write_buffer; /* bytes */
	int max_open_files;
};

/*
 * sys_ldb_open() - open (or create) the database in dir. 0, or sys_ldb_error()'s codes
 * (the text in detail, as there), -ENOMEM. On error *ret is left zeroed.
 */
int sys_ldb_open(const char *dir, const struct sys_ldb_config *cfg, struct sys_ldb *ret,
		 char *detail, size_t size);

/* Closes the database and frees everything; NULL-safe, idempotent. */
void sys_ldb_close(struct sys_ldb *l);

#endif
