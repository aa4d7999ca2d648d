// SPDX-License-Identifier: GPL-2.0
/* dfuse.c - check and walk an ST DfuSe file (UM0391 v1.1a) */
#include <string.h>

#include "dfuse.h"
#include "le.h"

/* Offsets in the prefix, a target prefix and an element header. */
#define PREFIX_VERSION		5
#define PREFIX_IMAGE_SIZE	6
#define PREFIX_TARGETS		10
#define TARGET_ALT		6
#define TARGET_NAMED		7
#define TARGET_NAME		11
#define TARGET_SIZE		266
#define TARGET_ELEMENTS		270
#define ELEMENT_ADDRESS		0
#define ELEMENT_SIZE		4

#define DAMAGED "the file is damaged or was not made by a DfuSe tool: get a fresh copy, or rebuild it (e.g. with dfuse-pack)"

static const char *const messages[DFUSE_ERR_COUNT] = {
	[DFUSE_OK] = "valid DfuSe file",
	[DFUSE_ERR_TOO_SHORT] =
		"too short for a DfuSe file (11-byte prefix): this is not a DfuSe image",
	[DFUSE_ERR_PREFIX] =
		"no \"DfuSe\" signature at the start: this is not a DfuSe image "
		"(a plain image is flashed as it is)",
	[DFUSE_ERR_VERSION] =
		"DfuSe format version is not 1, the only one there is: " DAMAGED,
	[DFUSE_ERR_SUFFIX] =
		"a DfuSe file must end with a valid DFU suffix and this one does not: " DAMAGED,
	[DFUSE_ERR_SUFFIX_VERSION] =
		"the DFU suffix of a DfuSe file must have bcdDFU 0x011a: rebuild it "
		"('dfuctl suffix remove FILE', then 'dfuctl suffix add FILE --spec 011a "
		"--vid VID --pid PID')",
	[DFUSE_ERR_IMAGE_SIZE] =
		"DFUImageSize in the DfuSe prefix is not the size of the file (with or "
		"without its suffix), so the file was cut or extended: " DAMAGED,
	[DFUSE_ERR_NO_TARGETS] =
		"the DfuSe file has no targets, so nothing to flash: use the image "
		"the vendor ships for the device",
	[DFUSE_ERR_TARGET_TRUNCATED] =
		"the DfuSe prefix counts more targets than the file holds: " DAMAGED,
	[DFUSE_ERR_TARGET_SIGNATURE] =
		"a DfuSe target does not start with \"Target\": " DAMAGED,
	[DFUSE_ERR_TARGET_SIZE] =
		"a DfuSe target's size (dwTargetSize) runs past the end of the file or "
		"is not what its elements take: " DAMAGED,
	[DFUSE_ERR_ELEMENT_TRUNCATED] =
		"a DfuSe target counts more elements than the file holds: " DAMAGED,
	[DFUSE_ERR_ELEMENT_SIZE] =
		"a DfuSe element's data runs past the end of the file: " DAMAGED,
	[DFUSE_ERR_ELEMENT_ADDRESS] =
		"a DfuSe element runs past address 0xffffffff: " DAMAGED,
	[DFUSE_ERR_TRAILING] =
		"there are bytes between the last DfuSe target and the suffix: "
		"the target count is too small or the file was extended: " DAMAGED,
};

const char *dfuse_strerror(enum dfuse_err err)
{
	if ((unsigned int)err >= DFUSE_ERR_COUNT)
		return "unknown DfuSe error";
	return messages[err];
}

bool dfuse_is_dfuse(const uint8_t *buf, size_t len)
{
	return len >= 5 && !memcmp(buf, "DfuSe", 5);
}

size_t dfuse_first_target(const struct dfuse_file *f)
{
	(void)f;
	return DFUSE_PREFIX_LEN;
}

/* Are @n bytes at @offset within the data before the suffix? */
static bool fits(const struct dfuse_file *f, size_t offset, size_t n)
{
	return offset <= f->body_len && n <= f->body_len - offset;
}

enum dfuse_err dfuse_target_at(const struct dfuse_file *f, size_t offset,
			       struct dfuse_target *t)
{
	const uint8_t *p;

