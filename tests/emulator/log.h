/* SPDX-License-Identifier: GPL-2.0 */
/* dfu-emu: one-line event log on stderr, printed only with --verbose. */
#ifndef DFU_EMU_LOG_H
#define DFU_EMU_LOG_H

extern int emu_verbose;

void emu_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* DFU_EMU_LOG_H */
