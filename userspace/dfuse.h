/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dfuse.h - the ST DfuSe file format (UM0391 v1.1a)
 *
 *   prefix   "DfuSe", bVersion 1, DFUImageSize (u32), bTargets (u8)     11 bytes
 *   target   "Target", bAlternateSetting (u8), bTargetNamed (u32),
 *            szTargetName (255), dwTargetSize (u32), dwNbElements (u32) 274 bytes
 *   element  dwElementAddress (u32), dwElementSize (u32), data            8 + size
 *   suffix   the DFU suffix, bcdDFU 0x011a
 *
 * All numbers little endian. dwTargetSize counts the element headers.
 * DFUImageSize may count the suffix (dfuse-pack) or not (fwupd): both pass.
 *
 * dfuse_parse() checks the whole file once, every length against the bytes
 * there are; then dfuse_target_at() and dfuse_element_at() walk it. Targets,
 * names and element data are views into the caller's buffer: nothing here
 * allocates.
 */
#ifndef DFUCTL_DFUSE_H
#define DFUCTL_DFUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "suffix.h"

#define DFUSE_PREFIX_LEN	11
#define DFUSE_TARGET_LEN	274
#define DFUSE_ELEMENT_LEN	8
#define DFUSE_NAME_LEN		255

enum dfuse_err {
	DFUSE_OK = 0,
	DFUSE_ERR_TOO_SHORT,		/* shorter than the 11-byte prefix */
	DFUSE_ERR_PREFIX,		/* does not start with "DfuSe" */
	DFUSE_ERR_VERSION,		/* bVersion is not 1 */
	DFUSE_ERR_SUFFIX,		/* no valid DFU suffix (see suffix_err) */
	DFUSE_ERR_SUFFIX_VERSION,	/* the suffix's bcdDFU is not 0x011a */
	DFUSE_ERR_IMAGE_SIZE,		/* DFUImageSize is not the file's size */
	DFUSE_ERR_NO_TARGETS,		/* bTargets is 0 */
	DFUSE_ERR_TARGET_TRUNCATED,	/* a target prefix runs past the data */
	DFUSE_ERR_TARGET_SIGNATURE,	/* a target prefix without "Target" */
	DFUSE_ERR_TARGET_SIZE,		/* dwTargetSize is not what its elements take */
	DFUSE_ERR_ELEMENT_TRUNCATED,	/* an element header runs past the data */
	DFUSE_ERR_ELEMENT_SIZE,		/* an element's data runs past the data */
	DFUSE_ERR_ELEMENT_ADDRESS,	/* an element runs past address 0xffffffff */
	DFUSE_ERR_TRAILING,		/* bytes between the last target and the suffix */
	DFUSE_ERR_COUNT
};

struct dfuse_file {
	const uint8_t *buf;		/* the whole file */
	size_t len;			/* its size */
	size_t body_len;		/* bytes before the DFU suffix */
	uint8_t version;		/* bVersion */
	uint32_t image_size;		/* DFUImageSize */
	uint8_t n_targets;		/* bTargets */
	struct dfu_suffix suffix;
	/* where dfuse_parse() failed, for messages */
	enum suffix_err suffix_err;	/* with DFUSE_ERR_SUFFIX */
	size_t err_offset;		/* file offset of the defective part */
	unsigned int err_target;	/* 0-based target index of a target or element error */
	uint32_t err_element;		/* 0-based element index of an element error */
};

struct dfuse_target {
	size_t offset;			/* of the target prefix */
	uint8_t alt;			/* bAlternateSetting */
	uint32_t named;			/* bTargetNamed */
	const uint8_t *name;		/* szTargetName, not NUL-terminated... */
	size_t name_len;		/* ...but this long (up to its first NUL) */
	uint32_t size;			/* dwTargetSize */
	uint32_t n_elements;		/* dwNbElements */
	size_t elements;		/* offset of the first element */
	size_t next;			/* offset after its dwTargetSize bytes */
};

struct dfuse_element {
	size_t offset;			/* of the element header */
	uint32_t address;		/* dwElementAddress */
	uint32_t size;			/* dwElementSize */
	const uint8_t *data;		/* size bytes */
	size_t next;			/* offset after the data */
};

/* What is wrong and what to do, for an error of dfuse_parse(). */
const char *dfuse_strerror(enum dfuse_err err);

/* Does @buf start with the DfuSe signature? */
bool dfuse_is_dfuse(const uint8_t *buf, size_t len);

/*
 * Check every part of the DfuSe file @buf; fills @f (the error fields say
 * where a defect is). @f keeps pointing into @buf.
 */
enum dfuse_err dfuse_parse(const uint8_t *buf, size_t len, struct dfuse_file *f);

/* Offset of the first target prefix. */
size_t dfuse_first_target(const struct dfuse_file *f);

/*
 * Read the target prefix at @offset (the first, or a previous target's
 * ->next) into @t: its first element is at @t->elements, and @t->next is
 * where its dwTargetSize bytes end. Both the prefix and dwTargetSize are
 * checked against the data before the suffix; that the elements fill
 * exactly dwTargetSize is checked by dfuse_parse().
 */
enum dfuse_err dfuse_target_at(const struct dfuse_file *f, size_t offset,
			       struct dfuse_target *t);

/* Read the element at @offset (a target's ->elements or an element's ->next). */
enum dfuse_err dfuse_element_at(const struct dfuse_file *f, size_t offset,
				struct dfuse_element *e);

#endif
