// SPDX-License-Identifier: GPL-2.0
/*
 * pinio stats [--json]: every counter in /sys/class/misc/pinio/stats/, in
 * name order, as aligned text (with sizes for the byte and page counters)
 * or as one JSON object of numbers.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

#define MAX_STATS	64
#define NAME_LEN	64

struct stat_val {
	char name[NAME_LEN];
	int64_t val;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct stat_val *)a)->name,
		      ((const struct stat_val *)b)->name);
}

/* Names of the counters, sorted: how many, or -errno. */
static int list_stats(struct stat_val *s, int max)
{
	struct dirent *e;
	int n = 0;
	DIR *dir;

	dir = opendir(PINIO_STATS_DIR);
	if (!dir)
		return -errno;
	while ((e = readdir(dir)) && n < max) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= NAME_LEN)
			continue;
		strcpy(s[n++].name, e->d_name);
	}
	closedir(dir);
	qsort(s, n, sizeof(*s), by_name);
	return n;
}

static void print_text(const struct stat_val *s, int n)
{
	long ps = sysconf(_SC_PAGESIZE);
	char sz[32];
	int i;

	for (i = 0; i < n; i++) {
		printf("%-22s %12lld", s[i].name, (long long)s[i].val);
		if (strstr(s[i].name, "bytes"))
			printf("  (%s)", fmt_bytes(s[i].val, sz, sizeof(sz)));
		else if (strstr(s[i].name, "pages"))
			printf("  (%s)", fmt_bytes(s[i].val * ps, sz, sizeof(sz)));
		putchar('\n');
	}
}

static void print_json(const struct stat_val *s, int n)
{
	int i;

	putchar('{');
	for (i = 0; i < n; i++) {
		printf("%s", i ? ", " : "");
		json_string(stdout, s[i].name);
		printf(": %lld", (long long)s[i].val);
	}
	printf("}\n");
}

int cmd_stats(struct tool *t, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct stat_val s[MAX_STATS];
	bool json = false;
	int c, i, n;

	while ((c = getopt_long(argc, argv, COMMON_SHORTOPTS "j", opts,
				NULL)) != -1) {
		if (common_option(t, c, optarg))
			continue;
		if (c != 'j')
			return bad_option("stats", c, argv);
		json = true;
	}
	if (optind < argc)
		return usage_error("stats", "unexpected argument '%s'",
				   argv[optind]);
	n = list_stats(s, MAX_STATS);
	if (n == -ENOENT) {
		err_msg("no counters in %s: is the module loaded? (sudo modprobe pinio)",
			PINIO_STATS_DIR);
		return EXIT_NODEV;
	}
	if (n < 0) {
		err_msg("cannot list %s: %s", PINIO_STATS_DIR,
			pinio_strerror(n));
		return n == -EACCES ? EXIT_NODEV : EXIT_IO;
	}
	for (i = 0; i < n; i++) {
		s[i].val = pinio_stat(s[i].name);
		if (s[i].val < 0) {
			err_msg("cannot read %s%s: %s", PINIO_STATS_DIR,
				s[i].name, pinio_strerror((int)s[i].val));
			return EXIT_IO;
		}
	}
	if (json)
		print_json(s, n);
	else
		print_text(s, n);
	return EXIT_OK;
}
