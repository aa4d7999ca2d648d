// SPDX-License-Identifier: GPL-2.0
/*
 * progress.c - transfer progress on stderr
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "progress.h"

#define BAR_WIDTH	30
#define REDRAW_MS	100

void progress_start(struct progress *p, const char *what, uint64_t total, int quiet)
{
	p->what = what;
	p->total = total;
	p->tty = quiet ? -1 : isatty(STDERR_FILENO);
	p->last_tenth = 0;
	p->start_ms = p->last_ms = now_ms();
}

/* bytes per second so far, 0 until there is something to divide */
static double rate(const struct progress *p, uint64_t done, long long now)
{
	return now > p->start_ms ? done * 1000.0 / (now - p->start_ms) : 0;
}

void progress_update(struct progress *p, uint64_t done)
{
	long long now = now_ms();
	double r = rate(p, done, now);
	int pct = p->total ? (int)((double)done * 100 / p->total) : 100;
	int fill = pct * BAR_WIDTH / 100, i;

	if (p->tty < 0)
		return;
	if (!p->tty) {
		if (pct / 10 > p->last_tenth) {
			p->last_tenth = pct / 10;
			fprintf(stderr, "%s: %d%%, %" PRIu64 " of %" PRIu64 " bytes\n", p->what, pct, done, p->total);
		}
		return;
	}
	if (now - p->last_ms < REDRAW_MS && done < p->total)
		return;
	p->last_ms = now;
	fprintf(stderr, "\r%s [", p->what);
	for (i = 0; i < BAR_WIDTH; i++)
		fputc(i < fill ? '#' : ' ', stderr);
	fprintf(stderr, "] %3d%% %" PRIu64 "/%" PRIu64 " KiB %.0f KiB/s", pct, done / 1024, p->total / 1024,
		r / 1024);
	if (r > 0 && done < p->total)
		fprintf(stderr, " ETA %.0f s ", (p->total - done) / r);
	else
		fputs("         ", stderr);
}

void progress_end(struct progress *p, uint64_t done)
{
	long long now = now_ms();

	if (p->tty > 0)
		fputc('\n', stderr);
	fprintf(stderr, "%s: %" PRIu64 " bytes in %.2f s (%.0f KiB/s)\n", p->what, done,
		(now - p->start_ms) / 1000.0, rate(p, done, now) / 1024);
}
