/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dfu-emu --dfuse NAME: the ST DfuSe dialect (bcdDFUVersion 0x011A, the
 * protocol reference's sections 11-13) of a device whose memory is the map
 * its alt settings' layout strings describe, as one of the stacks that
 * speak it (the profiles, dfuse-profiles.c).
 *
 * The model (model.c) keeps the DFU state machine; it hands this file the
 * data of each DNLOAD (a command in block 0, memory in blocks >= 2), asks
 * it to run that at the GETSTATUS that follows, as the STM32 ROM does, and
 * asks it for the bytes of each UPLOAD.  Nothing here knows about USB.
 */
#ifndef DFU_EMU_DFUSE_H
#define DFU_EMU_DFUSE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DFUSE_MAX_ALTS		8
#define DFUSE_MAX_SEGS		64	/* per alt setting, all zones */
#define DFUSE_MAX_MEM		(64u << 20)	/* bytes, all alt settings */
#define DFUSE_MAX_ERASED	256	/* sector addresses kept for --stats */

/* Memory-layout permissions: the layout letter & 7. */
#define DFUSE_READ		0x1
#define DFUSE_ERASE		0x2
#define DFUSE_WRITE		0x4

struct dfuse;

/* Whose code answers the DfuSe requests (the reference's section 12). */
enum dfuse_stack {
	/* STM32 system-memory ROM (AN3156), and the GD32 ROM that copies it:
	 * commands checked, errors reported as bStatus, dfuERROR. */
	DFUSE_STACK_ROM,
	/* ST's USB device library (usbd_dfu.c): no address checks, Erase
	 * moves the pointer, a failed erase or write never reports: the
	 * device stays in dfuDNBUSY; mass erase and 0x92 do nothing. */
	DFUSE_STACK_STUSBD,
	/* Black Magic Probe's bootloader (libopencm3 usbdfu): commands
	 * outside the application area hang it in dfuDNBUSY (poll 0), flash
	 * programming failures are silent, uploads never end short. */
	DFUSE_STACK_BMP,
};

/* The state-machine personality the model gets from a profile. */
enum dfuse_abort {
	DFUSE_ABORT_TABLE,	/* dfuIDLE from 2,3,5,6,9; else stall (E) */
	DFUSE_ABORT_IGNORE,	/* dfuIDLE from 2,3,5,6,9; else ignored */
	DFUSE_ABORT_ANYWHERE,	/* dfuIDLE from any state */
};

/* A device as the emulator presents it (the --dfuse NAME table). */
struct dfuse_profile {
	const char *name;
	enum dfuse_stack stack;
	uint16_t vid, pid, bcd_device, bcd_usb;
	const char *manufacturer, *product, *serial;
	int serial_raw;		/* serial string as 8-bit bytes (GD32) */
	uint8_t attrs, protocol;
	uint16_t detach_timeout, transfer_size;
	unsigned n_alts;
	const char *layouts[DFUSE_MAX_ALTS];	/* iInterface of each alt */
	/* The memory really there, when the layout string lies (GD32);
	 * NULL: as announced. */
	const char *real_layouts[DFUSE_MAX_ALTS];
	const uint8_t *commands;		/* UPLOAD block 0 */
	size_t n_commands;
	void (*init_memory)(struct dfuse *d);	/* beyond erased (0xff) */
	/* Busy times (ms), overridden by --dfuse-*-ms. */
	uint32_t erase_ms, mass_erase_ms, write_ms;
	uint32_t manifest_poll_ms;	/* bwPollTimeout of dfuMANIFEST */
	/* Model personality. */
	enum dfuse_abort abort;
	int stall_keeps_state;	/* a refused request never enters dfuERROR */
	int strict_clrstatus;	/* CLRSTATUS outside dfuERROR: errUNKNOWN */
	int clrstatus_ignored;	/* CLRSTATUS outside dfuERROR: ignored */
	int dnload_any_state;	/* DNLOAD accepted in any state */
	int upload_after_dnload; /* UPLOAD accepted in dfuDNLOAD-IDLE too */
	int busy_to_idle;	/* dfuDNBUSY ends in dfuDNLOAD-IDLE, no SYNC */
	int leave_without_status; /* leave at the zero-length DNLOAD itself */
	int set_interface_keeps_state; /* SET_INTERFACE only picks the alt */
	int has_boot_error;	/* --dfuse-blank makes sense (a ROM) */
};

/* Busy times in ms (reported as bwPollTimeout and really waited), the
 * wTransferSize the address arithmetic uses, and the chip's condition. */
struct dfuse_options {
	uint32_t erase_ms;	/* per sector (--dfuse-erase-ms) */
	uint32_t mass_erase_ms;	/* --dfuse-mass-erase-ms */
	uint32_t write_ms;	/* per data block (--dfuse-write-ms) */
	uint16_t transfer_size;
	int protect;		/* --dfuse-protected: read protection on */
};

/* A run of equal sectors at start (one "NN*SSSKg" of a layout string). */
struct dfuse_seg {
	uint64_t start;
	uint32_t sector, count;
	uint8_t perm;
	uint8_t *mem;		/* sector * count bytes, in its map's mem */
};

struct dfuse_map {
	struct dfuse_seg seg[DFUSE_MAX_SEGS];
	unsigned n_segs;
	uint8_t *mem;		/* the segments' memory, one after another */
	size_t len;
};

struct dfuse_stats {
	unsigned long get_commands, set_address, erases, mass_erases;
	unsigned long unprotects, leaves, writes, write_bytes, reads;
	unsigned long errors;
	unsigned long read_bytes, pad_bytes, stuck, ignored, lost_bytes;
	unsigned long denied, bogus_state;
	uint32_t erased[DFUSE_MAX_ERASED];
	unsigned n_erased;		/* erases beyond DFUSE_MAX_ERASED dropped */
};

/* What the GETSTATUS after a DNLOAD reports about it. */
struct dfuse_verdict {
	uint8_t status;		/* bStatus once the device is done */
	uint32_t poll_ms;	/* bwPollTimeout of the dfuDNBUSY answer */
	int stall;		/* a malformed command: stall, errSTALLEDPKT */
	int disconnect;		/* read unprotect: the chip resets */
	int stuck;		/* it never leaves dfuDNBUSY (ST lib, BMP) */
	uint32_t stuck_poll_ms;	/* bwPollTimeout of the answers after */
};

/* What an UPLOAD gets. */
struct dfuse_reply {
	const uint8_t *data;
	size_t len;
	int stall;		/* stall it ... */
	int error;		/* ... and enter dfuERROR with bStatus status */
	uint8_t status;
	int state;		/* state after it; -1: the model's rule */
};

struct dfuse {
	const struct dfuse_profile *p;
	struct dfuse_options t;
	struct dfuse_map alt[DFUSE_MAX_ALTS];
	uint32_t pointer;	/* the address pointer (Set Address) */
	int protect;		/* read protection active */

	/* The DNLOAD waiting for its GETSTATUS. */
	int pending;
	unsigned pending_alt;
	uint16_t pending_block;
	uint8_t *buf;		/* transfer_size bytes, kept between DNLOADs */
	size_t len;

	uint8_t *up;		/* an UPLOAD answer, transfer_size bytes */
	struct dfuse_stats st;
};

const struct dfuse_profile *dfuse_find(const char *name);
/* A layout string the emulator can build memory from (dfuse.c says which):
 * 0, or -1 with *why the reason. */
int dfuse_layout_check(const char *s, const char **why);
/* Names of the --dfuse profiles, for the usage text. */
const char *dfuse_names(void);
/* The profile's command list has cmd (0x92: --dfuse-protected works). */
int dfuse_has_command(const struct dfuse_profile *p, uint8_t cmd);

int dfuse_init(struct dfuse *d, const struct dfuse_profile *p,
	       const struct dfuse_options *o);
void dfuse_free(struct dfuse *d);
/* --image: the first len bytes of alt 0's memory (internal flash). */
int dfuse_load(struct dfuse *d, const uint8_t *data, size_t len);

/* A DNLOAD with this wBlockNum and wLength is taken (0: stall it). */
int dfuse_dnload_ok(const struct dfuse *d, uint16_t block, uint16_t len);
/* A DNLOAD's data arrived; it runs at dfuse_run(). */
void dfuse_stage(struct dfuse *d, unsigned alt, uint16_t block,
		 const uint8_t *data, size_t len);
/* The staged DNLOAD, if any, is abandoned (ABORT, SET_INTERFACE, reset). */
void dfuse_cancel(struct dfuse *d);
/* The first GETSTATUS after the DNLOAD: run it. */
void dfuse_run(struct dfuse *d, struct dfuse_verdict *v);

/* UPLOAD wValue block of at most wLength bytes. */
void dfuse_upload(struct dfuse *d, unsigned alt, uint16_t block,
		  uint16_t wLength, struct dfuse_reply *r);

/* The model answered a GETSTATUS with these bytes (BMP keeps them in
 * the control buffer that UPLOAD block 0 returns). */
void dfuse_control_in(struct dfuse *d, const uint8_t *data, size_t len);

/* The device leaves DFU mode (jumps to the application). */
void dfuse_leave(struct dfuse *d);

/* Alt 0's memory (internal flash) as one block, for --out. */
void dfuse_image(const struct dfuse *d, const uint8_t **data, size_t *len);
void dfuse_write_stats(const struct dfuse *d, FILE *f);

#endif /* DFU_EMU_DFUSE_H */
