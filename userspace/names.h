/* SPDX-License-Identifier: GPL-2.0 */
/* names.h - DFU 1.1 names of bState and bStatus values */
#ifndef DFUCTL_NAMES_H
#define DFUCTL_NAMES_H

const char *dfu_state_str(unsigned int state);
const char *dfu_status_str(unsigned int status);

#endif
