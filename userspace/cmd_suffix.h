/* SPDX-License-Identifier: GPL-2.0 */
/* cmd_suffix.h - dfuctl suffix add|remove|check FILE */
#ifndef DFUCTL_CMD_SUFFIX_H
#define DFUCTL_CMD_SUFFIX_H

/*
 * Run "dfuctl suffix ...": @argv[0] is "suffix", @argv[1] the action.
 * Returns a sysexits.h code.
 */
int cmd_suffix(int argc, char **argv);

#endif
