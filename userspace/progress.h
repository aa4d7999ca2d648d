/* SPDX-License-Identifier: GPL-2.0 */
/*
 * progress.h - report the progress of a transfer on stderr: a bar with
 * bytes, rate and ETA on a terminal, a plain line every 10% otherwise
 */
#ifndef DFUCTL_PROGRESS_H
#define DFUCTL_PROGRESS_H

#include <stdint.h>

struct progress {
	const char *what;	/* "download", "verify" */
	uint64_t total;	/* bytes, 0 when unknown */
	int tty;
	int last_tenth;
	long long start_ms, last_ms;
};

/* quiet: report nothing but the final line */
void progress_start(struct progress *p, const char *what, uint64_t total, int quiet);
void progress_update(struct progress *p, uint64_t done);
/* Print the final line: bytes, time and average rate. */
void progress_end(struct progress *p, uint64_t done);

#endif
