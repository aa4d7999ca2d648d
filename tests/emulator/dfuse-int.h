/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dfu-emu: what dfuse.c (the memory map, the STM32 ROM) shares with
 * dfuse-stacks.c (ST's USB device library, Black Magic Probe).
 */
#ifndef DFU_EMU_DFUSE_INT_H
#define DFU_EMU_DFUSE_INT_H

#include "dfuse.h"

#define CMD_GET_COMMANDS	0x00
#define CMD_SET_ADDRESS		0x21
#define CMD_ERASE		0x41
#define CMD_READ_UNPROTECT	0x92

#define ST_OK			0x00
#define ST_ERR_TARGET		0x01
#define ST_ERR_VERIFY		0x07
#define ST_ERR_ADDRESS		0x08
#define ST_ERR_VENDOR		0x0b
#define ST_ERR_STALLEDPKT	0x0f

#define ERASED			0xff

/* States an UPLOAD leaves the device in (struct dfuse_reply.state). */
#define DFUSE_STATE_IDLE	2
#define DFUSE_STATE_UPLOAD_IDLE	9
#define DFUSE_STATE_BOGUS	0x0f	/* ST library: bStatus in bState */

struct dfuse_seg *dfuse_find_seg(struct dfuse_map *map, uint64_t addr);
/* [addr, addr + len) lies in the map and has permission perm: ST_OK,
 * ST_ERR_ADDRESS (not all in the map) or ST_ERR_TARGET (permission). */
uint8_t dfuse_check_range(struct dfuse_map *map, uint64_t addr, size_t len,
			  uint8_t perm);
/* Erase the sector that holds addr: ST_OK, or ST_ERR_TARGET when there is
 * none or it is not erasable. */
uint8_t dfuse_erase_sector(struct dfuse *d, struct dfuse_map *map,
			   uint32_t addr);
/* Program [addr, addr + len), all in the map, as flash does (AND): ST_OK
 * or ST_ERR_VERIFY when a bit needed a 1 -> 0 -> 1. */
uint8_t dfuse_program(struct dfuse_map *map, uint64_t addr,
		      const uint8_t *data, size_t len);
/* len bytes from addr into d->up: the readable map, 0xff elsewhere (an
 * upload that never ends short).  Returns len. */
size_t dfuse_read_padded(struct dfuse *d, struct dfuse_map *map,
			 uint64_t addr, size_t len);
uint32_t dfuse_le32(const uint8_t *p);

/* dfuse-stacks.c */
void dfuse_run_stusbd(struct dfuse *d, struct dfuse_map *map,
		      struct dfuse_verdict *v);
void dfuse_upload_stusbd(struct dfuse *d, struct dfuse_map *map,
			 uint16_t block, uint16_t wLength,
			 struct dfuse_reply *r);
void dfuse_run_bmp(struct dfuse *d, struct dfuse_map *map,
		   struct dfuse_verdict *v);
void dfuse_upload_bmp(struct dfuse *d, struct dfuse_map *map,
		      uint16_t block, uint16_t wLength,
		      struct dfuse_reply *r);

#endif /* DFU_EMU_DFUSE_INT_H */
