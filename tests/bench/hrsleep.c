// SPDX-License-Identifier: GPL-2.0
/*
 * hrsleep MS [N]: how late an hrtimer sleep of MS milliseconds wakes up in
 * this machine. N times (default 500): clock_nanosleep() on CLOCK_MONOTONIC
 * until an absolute time MS ms from now, as dfu.ko waits a bwPollTimeout
 * (schedule_hrtimeout_range() to an absolute time, 50 us of slack: the
 * timer slack of this process is set to the same).
 * Prints "hrtimer MS median_us=M p90_us=P max_us=X n=N": the overshoot
 * beyond MS ms, from the wanted time to the time this process runs again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	long ms, n, i;
	long long *late;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: hrsleep MS [N]\n");
		return 64;
	}
	ms = strtol(argv[1], NULL, 10);
	n = argc > 2 ? strtol(argv[2], NULL, 10) : 500;
	if (ms < 0 || n < 1) {
		fprintf(stderr, "hrsleep: MS >= 0 and N >= 1\n");
		return 64;
	}
	late = calloc(n, sizeof(*late));
	if (!late)
		return 71;
	prctl(PR_SET_TIMERSLACK, 50000UL, 0, 0, 0);
	for (i = 0; i < n; i++) {
		long long until = now_ns() + ms * 1000000LL;
		struct timespec ts = { until / 1000000000LL, until % 1000000000LL };

		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))
			;
		late[i] = now_ns() - until;
	}
	qsort(late, n, sizeof(*late), cmp_ll);
	printf("hrtimer %ld median_us=%lld p90_us=%lld max_us=%lld n=%ld\n", ms,
	       late[(n - 1) / 2] / 1000, late[n * 9 / 10 < n ? n * 9 / 10 : n - 1] / 1000,
	       late[n - 1] / 1000, n);
	free(late);
	return 0;
}
