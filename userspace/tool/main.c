// SPDX-License-Identifier: GPL-2.0
/*
 * pinio(1) - inspect and use the pinio driver from the command line.
 *
 * This file: global options, command dispatch, usage and error messages.
 * See pinio.1 for the commands and the exit codes.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

#ifndef PINIO_VERSION
#define PINIO_VERSION "unknown"
#endif

static const char usage_text[] =
"Usage: pinio [-d DEVICE] [-q] COMMAND [ARGS]\n"
"\n"
"Commands:\n"
"  info [--json] [--attach PATH]\n"
"                           ABI version, the store's kind, size, block size\n"
"                           and DMA alignment, limits, features\n"
"  stats [--json]           the driver's counters (" PINIO_STATS_DIR ")\n"
"  cp [--buffered] [--size N] [--chunk N] [--attach PATH [--no-flush]] SRC DST\n"
"                           copy between a file ('-': stdin or stdout) and the\n"
"                           device, named dev:OFFSET ('dev:' is offset 0)\n"
"  verify [--size N] [--offset N] [--chunk N] [--attach PATH]\n"
"                           write a pattern by one path (direct or buffered),\n"
"                           read it back by the other, both ways\n"
"  help                     this text\n"
"\n"
"Options (before or after the command):\n"
"  -d, --device PATH        device node (default $PINIO_DEVICE or " PINIO_DEVICE_PATH ")\n"
"  -q, --quiet              no progress bar, no throughput line\n"
"  -h, --help               this text\n"
"  -V, --version            print the version\n"
"\n"
"Attached store (info, cp, verify):\n"
"  -a, --attach PATH        use the block device or regular file PATH as the\n"
"                           store (read-only for info and for cp from it):\n"
"                           direct transfers become the device's own zero-copy\n"
"                           I/O, so offsets and sizes must be multiples of its\n"
"                           block size; cp to it ends with a flush (durable)\n"
"  --flush, --no-flush      (cp) flush at the end or not (default: flush)\n"
"\n"
"Sizes and offsets: decimal or 0x hex, with K, M, G or T (powers of 1024).\n"
"\n"
"Exit status: 0 success, 1 I/O or driver error, 2 bad usage (also an offset or\n"
"size that breaks an attached store's block size), 3 device missing, not\n"
"accessible or unable to attach a store, 4 RLIMIT_MEMLOCK too low, 5 verify\n"
"read back other data.\n";

void err_msg(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("pinio: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "pinio: %s%s", cmd ? cmd : "", cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'pinio --help'.\n", stderr);
	return EXIT_USAGE;
}

int common_option(struct tool *t, int opt, const char *arg)
{
	switch (opt) {
	case 'd':
		t->device = arg;
		return 1;
	case 'q':
		t->quiet = true;
		return 1;
	case 'h':
		fputs(usage_text, stdout);
		exit(EXIT_OK);
	case 'V':
		printf("pinio %s (ABI %d)\n", PINIO_VERSION, PINIO_ABI_VERSION);
		exit(EXIT_OK);
	}
	return 0;
}

int bad_option(const char *cmd, int opt, char **argv)
{
	if (opt == ':')
		return usage_error(cmd, "option '%s' needs an argument",
				   argv[optind - 1]);
	return usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
}

static const struct {
	const char *name;
	int (*fn)(struct tool *t, int argc, char **argv);
} commands[] = {
	{ "info", cmd_info },
	{ "stats", cmd_stats },
	{ "cp", cmd_cp },
	{ "verify", cmd_verify },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct tool t = { .device = getenv("PINIO_DEVICE") };
	size_t i;
	int c;

	if (!t.device || !*t.device)
		t.device = PINIO_DEVICE_PATH;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+" COMMON_SHORTOPTS, opts,
				NULL)) != -1) {
		if (!common_option(&t, c, optarg))
			return bad_option(NULL, c, argv);
	}
	if (optind >= argc)
		return usage_error(NULL, "no command given");
	if (!strcmp(argv[optind], "help")) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name))
			continue;
		/* The command parses its own options from its name on. */
		argc -= optind;
		argv += optind;
		optind = 0;
		return commands[i].fn(&t, argc, argv);
	}
	return usage_error(NULL, "unknown command '%s'", argv[optind]);
}
