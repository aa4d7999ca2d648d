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

/* --- writing DfuSe files ------------------------------------------------ */

/* One element to pack: @size bytes of @data, to go to @address. */
struct dfuse_pack_element {
	uint32_t address;
	uint32_t size;
	const uint8_t *data;
};

/* One target: the elements for alt setting @alt, named @name (NULL: none). */
struct dfuse_pack_target {
	uint8_t alt;
	const char *name;		/* up to 255 bytes; bTargetNamed 1 when set */
	uint32_t n_elements;
	const struct dfuse_pack_element *elements;
};

struct dfuse_pack_file {
	uint16_t vid, pid, bcd_device;	/* the DFU suffix's IDs */
	/*
	 * DFUImageSize: the file without its suffix (false: what fwupd
	 * requires), or with it (true: what dfuse-pack writes). dfu-util
	 * ignores the field; dfuse_parse() takes both.
	 */
	bool image_size_with_suffix;
	uint8_t n_targets;
	const struct dfuse_pack_target *targets;
};

enum dfuse_pack_err {
	DFUSE_PACK_OK = 0,
	DFUSE_PACK_NO_TARGETS,		/* no targets */
	DFUSE_PACK_NO_ELEMENTS,		/* a target without elements (fwupd refuses it) */
	DFUSE_PACK_NAME,		/* a target name longer than 255 bytes */
	DFUSE_PACK_ADDRESS,		/* an element runs past 0xffffffff */
	DFUSE_PACK_OVERLAP,		/* two elements of a target overlap */
	DFUSE_PACK_TOO_BIG,		/* the file would not fit DFUImageSize */
	DFUSE_PACK_SPACE,		/* the output buffer is too small */
	DFUSE_PACK_ERR_COUNT
};

/* What is wrong and what to do, for an error of dfuse_pack(). */
const char *dfuse_pack_strerror(enum dfuse_pack_err err);

/*
 * Write the DfuSe file @f describes (UM0391: prefix, targets, elements in
 * the order given, the DFU suffix with bcdDFU 0x011a and its dwCRC) to
 * @out, @cap bytes; *@len gets its length. With @out NULL and @cap 0 only
 * *@len is computed (after the same checks). @out holds nothing useful
 * unless DFUSE_PACK_OK is returned. dfuse_parse() takes every file it writes.
 */
enum dfuse_pack_err dfuse_pack(const struct dfuse_pack_file *f, uint8_t *out, size_t cap,
			       size_t *len);

/* --- the memory map of a DfuSe device ----------------------------------- */

#define DFUSE_PERM_READ		0x1
#define DFUSE_PERM_ERASE	0x2
#define DFUSE_PERM_WRITE	0x4
#define DFUSE_ZONE_NAME_LEN	256

/*
 * One line of the driver's sysfs attribute dfuse_map: @count sectors of
 * @size bytes from @start, of alt setting @alt, "ALT 0xSTART COUNT*SIZE
 * PERMS NAME" (PERMS: r/-, e/-, w/-), e.g. "0 0x08000000 4*16384 rew
 * Internal Flash".
 */
struct dfuse_zone {
	unsigned int alt;
	uint32_t start;
	uint32_t count;
	uint32_t size;
	uint8_t perms;			/* DFUSE_PERM_* */
	char name[DFUSE_ZONE_NAME_LEN];
};

/*
 * Parse the dfuse_map text @text into @z (at most @cap lines). Returns the
 * number of lines, or -1 when a line is malformed or there are more than
 * @cap (*@bad_line gets its 1-based number when @bad_line is not NULL).
 */
int dfuse_map_parse(const char *text, struct dfuse_zone *z, size_t cap, unsigned int *bad_line);

/* First byte after zone @z (64-bit: a zone may end at 4 GiB). */
uint64_t dfuse_zone_end(const struct dfuse_zone *z);

/*
 * The start of alt @alt's first zone (the first line for it), which is
 * file position 0 of /dev/dfuN for that alt. false: the alt has no zone.
 */
bool dfuse_map_base(const struct dfuse_zone *z, size_t n, unsigned int alt, uint32_t *base);

/*
 * Do the @len bytes from @address lie in zones of alt @alt that have all
 * the permissions @need? When not, *@bad gets the first address that does
 * not (and *@zone the index of its zone, or -1 when it is in none).
 * @len 0 is true.
 */
bool dfuse_map_covers(const struct dfuse_zone *z, size_t n, unsigned int alt,
		      uint32_t address, uint64_t len, uint8_t need, uint64_t *bad, int *zone);

/* "rew" for the permissions @perms: 3 characters and a NUL in @out. */
void dfuse_perms_str(uint8_t perms, char out[4]);

#endif
