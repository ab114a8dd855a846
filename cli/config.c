/*
 * The config file (docs/CONFIG.md): defaults for the options of `zgfs mount` and
 * `zgfs node`, as `key = value` lines under [mount] and [node]. Each key is a long option
 * of that command (`options` is mount's -o); a flag takes true or false. The file's
 * options go before the command line's, so the command line wins where an option is
 * given twice. An unknown section or key, or a value an option does not take, is an
 * error naming the file and the line; nothing runs then.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define CONFIG_LINE_MAX 4096
#define CONFIG_ARGS_MAX 256

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = 0;
	return s;
}

static const struct option *find(const struct option *opts, const char *key)
{
	for (; opts->name; opts++)
		if (strcmp(opts->name, key) == 0)
			return opts;
	return NULL;
}

/* The config file to read: --config FILE (taken out of argv), else the default one when it
 * exists. Returns 1 with the path, 0 for none, -1 after a message. */
static int which_file(int *argc, char **argv, char *path, size_t size)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") == 0 || strncmp(argv[i], "--config=", 9) == 0) {
			const char *v = argv[i][8] == '=' ? argv[i] + 9
					: i + 1 < *argc	  ? argv[i + 1]
							  : NULL;
			int drop = argv[i][8] == '=' ? 1 : 2;

			if (!v || !*v) {
				cli_error("--config takes a file");
				return -1;
			}
			snprintf(path, size, "%s", v);
			memmove(argv + i, argv + i + drop,
				(size_t)(*argc - i - drop + 1) * sizeof(*argv));
			*argc -= drop;
			return 1;
		}
	}
	if (xdg && *xdg)
		snprintf(path, size, "%s/zgfs/config", xdg);
	else if (home && *home)
		snprintf(path, size, "%s/.config/zgfs/config", home);
	else
		return 0;
	return access(path, F_OK) == 0 ? 1 : 0;
}

/* One `key = value` of the command's section into args. 0, or -1 after a message. */
static int one(const char *file, unsigned line, const char *section, const struct option *opts,
	       char *key, char *value, char **args, int *nargs)
{
	const struct option *o;
	char flag[128];

	if (*nargs + 2 > CONFIG_ARGS_MAX) {
		cli_error("%s:%u: more than %d options", file, line, CONFIG_ARGS_MAX / 2);
		return -1;
	}
	if (strcmp(section, "mount") == 0 && strcmp(key, "options") == 0) {
		args[(*nargs)++] = strdup("-o");
		args[(*nargs)++] = strdup(value);
		return 0;
	}
	o = find(opts, key);
	if (!o) {
		cli_error("%s:%u: [%s] has no key '%s' (zgfs %s --help lists the options)", file,
			  line, section, key, section);
		return -1;
	}
	snprintf(flag, sizeof(flag), "--%s", key);
	if (o->has_arg == no_argument) {
		if (strcmp(value, "false") == 0)
			return 0;
		if (strcmp(value, "true") != 0) {
			cli_error("%s:%u: %s is true or false, not '%s'", file, line, key, value);
			return -1;
		}
		args[(*nargs)++] = strdup(flag);
		return 0;
	}
	if (!*value) {
		cli_error("%s:%u: %s needs a value", file, line, key);
		return -1;
	}
	args[(*nargs)++] = strdup(flag);
	args[(*nargs)++] = strdup(value);
	return 0;
}

int cli_config_apply(const char *command, const struct option *opts, int *argc, char ***argv)
{
	static char *args[CONFIG_ARGS_MAX + 2];
	char path[PATH_MAX], buf[CONFIG_LINE_MAX], section[32] = "";
	int nargs = 0, r;
	unsigned line = 0;
	char **out;
	FILE *f;

	r = which_file(argc, *argv, path, sizeof(path));
	if (r <= 0)
		return r;
	f = fopen(path, "r");
	if (!f) {
		cli_error("config %s: %s", path, strerror(errno));
		return -1;
	}
	r = 0;
	while (r == 0 && fgets(buf, sizeof(buf), f)) {
		char *s = trim(buf), *eq;

		line++;
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');

			if (!end || end[1] ||
			    (strcmp(s, "[mount]") != 0 && strcmp(s, "[node]") != 0)) {
				cli_error("%s:%u: '%s' is not a section ([mount] or [node])", path,
					  line, s);
				r = -1;
			} else {
				snprintf(section, sizeof(section), "%.*s", (int)(end - s - 1),
					 s + 1);
			}
			continue;
		}
		eq = strchr(s, '=');
		if (!eq || !*section) {
			cli_error("%s:%u: expected 'key = value' under [mount] or [node]", path,
				  line);
			r = -1;
			continue;
		}
		*eq = 0;
		if (strcmp(section, command) == 0)
			r = one(path, line, section, opts, trim(s), trim(eq + 1), args, &nargs);
	}
	fclose(f);
	if (r < 0)
		return -1;
	if (nargs == 0)
		return 0;
	out = calloc((size_t)(*argc + nargs + 1), sizeof(*out));
	if (!out)
		return -1;
	out[0] = (*argv)[0];
	memcpy(out + 1, args, (size_t)nargs * sizeof(*out));
	memcpy(out + 1 + nargs, *argv + 1, (size_t)*argc * sizeof(*out)); /* and the NULL */
	*argc += nargs;
	*argv = out;
	return 0;
}
