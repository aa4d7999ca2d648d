/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fleet.h - one job per device, in parallel: dfuctl flash --all and
 * dfuctl upload --all
 *
 * Each job runs in a child process of its own (fork), through the same
 * code as the single-device command, so that one device's failure, unplug
 * or hang never stops the others: each has its own file descriptors, its
 * own port lock and its own errors. The parent reads each child's stderr
 * and stdout through a pipe and repeats every line after "dfuctl CMD:
 * DEVICE: ", so that each message names its device; the child reports its
 * progress into memory shared with the parent (fleet_progress()). The
 * parent shows one progress line per device on a terminal, a line when a
 * device starts and ends otherwise, one JSON object per device on stdout
 * with --json, and a summary that names every device that failed.
 */
#ifndef DFUCTL_FLEET_H
#define DFUCTL_FLEET_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "device.h"

struct fleet_job {
	struct dfu_dev_desc dev;	/* the device, as dev_list() saw it */
	char file[PATH_MAX];		/* upload --all: the backup; "" otherwise */
	/* set by fleet_run() */
	int exit;			/* sysexits code of the job */
	int state;			/* FLEET_* */
	pid_t pid;
	long long start_ms, end_ms;
	uint64_t bytes, total;		/* of the download or upload */
	long long xfer_ms;		/* how long it took */
	char line[4096];		/* the child's output, up to a newline */
	size_t line_len;
	char **msgs;			/* its lines, "dfuctl CMD: " taken off */
	size_t n_msgs;
	int out_fd;			/* read end of the child's stdout/stderr */
};

/* fleet_job.state */
enum { FLEET_QUEUED, FLEET_RUNNING, FLEET_DONE };

struct fleet_opts {
	int jobs;		/* at most this many at once; 0: all */
	int json;		/* one JSON object per device on stdout */
	int quiet;		/* no progress lines, no "done" lines */
	const char *done_word;	/* "flashed", "uploaded": for the summary */
};

/*
 * Run fn(job, arg) for each of the n jobs, each in a child process; fn's
 * return value (a sysexits code) is the job's exit. Returns EX_OK when
 * every job succeeded, else the worst of their codes (fleet_worse()). A
 * SIGINT, SIGTERM or SIGHUP is passed to the running children, no more
 * jobs start, and once the children are gone dfuctl dies of that signal.
 */
int fleet_run(struct fleet_job *jobs, int n, const struct fleet_opts *o,
	      int (*fn)(struct fleet_job *job, void *arg), void *arg);

/*
 * The worse of two sysexits codes, for the exit of a run: EX_OK < 75
 * (busy, nothing sent: try again) < 69 (unavailable: unplugged, gone) <
 * 73 (upload: cannot create the file) < 77 (permission) < 64 (the options
 * do not fit that device) < 65 (the image was refused for that device) <
 * 74 (I/O error: the device failed mid-transfer, or verify differs) <
 * any other code < 71 (OS error) < 70 (dfuctl itself failed: a child that
 * crashed).
 */
int fleet_worse(int a, int b);

/*
 * In a job's child: the transfer phase what ("download", "verify",
 * "upload") has done of total bytes (0: unknown). Does nothing outside a
 * fleet job.
 */
void fleet_progress(const char *what, uint64_t done, uint64_t total);

#endif
