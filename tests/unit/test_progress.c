// SPDX-License-Identifier: GPL-2.0
/*
 * test_progress.c - unit tests of userspace/progress.c: a bar with rate and
 * ETA on a terminal (a pseudo-terminal here), a line every 10% in a pipe
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pty.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "progress.h"

/* stderr goes to fd until restore_stderr() */
static int saved_stderr = -1;

static void redirect_stderr(int fd)
{
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
}

static void restore_stderr(void)
{
	assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
	close(saved_stderr);
}

/* Everything waiting on fd (non-blocking), as a string. */
static char *drain(int fd)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	ssize_t n;

	assert_non_null(buf);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	return buf;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static unsigned int count(const char *s, const char *what)
{
	unsigned int n = 0;

	while ((s = strstr(s, what))) {
		n++;
		s += strlen(what);
	}
	return n;
}

/* Not a terminal: one line per 10%, then the result. */
static void plain_lines(void **state)
{
	struct progress p;
	int fds[2];
	size_t done;
	char *out;

	(void)state;
	assert_int_equal(0, pipe(fds));
	redirect_stderr(fds[1]);
	progress_start(&p, "download", 1000, 0);
	for (done = 0; done <= 1000; done += 25)
		progress_update(&p, done);
	progress_end(&p, 1000);
	restore_stderr();
	close(fds[1]);
	out = drain(fds[0]);
	close(fds[0]);
	assert_int_equal(10, count(out, "%, "));	/* 10%, 20%... 100% */
	assert_non_null(strstr(out, "download: 10%, 100 of 1000 bytes\n"));
	assert_non_null(strstr(out, "download: 100%, 1000 of 1000 bytes\n"));
	assert_non_null(strstr(out, "download: 1000 bytes in "));
	assert_null(strchr(out, '\r'));
	free(out);
}

/* A terminal: a redrawn bar with percent, KiB, rate and time left. */
static void terminal_bar(void **state)
{
	struct progress p;
	int master, slave;
	char *out;

	(void)state;
	assert_int_equal(0, openpty(&master, &slave, NULL, NULL, NULL));
	redirect_stderr(slave);
	progress_start(&p, "download", 400 * 1024, 0);
	sleep_ms(120);
	progress_update(&p, 100 * 1024);
	progress_update(&p, 101 * 1024);	/* too soon to redraw */
	sleep_ms(120);
	progress_update(&p, 200 * 1024);
	progress_update(&p, 400 * 1024);	/* the end is always drawn */
	progress_end(&p, 400 * 1024);
	restore_stderr();
	close(slave);
	out = drain(master);
	close(master);
	assert_int_equal(3, count(out, "\rdownload ["));
	assert_non_null(strstr(out, "[#######                       ]  25% 100/400 KiB"));
	assert_non_null(strstr(out, "[##############################] 100% 400/400 KiB"));
	assert_int_equal(2, count(out, " ETA "));
	assert_non_null(strstr(out, " KiB/s"));
	assert_non_null(strstr(out, "download: 409600 bytes in "));
	free(out);
}

/* quiet: only the result. */
static void quiet(void **state)
{
	struct progress p;
	int fds[2];
	char *out;

	(void)state;
	assert_int_equal(0, pipe(fds));
	redirect_stderr(fds[1]);
	progress_start(&p, "verify", 1000, 1);
	progress_update(&p, 500);
	progress_update(&p, 1000);
	progress_end(&p, 1000);
	restore_stderr();
	close(fds[1]);
	out = drain(fds[0]);
	close(fds[0]);
	assert_int_equal(1, count(out, "verify"));
	assert_non_null(strstr(out, "verify: 1000 bytes in "));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plain_lines),
		cmocka_unit_test(terminal_bar),
		cmocka_unit_test(quiet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
