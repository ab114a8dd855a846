/*
 * cli.h - the zgfs command line: one binary, one function per command.
 *
 * Each command takes argc/argv starting at its own name, prints its results to stdout and
 * its errors to stderr as "zgfs: ...", and returns the process exit status (0 success,
 * 1 failure, 2 usage error).
 */
#ifndef ZGFS_CLI_H
#define ZGFS_CLI_H

#include <stdbool.h>
#include <stdio.h>

struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis; /* one line, shown by zgfs --help */
	const char *usage;    /* full text, shown by zgfs COMMAND --help */
};

int cmd_root(int argc, char **argv);
int cmd_proof(int argc, char **argv);
int cmd_mount(int argc, char **argv);
/* Prints "zgfs: " and the message to stderr. */
__attribute__((format(printf, 1, 2))) void cli_error(const char *fmt, ...);

/* True when argv holds -h or --help (before a "--"). */
bool cli_wants_help(int argc, char **argv);

/* Prints the command's usage to f. */
void cli_usage(FILE *f, const char *command);

/* Parses a decimal unsigned number with no sign, spaces or trailing text. 0 or -EINVAL. */
int cli_parse_u64(const char *s, unsigned long long *ret);

#endif
