// SPDX-License-Identifier: GPL-2.0
/*
 * pinio(1): the progress bar, one line on stderr redrawn at most ten times a
 * second, and only when stderr is a terminal (never in a log or a pipe).
 */
#include <unistd.h>

#include "tool.h"

#define BAR_WIDTH	30

void progress_start(struct progress *p, const struct tool *t,
		    const char *label, uint64_t total)
{
	p->on = !t->quiet && isatty(STDERR_FILENO);
	p->label = label;
	p->total = total;
	p->start = now_sec();
	p->last = 0;
}

void progress_update(struct progress *p, uint64_t done)
{
	char a[32], b[32], bar[BAR_WIDTH + 1];
	double t = now_sec(), frac;
	int i;

	if (!p->on || t - p->last < 0.1)
		return;
	p->last = t;
	fmt_bytes(done, a, sizeof(a));
	if (!p->total) {
		fprintf(stderr, "\r%s: %s, %.1f MiB/s\033[K", p->label, a,
			rate_mib(done, t - p->start));
		return;
	}
	frac = done >= p->total ? 1 : (double)done / p->total;
	for (i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < (int)(frac * BAR_WIDTH) ? '#' : ' ';
	bar[BAR_WIDTH] = '\0';
	fprintf(stderr, "\r%s [%s] %3d%% %s of %s, %.1f MiB/s\033[K",
		p->label, bar, (int)(frac * 100), a,
		fmt_bytes(p->total, b, sizeof(b)),
		rate_mib(done, t - p->start));
}

/* Erase the bar, so what follows starts on a clean line. */
void progress_end(struct progress *p)
{
	if (p->on && p->last)
		fprintf(stderr, "\r\033[K");
}