	memset(t, 0, sizeof(*t));
	t->offset = offset;
	if (!fits(f, offset, DFUSE_TARGET_LEN))
		return DFUSE_ERR_TARGET_TRUNCATED;
	p = f->buf + offset;
	if (memcmp(p, "Target", 6))
		return DFUSE_ERR_TARGET_SIGNATURE;
	t->alt = p[TARGET_ALT];
	t->named = le32_get(p + TARGET_NAMED);
	t->name = p + TARGET_NAME;
	t->name_len = strnlen((const char *)t->name, DFUSE_NAME_LEN);
	t->size = le32_get(p + TARGET_SIZE);
	t->n_elements = le32_get(p + TARGET_ELEMENTS);
	t->elements = offset + DFUSE_TARGET_LEN;
	if (!fits(f, t->elements, t->size))
		return DFUSE_ERR_TARGET_SIZE;
	t->next = t->elements + t->size;
	return DFUSE_OK;
}

enum dfuse_err dfuse_element_at(const struct dfuse_file *f, size_t offset,
				struct dfuse_element *e)
{
	const uint8_t *p;

	memset(e, 0, sizeof(*e));
	e->offset = offset;
	if (!fits(f, offset, DFUSE_ELEMENT_LEN))
		return DFUSE_ERR_ELEMENT_TRUNCATED;
	p = f->buf + offset;
	e->address = le32_get(p + ELEMENT_ADDRESS);
	e->size = le32_get(p + ELEMENT_SIZE);
	if (!fits(f, offset + DFUSE_ELEMENT_LEN, e->size))
		return DFUSE_ERR_ELEMENT_SIZE;
	if (e->size && e->address > UINT32_MAX - (e->size - 1))
		return DFUSE_ERR_ELEMENT_ADDRESS;
	e->data = p + DFUSE_ELEMENT_LEN;
	e->next = offset + DFUSE_ELEMENT_LEN + e->size;
	return DFUSE_OK;
}

/* Walk the elements of target @t; they must fill its dwTargetSize exactly. */
static enum dfuse_err check_elements(struct dfuse_file *f, const struct dfuse_target *t)
{
	struct dfuse_element e;
	size_t offset = t->elements;
	enum dfuse_err err;
	uint32_t i;

	for (i = 0; i < t->n_elements; i++) {
		f->err_element = i;
		f->err_offset = offset;
		err = dfuse_element_at(f, offset, &e);
		if (err)
			return err;
		if (e.next > t->next)
			return DFUSE_ERR_TARGET_SIZE;
		offset = e.next;
	}
	f->err_offset = t->offset;
	return offset == t->next ? DFUSE_OK : DFUSE_ERR_TARGET_SIZE;
}

enum dfuse_err dfuse_parse(const uint8_t *buf, size_t len, struct dfuse_file *f)
{
	struct dfuse_target t;
	enum dfuse_err err;
	size_t offset;
	unsigned int i;

	memset(f, 0, sizeof(*f));
	f->buf = buf;
	f->len = len;
	if (len < DFUSE_PREFIX_LEN)
		return DFUSE_ERR_TOO_SHORT;
	if (!dfuse_is_dfuse(buf, len))
		return DFUSE_ERR_PREFIX;
	f->version = buf[PREFIX_VERSION];
	f->image_size = le32_get(buf + PREFIX_IMAGE_SIZE);
	f->n_targets = buf[PREFIX_TARGETS];
	if (f->version != 1)
		return DFUSE_ERR_VERSION;

	f->suffix_err = suffix_parse(buf, len, &f->suffix);
	f->err_offset = len >= SUFFIX_LEN ? len - SUFFIX_LEN : 0;
	if (f->suffix_err)
		return DFUSE_ERR_SUFFIX;
	if (f->suffix.bcdDFU != SUFFIX_BCD_DFUSE)
		return DFUSE_ERR_SUFFIX_VERSION;
	f->body_len = len - f->suffix.bLength;
	/* the suffix's extra bytes must not overlap the prefix */
	if (f->body_len < DFUSE_PREFIX_LEN)
		return DFUSE_ERR_TOO_SHORT;
	f->err_offset = PREFIX_IMAGE_SIZE;
	if (f->image_size != len && f->image_size != f->body_len)
		return DFUSE_ERR_IMAGE_SIZE;
	f->err_offset = PREFIX_TARGETS;
	if (!f->n_targets)
		return DFUSE_ERR_NO_TARGETS;

	offset = dfuse_first_target(f);
	for (i = 0; i < f->n_targets; i++) {
		f->err_target = i;
		f->err_offset = offset;
		err = dfuse_target_at(f, offset, &t);
		if (err)
			return err;
		err = check_elements(f, &t);
		if (err)
			return err;
		offset = t.next;
	}
	f->err_offset = offset;
	if (offset != f->body_len)
		return DFUSE_ERR_TRAILING;
	f->err_offset = 0;
	return DFUSE_OK;
}
