/* SPDX-License-Identifier: GPL-2.0 */
/*
 * emu.h - start and stop the emulated DFU device (tests/emulator) and find
 * the /dev/dfuN node the driver created for it. Tests use only what a user
 * has: the node, its ioctls (uapi header) and sysfs.
 */
#ifndef DFU_TEST_EMU_H
#define DFU_TEST_EMU_H

#include <stddef.h>
#include <sys/types.h>

struct emu {
	pid_t pid;
	char dir[64];		/* scratch directory: image, stats */
	char serial[160];	/* unique per start; finds the node */
	char node[32];		/* /dev/dfuN */
	char sysfs[64];		/* /sys/class/dfu/dfuN */
};

/*
 * Start dfu-emu with the extra arguments (NULL-terminated) and wait for its
 * node. Returns 0, or -1 with a message on stderr.
 */
int emu_start(struct emu *e, ...);
/*
 * The same for a device the driver must not bind: returns 0 once the USB
 * device is enumerated and, half a second later, still has no node.
 */
int emu_start_unbound(struct emu *e, ...);
/*
 * emu_start() (want_node) or emu_start_unbound() of a device with this
 * serial number (at most 159 bytes) instead of a generated one, for a
 * serial that means something (an Apple ROM's identity string). It must be
 * unique among the devices present.
 */
int emu_start_serial(struct emu *e, int want_node, const char *serial, ...);
/* SIGTERM, reap, and wait for the node to go away. */
void emu_stop(struct emu *e);
/*
 * Wait for the device to show up again with this mode ("dfu" or
 * "runtime"), after DETACH or a reset re-enumerated it; updates node and
 * sysfs. Returns 0, or -1 on timeout.
 */
int emu_wait_mode(struct emu *e, const char *mode, int timeout_ms);
/*
 * A --runtime device that comes back in DFU mode with another serial
 * number (--dfu-serial), or none, or on another UDC (--dfu-udc-device):
 * wait for its node in this mode by that serial (e->serial becomes it),
 * or by its USB port (sysfs name of the USB device, "3-1"); updates node
 * and sysfs. Returns 0, or -1 on timeout.
 */
int emu_wait_serial(struct emu *e, const char *serial, const char *mode, int timeout_ms);
int emu_wait_port(struct emu *e, const char *port, const char *mode, int timeout_ms);
/* The USB port of the node's device into buf ("3-1"); 0, or -1. */
int emu_port(struct emu *e, char *buf, size_t len);
/*
 * USB_DFU_IOCTL_DETACH with this wTimeout (0: the driver's default) on the
 * run-time node, opened for writing, then wait up to 10 s for the device in
 * DFU mode; updates node and sysfs. Returns 0, or -1 with a message on
 * stderr.
 */
int emu_detach(struct emu *e, __u32 timeout_ms);
/* The USB device number of the node's device (changes on re-enumeration), or -1. */
long emu_devnum(struct emu *e);
/*
 * Wait for the device to come back with a device number other than
 * old_devnum (it left the bus by itself); updates node and sysfs.
 * Returns 0, or -1 on timeout.
 */
int emu_wait_reenumerated(struct emu *e, long old_devnum, int timeout_ms);
/* Wait for the emulator to exit by itself (disconnect injection). */
int emu_wait_exit(struct emu *e, int timeout_ms);
/* Value of key in the emulator's stats file, or -1. */
long emu_stat(struct emu *e, const char *key);
/* Wait until emu_stat(key) == value; returns the last value seen. */
long emu_wait_stat(struct emu *e, const char *key, long value, int timeout_ms);
/* Path of the image the device manifested last. */
const char *emu_image_path(struct emu *e);
/* Does the device hold exactly these bytes as its last manifested image? */
int emu_has_image(struct emu *e, const unsigned char *buf, size_t len);

/* Read a whole file; *len gets its size. Caller frees. NULL on error. */
unsigned char *read_file(const char *path, size_t *len);
int write_file(const char *path, const void *buf, size_t len);
/* Read a sysfs file, newline stripped, into buf; 0 or -errno. */
int read_sysfs(const char *path, char *buf, size_t len);
/* Write value to a sysfs file; 0 or -errno of the open() or write(). */
int write_sysfs(const char *path, const char *value);
/* read_sysfs() and write_sysfs() of an attribute of the node (e->sysfs). */
int read_attr(struct emu *e, const char *attr, char *buf, size_t len);
int write_attr(struct emu *e, const char *attr, const char *value);
/* The usbfs node of the emulated device, for a USB reset by someone else. */
int emu_usbfs_path(struct emu *e, char *buf, size_t len);
/* The same for the driver's module parameter name. */
#define DFU_PARAMS	"/sys/module/dfu/parameters"
int get_param(const char *name, char *buf, size_t len);
int set_param(const char *name, const char *value);
/*
 * sysfs last_result is "ok BYTES", "unverified BYTES" or
 * "-ENAME BYTES STATE STATUS": is it want, or does it start with want when
 * want ends in a space ("-EBADMSG ")? Says what it read on stderr when not.
 */
