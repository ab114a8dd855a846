/*
 * pora_rows.h - the rows of tests/vectors/pora.tsv computed with codec/pora.h, for the
 * unit test (against the committed file) and for tests/compat/poratool (against the
 * JavaScript reference). The format is tests/compat/pora_ref.js's: a kind, its inputs,
 * its outputs, tab-separated; "-" for an output that does not exist.
 */
#ifndef ZGFS_TESTS_PORA_ROWS_H
#define ZGFS_TESTS_PORA_ROWS_H

#include <stddef.h>

/* Longest row: a seal row holds two 4 KiB units in hex. */
#define PORA_ROW_MAX (20 * 1024)

/*
 * pora_row() - read the kind and inputs of line (any outputs after them are ignored) and
 * write the whole row, outputs computed here, to out (cap bytes, NUL-terminated, no
 * newline). line is modified. Returns 0; -EINVAL for a malformed line or unknown kind;
 * -E2BIG when out is too small.
 */
int pora_row(char *line, char *out, size_t cap);

#endif
