/* SPDX-License-Identifier: GPL-2.0 */
/*
 * clock.h - the one clock dfuctl measures waits and rates with
 */
#ifndef DFUCTL_CLOCK_H
#define DFUCTL_CLOCK_H

#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC: never jumps with the wall clock. */
static inline long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

#endif
