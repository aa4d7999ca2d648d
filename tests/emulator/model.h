/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dfu-emu: the DFU 1.1 device model: DFU mode and, with --runtime, the
 * run-time mode (appIDLE/appDETACH) that a DETACH and a USB reset leave.
 *
 * The model is the state machine of the reference's state table, the
 * device memory and the fault injection.  It knows nothing about USB
 * transport: the caller hands it the fields of each DFU class request and
 * the current CLOCK_MONOTONIC time, and it answers with what to do on ep0.
 * Timer events (end of dfuDNBUSY, end of dfuMANIFEST) are evaluated lazily
 * when the next request arrives.
 */
#ifndef DFU_EMU_MODEL_H
#define DFU_EMU_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dfuse.h"

struct apple;	/* apple.h */

/* bRequest values of the DFU class requests. */
enum dfu_request {
	DFU_DETACH = 0,
	DFU_DNLOAD = 1,
	DFU_UPLOAD = 2,
	DFU_GETSTATUS = 3,
	DFU_CLRSTATUS = 4,
	DFU_GETSTATE = 5,
	DFU_ABORT = 6,
	DFU_NUM_REQUESTS
};

enum dfu_state {
	DFU_APP_IDLE = 0,	/* run-time mode (--runtime) */
	DFU_APP_DETACH = 1,	/* run-time mode, DETACH received */
	DFU_IDLE = 2,
	DFU_DNLOAD_SYNC = 3,
	DFU_DNBUSY = 4,
	DFU_DNLOAD_IDLE = 5,
	DFU_MANIFEST_SYNC = 6,
	DFU_MANIFEST = 7,
	DFU_MANIFEST_WAIT_RESET = 8,
	DFU_UPLOAD_IDLE = 9,
	DFU_ERROR = 10
};

#define DFU_STATUS_OK		0x00
#define DFU_STATUS_ERR_WRITE	0x03
#define DFU_STATUS_ERR_ADDRESS	0x08
#define DFU_STATUS_ERR_UNKNOWN	0x0e
#define DFU_STATUS_ERR_STALLEDPKT 0x0f

/* bmAttributes of the functional descriptor. */
#define DFU_ATTR_CAN_DNLOAD	0x01
#define DFU_ATTR_CAN_UPLOAD	0x02
#define DFU_ATTR_MANIFEST_TOL	0x04
#define DFU_ATTR_WILL_DETACH	0x08

#define MODEL_MAX_RULES		16

/* --fail-status CODE@N */
struct model_fail_rule {
	uint8_t status;
	unsigned long block;
	int fired;
};

/* --stall REQ@N */
struct model_stall_rule {
	int request;		/* enum dfu_request */
	unsigned long count;
	int fired;
};

struct model_config {
	uint8_t attrs;
	uint16_t transfer_size;
	uint32_t poll_ms;		/* bwPollTimeout in dfuDNBUSY replies */
	long busy_ms;			/* real time busy per block; -1: poll_ms */
	uint32_t manifest_poll_ms;	/* bwPollTimeout in dfuMANIFEST replies */
	unsigned long busy_polls;
	size_t mem_size;
	int strict_blocks;
	unsigned n_alts;
	long disconnect_at;		/* -1: off */
	int disconnect_manifest;	/* vanish at the zero-length DNLOAD */
	long disconnect_upload_at;	/* -1: off */
	struct model_fail_rule fail[MODEL_MAX_RULES];
	unsigned n_fail;
	struct model_stall_rule stall[MODEL_MAX_RULES];
	unsigned n_stall;
	int start_error;		/* --start-error CODE, -1: off */
	unsigned long busy_stall_getstatus; /* --stall-busy-getstatus N */
	unsigned long stall_busy_every;	/* --stall-busy-every N, 0: off */
	uint32_t upload_ms;		/* --upload-ms: delay of each UPLOAD */
	int strict_clrstatus;		/* --strict-clrstatus */
	int runtime;			/* --runtime: start in appIDLE */
	uint16_t detach_timeout;	/* wDetachTimeOut, caps DETACH wValue */
	int reenumerate;		/* --runtime: a mode switch at a USB
					 * reset leaves the bus (--reenum-ms,
					 * --dfu-udc-*) instead of changing the
					 * descriptors in place */
	/* Personalities (see the protocol reference, section 12) */
	int lagging_state;		/* GETSTATUS names the state it found */
	int poll_always;		/* poll_ms in every GETSTATUS reply */
	long bad_state_at;		/* bState 0x0f after block N, -1: off */
	int leave_after_manifest;	/* reset itself once in dfuMANIFEST */
	int upload_full;		/* never a short UPLOAD frame */
	int stall_keeps_state;		/* stalls never enter dfuERROR */
	int stall_manifest;		/* stall all after entering dfuMANIFEST */
	/* --dfuse profiles (dfuse.h): the stacks' state machines */
	int abort_policy;		/* enum dfuse_abort */
	int clrstatus_ignored;		/* outside dfuERROR: no-op (libopencm3) */
	int dnload_any_state;		/* libopencm3 */
	int upload_after_dnload;	/* UPLOAD in dfuDNLOAD-IDLE (BMP) */
	int busy_to_idle;		/* dfuDNBUSY -> dfuDNLOAD-IDLE (BMP) */
	int leave_without_status;	/* leave at the zero-length DNLOAD */
	int set_interface_keeps_state;	/* ST library, libopencm3 */
};

