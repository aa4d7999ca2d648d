/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dfu-emu --dfuse NAME: the ST DfuSe dialect (bcdDFUVersion 0x011A, the
 * protocol reference's sections 11-13) of a device whose memory is the map
 * its alt settings' layout strings describe.
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
#define DFUSE_MAX_SEGS		16	/* per alt setting, all zones */
#define DFUSE_MAX_ERASED	256	/* sector addresses kept for --stats */

/* Memory-layout permissions: the layout letter & 7. */
#define DFUSE_READ		0x1
#define DFUSE_ERASE		0x2
#define DFUSE_WRITE		0x4

struct dfuse;

/* A device as the emulator presents it (the --dfuse NAME table). */
struct dfuse_profile {
	const char *name;
	uint16_t vid, pid, bcd_device, bcd_usb;
	const char *manufacturer, *product, *serial;
	uint8_t attrs, protocol;
	uint16_t detach_timeout, transfer_size;
	unsigned n_alts;
	const char *layouts[DFUSE_MAX_ALTS];	/* iInterface of each alt */
	const uint8_t *commands;		/* UPLOAD block 0 */
	size_t n_commands;
	void (*init_memory)(struct dfuse *d);	/* beyond erased (0xff) */
};

/* Busy times in ms (reported as bwPollTimeout and really waited) and the
 * wTransferSize the address arithmetic uses. */
struct dfuse_options {
	uint32_t erase_ms;	/* per sector (--dfuse-erase-ms) */
	uint32_t mass_erase_ms;	/* --dfuse-mass-erase-ms */
	uint32_t write_ms;	/* per data block (--dfuse-write-ms) */
	uint16_t transfer_size;
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
	uint32_t erased[DFUSE_MAX_ERASED];
	unsigned n_erased;		/* erases beyond DFUSE_MAX_ERASED dropped */
};

/* What the GETSTATUS after a DNLOAD reports about it. */
struct dfuse_verdict {
	uint8_t status;		/* bStatus once the device is done */
	uint32_t poll_ms;	/* bwPollTimeout of the dfuDNBUSY answer */
	int stall;		/* a malformed command: stall, errSTALLEDPKT */
	int disconnect;		/* read unprotect: the chip resets */
};

struct dfuse {
	const struct dfuse_profile *p;
	struct dfuse_options t;
	struct dfuse_map alt[DFUSE_MAX_ALTS];
	uint32_t pointer;	/* the address pointer (Set Address) */

	/* The DNLOAD waiting for its GETSTATUS. */
	int pending;
	unsigned pending_alt;
	uint16_t pending_block;
	uint8_t *buf;		/* transfer_size bytes */
	size_t len;

	uint8_t *up;		/* an UPLOAD answer, transfer_size bytes */
	struct dfuse_stats st;
};

const struct dfuse_profile *dfuse_find(const char *name);
/* Names of the --dfuse profiles, for the usage text. */
const char *dfuse_names(void);

int dfuse_init(struct dfuse *d, const struct dfuse_profile *p,
	       const struct dfuse_options *o);
void dfuse_free(struct dfuse *d);
/* --image: the first len bytes of alt 0's memory (internal flash). */
int dfuse_load(struct dfuse *d, const uint8_t *data, size_t len);

/* A DNLOAD's data arrived; it runs at dfuse_run(). */
void dfuse_stage(struct dfuse *d, unsigned alt, uint16_t block,
		 const uint8_t *data, size_t len);
/* The staged DNLOAD, if any, is abandoned (ABORT, SET_INTERFACE, reset). */
void dfuse_cancel(struct dfuse *d);
/* The first GETSTATUS after the DNLOAD: run it. */
void dfuse_run(struct dfuse *d, struct dfuse_verdict *v);

/* UPLOAD wValue block of at most wLength bytes: returns the length and
 * sets *data, or returns -1 with the bStatus of the error in *status. */
long dfuse_upload(struct dfuse *d, unsigned alt, uint16_t block,
		  uint16_t wLength, const uint8_t **data, uint8_t *status);

/* The zero-length DNLOAD was answered with dfuMANIFEST: the device leaves. */
void dfuse_leave(struct dfuse *d);

/* Alt 0's memory (internal flash) as one block, for --out. */
void dfuse_image(const struct dfuse *d, const uint8_t **data, size_t *len);
void dfuse_write_stats(const struct dfuse *d, FILE *f);

#endif /* DFU_EMU_DFUSE_H */