int last_result_is(struct emu *e, const char *want);

struct usb_dfu_status;
struct usb_dfu_result;
/* An ioctl on a fresh O_RDONLY file of the node; 0 or -errno. */
int node_ioctl(struct emu *e, unsigned long req, void *arg);
/* GET_STATUS and GET_RESULT through node_ioctl(); *r is 0xaa-filled first. */
int get_status(struct emu *e, struct usb_dfu_status *st);
int get_result(struct emu *e, struct usb_dfu_result *r);
/* The driver's DFU state (GET_STATE), or -errno. */
int get_state(struct emu *e);
/* Fill buf with a pattern that differs for every seed and offset. */
void fill_pattern(unsigned char *buf, size_t len, unsigned int seed);
/* A file of len fill_pattern() bytes at path; returns the bytes (caller
 * frees), or NULL. */
unsigned char *make_pattern_file(const char *path, size_t len, unsigned int seed);
/* Write len bytes to the node in chunks of chunk bytes and close it.
 * Returns 0, or -errno of the first failing write() or close(). */
int flash_buf(const char *node, const unsigned char *buf, size_t len, size_t chunk);
/* Upload the node's image with read() calls of chunk bytes. */
unsigned char *upload_buf(const char *node, size_t *len, size_t chunk);
/* Monotonic time in microseconds. */
long long now_us(void);
/* Milliseconds since t0_us, a now_us() value. */
long long ms_since(long long t0_us);
void sleep_ms(int ms);
/* Run a shell command; returns its exit status, or 128 + signal. */
int run_sh(const char *fmt, ...);

/*
 * ST DfuSe devices (dfu-emu --dfuse NAME, tests/emulator/dfuse.c).
 */
/* STM32F4 ROM: internal flash at 0x08000000, 4*16K, 1*64K, 7*128K sectors */
#define STM32F4_FLASH		0x08000000u
#define STM32F4_FLASH_SIZE	(1u << 20)
/*
 * emu_start() of dfu-emu --dfuse PROFILE with up to 32 more arguments
 * (NULL-terminated). Returns 0, or -1 with a message on stderr.
 */
int emu_start_dfuse(struct emu *e, const char *profile, ...);
/* Does dfu-emu --help name this word (a profile, an option)? */
int emu_knows(const char *word);
/*
 * The value of key in the stats file as a string (erased=0x...,0x...,
 * address=0x08000000, dfuse=stm32f4): 0, or -1 without the key.
 */
int emu_stat_str(struct emu *e, const char *key, char *buf, size_t len);
/* A hex (or decimal) stat such as address=0x08000000, or -1. */
long long emu_stat_num(struct emu *e, const char *key);
/*
 * Is the erased= list (sector addresses in the order erased) exactly want
 * ("0x08000000,0x08004000", "" for none)? Says what it read when not.
 */
int emu_erased_is(struct emu *e, const char *want);
/*
 * The STM32F4 internal flash sectors that [off, off + len) touches, off
 * relative to 0x08000000, as an erased= list in buf ("" when len is 0).
 * Returns the number of sectors.
 */
int stm32f4_sectors(unsigned long off, unsigned long len, char *buf, size_t size);
/*
 * The device's flash as --out wrote it (at each leave and at exit; read it
 * after emu_stop() for the last state). Caller frees; NULL on error.
 */
unsigned char *emu_flash(struct emu *e, size_t *len);
/* Are the len bytes of flash at off all 0xff? Says where not. */
int all_erased(const unsigned char *flash, size_t off, size_t len);
/* One line of sysfs dfuse_map: ALT 0xSTART COUNT*SIZE PERMS NAME */
struct dfuse_zone {
	unsigned int alt;
	unsigned long start, count, size;
	char perms[4];
	char name[64];
};
/*
 * Parse the node's dfuse_map into zones (at most max); returns how many,
 * or -1 when it cannot be read or a line does not parse.
 */
int read_dfuse_map(struct emu *e, struct dfuse_zone *z, int max);
/* Write "1" or "0" to the node's dfuse_leave; 0 or -errno. */
int set_dfuse_leave(struct emu *e, int leave);
/* A dmesg line matching the extended regex since the mark (mark_kmsg())? */
void mark_kmsg(const char *mark);
int kmsg_since(const char *mark, const char *ere);

/* A shell command (sh -c) in the background, killed if the test dies; its pid. */
pid_t bg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Its exit status (128 + N for signal N), or -1 (killed) past timeout_ms. */
int bg_wait(pid_t pid, int timeout_ms);
/* Is it still running? (Not reaped: bg_wait() gets its status.) */
int bg_running(pid_t pid);
/* Does the file hold this fixed string? Shows the file on stderr when not. */
int has(const char *file, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