struct model_stats {
	unsigned long manifests, image_bytes, dnload_requests, blocks;
	unsigned long early_polls, aborts, clrstatus, set_interface;
	unsigned long uploads, upload_requests, block_errors;
	unsigned long upload_block_errors, zero_len_in_idle, stalls, resets;
	unsigned long busy_stalls, stray_clrstatus, detaches;
	unsigned long getstatus, getstate, suspends;
	unsigned long reattaches;	/* back on the bus after leaving it */
};

struct dfu_model {
	struct model_config cfg;	/* a copy: rules record "fired" here */
	enum dfu_state state;
	uint8_t status;
	unsigned alt;

	uint64_t deadline_us;	/* end of dfuDNBUSY or dfuMANIFEST */
	unsigned long busy_left; /* dfuDNBUSY answers left for this block */
	int manifest_done;	/* image committed in this manifestation */
	int pending_status;	/* error for the next GETSTATUS, or -1 */
	int pending_rule;	/* index of the fail rule behind it, or -1 */
	uint16_t dn_block;	/* wBlockNum of the DNLOAD awaiting its data */
	uint16_t next_block;	/* wBlockNum the next DNLOAD must carry */

	int runtime_mode;	/* serving the run-time descriptor set */
	int boot_error;		/* --start-error not yet cleared by CLRSTATUS */
	uint64_t detach_deadline_us; /* appDETACH: a reset must come before */
	unsigned long busy_stall_left; /* GETSTATUS to stall after a block */
	int manifest_stalling;	/* --stall-manifest: stalling until a reset */
	unsigned long busy_getstatus;	/* GETSTATUS seen while busy */
	unsigned manifest_alt;	/* alt setting of the last manifested image */

	/* A download is staged here and becomes the device memory (what
	 * UPLOAD returns) at manifestation. */
	uint8_t *stage, *mem;
	size_t stage_len, stage_cap, mem_len;
	size_t up_off;
	unsigned long up_blocks;

	/* --dfuse: the DfuSe dialect and its memory (owned by the caller);
	 * NULL for plain DFU 1.1. */
	struct dfuse *dfuse;
	/* --apple: the SecureROM answers everything instead (apple.h, owned
	 * by the caller); NULL otherwise. */
	struct apple *apple;

	uint8_t reply[6];
	uint8_t *pad;		/* --upload-full frames, transfer_size bytes */
	int bad_state_fired;
	int stuck;		/* DfuSe: dfuDNBUSY for good (ST lib, BMP) */
	uint32_t stuck_poll_ms;	/* its bwPollTimeout */
	struct model_stats st;
};

/* What the transport must do with the request it passed in. */
enum model_action {
	MODEL_ACK,		/* zero-length status stage */
	MODEL_STALL,
	MODEL_REPLY,		/* IN data stage: data/len */
	MODEL_NEED_DATA,	/* read len bytes, then call model_data() */
	MODEL_DISCONNECT	/* vanish without answering */
};

/* Side effects the caller should carry out before answering. */
#define MODEL_EV_STATS		0x01u	/* rewrite the stats file */
#define MODEL_EV_MANIFEST	0x02u	/* an image was committed: write --out */
#define MODEL_EV_MODE		0x04u	/* run-time <-> DFU mode: the transport
					 * must serve the other descriptors */
#define MODEL_EV_REATTACH	0x08u	/* WillDetach: after answering, leave
					 * the bus, call model_reattach() and
					 * come back */

struct model_result {
	enum model_action action;
	const uint8_t *data;
	size_t len;
	unsigned events;
	uint32_t delay_ms;	/* answer only after this long (--upload-ms) */
};

/* Takes ownership of image (malloc'ed, may be NULL when image_len is 0). */
void model_init(struct dfu_model *m, const struct model_config *cfg,
		uint8_t *image, size_t image_len);
void model_free(struct dfu_model *m);

/* A DFU class request addressed to an interface (recipient interface). */
void model_request(struct dfu_model *m, uint8_t bmRequestType,
		   uint8_t bRequest, uint16_t wValue, uint16_t wIndex,
		   uint16_t wLength, uint64_t now_us, struct model_result *r);
/* The data stage of a DNLOAD that model_request() answered NEED_DATA. */
void model_data(struct dfu_model *m, const uint8_t *data, size_t len,
		struct model_result *r);

/* Standard-request and bus events; they return MODEL_EV_* bits. */
unsigned model_set_interface(struct dfu_model *m, unsigned alt);
unsigned model_usb_reset(struct dfu_model *m, int disconnect,
			 uint64_t now_us);
/* The bus suspended the device (counted only). */
unsigned model_suspend(struct dfu_model *m);
/* The device detached itself (WillDetach) and comes back in DFU mode. */
unsigned model_reattach(struct dfu_model *m);

void model_image(const struct dfu_model *m, const uint8_t **data,
		 size_t *len);
void model_write_stats(const struct dfu_model *m, FILE *f);

#endif /* DFU_EMU_MODEL_H */
