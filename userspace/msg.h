/* SPDX-License-Identifier: GPL-2.0 */
/*
 * msg.h - dfuctl's messages on stderr, each starting with "dfuctl COMMAND: "
 * (common.c)
 */
#ifndef DFUCTL_MSG_H
#define DFUCTL_MSG_H

/*
 * The subcommand's name ("flash", "status"...), set by main() before the
 * command runs; NULL before that.
 */
extern const char *dfuctl_cmd;
/* A message on stderr, after "dfuctl COMMAND: ". */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same after a newline: ends the progress line first. */
void say_nl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
