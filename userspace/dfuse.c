// SPDX-License-Identifier: GPL-2.0
/*
 * dfuse.c - check, walk and write ST DfuSe files (UM0391 v1.1a), and read
 * the memory map a DfuSe device shows in sysfs (dfuse_map)
 */
#include <stdio.h>
#include <stdlib.h>
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

/* --- writing DfuSe files ------------------------------------------------ */

static const char *const pack_messages[DFUSE_PACK_ERR_COUNT] = {
	[DFUSE_PACK_OK] = "packed",
	[DFUSE_PACK_NO_TARGETS] = "a DfuSe file needs at least one target: give an input file",
	[DFUSE_PACK_NO_ELEMENTS] =
		"a DfuSe target needs at least one element (fwupd refuses empty ones): give an input file",
	[DFUSE_PACK_NAME] = "a DfuSe target name has at most 255 bytes: shorten --name",
	[DFUSE_PACK_ADDRESS] =
		"an element runs past address 0xffffffff: check its address and size",
	[DFUSE_PACK_OVERLAP] =
		"two elements of one target overlap, so one would overwrite the other: check their addresses and sizes",
	[DFUSE_PACK_TOO_BIG] = "the DfuSe file would be 4 GiB or more: split the input",
	[DFUSE_PACK_SPACE] = "internal error: the output buffer is too small",
};

const char *dfuse_pack_strerror(enum dfuse_pack_err err)
{
	if ((unsigned int)err >= DFUSE_PACK_ERR_COUNT)
		return "unknown DfuSe packing error";
	return pack_messages[err];
}

/* Check the description and compute the size of its file without suffix. */
static enum dfuse_pack_err pack_check(const struct dfuse_pack_file *f, uint64_t *body)
{
	uint64_t n = DFUSE_PREFIX_LEN;
	unsigned int i;
	uint32_t j, k;

	if (!f->n_targets || !f->targets)
		return DFUSE_PACK_NO_TARGETS;
	for (i = 0; i < f->n_targets; i++) {
		const struct dfuse_pack_target *t = &f->targets[i];

		if (!t->n_elements || !t->elements)
			return DFUSE_PACK_NO_ELEMENTS;
		if (t->name && strlen(t->name) > DFUSE_NAME_LEN)
			return DFUSE_PACK_NAME;
		n += DFUSE_TARGET_LEN;
		for (j = 0; j < t->n_elements; j++) {
			const struct dfuse_pack_element *e = &t->elements[j];
			uint64_t end = (uint64_t)e->address + e->size;

			if (end > (uint64_t)UINT32_MAX + 1)
				return DFUSE_PACK_ADDRESS;
			for (k = 0; k < j; k++) {
				const struct dfuse_pack_element *o = &t->elements[k];

				if (e->size && o->size && e->address < (uint64_t)o->address + o->size &&
				    o->address < end)
					return DFUSE_PACK_OVERLAP;
			}
			n += DFUSE_ELEMENT_LEN + (uint64_t)e->size;
			/* dwTargetSize is a u32 too: the file's limit covers it */
			if (n + SUFFIX_LEN > UINT32_MAX)
				return DFUSE_PACK_TOO_BIG;
		}
	}
	*body = n;
	return DFUSE_PACK_OK;
}

enum dfuse_pack_err dfuse_pack(const struct dfuse_pack_file *f, uint8_t *out, size_t cap,
			       size_t *len)
{
	struct dfu_suffix s;
	enum dfuse_pack_err err;
	uint64_t body;
	size_t at;
	unsigned int i;
	uint32_t j;

	err = pack_check(f, &body);
	if (err)
		return err;
	if (body + SUFFIX_LEN > SIZE_MAX)
		return DFUSE_PACK_TOO_BIG;
	*len = (size_t)body + SUFFIX_LEN;
	if (!out && !cap)
		return DFUSE_PACK_OK;
	if (!out || cap < *len)
		return DFUSE_PACK_SPACE;

	memcpy(out, "DfuSe", 5);
	out[PREFIX_VERSION] = 1;
	le32_put(out + PREFIX_IMAGE_SIZE,
		 (uint32_t)(f->image_size_with_suffix ? *len : body));
	out[PREFIX_TARGETS] = f->n_targets;
	at = DFUSE_PREFIX_LEN;
	for (i = 0; i < f->n_targets; i++) {
		const struct dfuse_pack_target *t = &f->targets[i];
		uint8_t *p = out + at;
		uint64_t size = 0;

		memset(p, 0, DFUSE_TARGET_LEN);
		memcpy(p, "Target", 6);
		p[TARGET_ALT] = t->alt;
		if (t->name) {
			le32_put(p + TARGET_NAMED, 1);
			memcpy(p + TARGET_NAME, t->name, strlen(t->name));
		}
		for (j = 0; j < t->n_elements; j++)
			size += DFUSE_ELEMENT_LEN + (uint64_t)t->elements[j].size;
		le32_put(p + TARGET_SIZE, (uint32_t)size);
		le32_put(p + TARGET_ELEMENTS, t->n_elements);
		at += DFUSE_TARGET_LEN;
		for (j = 0; j < t->n_elements; j++) {
			const struct dfuse_pack_element *e = &t->elements[j];

			le32_put(out + at + ELEMENT_ADDRESS, e->address);
			le32_put(out + at + ELEMENT_SIZE, e->size);
			at += DFUSE_ELEMENT_LEN;
			if (e->size)
				memcpy(out + at, e->data, e->size);
			at += e->size;
		}
	}
	suffix_init(&s);
	s.idVendor = f->vid;
	s.idProduct = f->pid;
	s.bcdDevice = f->bcd_device;
	s.bcdDFU = SUFFIX_BCD_DFUSE;
	suffix_build(out, at, &s, out + at);
	return DFUSE_PACK_OK;
}

/* --- the memory map of a DfuSe device ----------------------------------- */

uint64_t dfuse_zone_end(const struct dfuse_zone *z)
{
	return (uint64_t)z->start + (uint64_t)z->count * z->size;
}

/* One line "ALT 0xSTART COUNT*SIZE PERMS NAME" of @n bytes at @p. */
static bool parse_zone(const char *p, size_t n, struct dfuse_zone *z)
{
	char line[64 + DFUSE_ZONE_NAME_LEN], perms[4];
	unsigned long alt, count, size, start;
	int name_at = -1;
	char *end;

	if (n >= sizeof(line))
		return false;
	memcpy(line, p, n);
	line[n] = 0;
	memset(z, 0, sizeof(*z));
	alt = strtoul(line, &end, 10);
	if (end == line || *end != ' ' || alt > 255)
		return false;
	p = end + 1;
	if (strncmp(p, "0x", 2))
		return false;
	start = strtoul(p + 2, &end, 16);
	if (end == p + 2 || *end != ' ' || start > UINT32_MAX)
		return false;
	p = end + 1;
	count = strtoul(p, &end, 10);
	if (end == p || *end != '*' || !count || count > UINT32_MAX)
		return false;
	p = end + 1;
	size = strtoul(p, &end, 10);
	if (end == p || *end != ' ' || !size || size > UINT32_MAX)
		return false;
	p = end + 1;
	if (sscanf(p, "%3[-rew]%n", perms, &name_at) != 1 || name_at != 3 ||
	    (p[3] && p[3] != ' '))
		return false;
	if ((perms[0] != 'r' && perms[0] != '-') || (perms[1] != 'e' && perms[1] != '-') ||
	    (perms[2] != 'w' && perms[2] != '-'))
		return false;
	z->alt = (unsigned int)alt;
	z->start = (uint32_t)start;
	z->count = (uint32_t)count;
	z->size = (uint32_t)size;
	z->perms = (perms[0] == 'r' ? DFUSE_PERM_READ : 0) |
		   (perms[1] == 'e' ? DFUSE_PERM_ERASE : 0) |
		   (perms[2] == 'w' ? DFUSE_PERM_WRITE : 0);
	snprintf(z->name, sizeof(z->name), "%s", p[3] ? p + 4 : "");
	return dfuse_zone_end(z) <= (uint64_t)UINT32_MAX + 1;
}

int dfuse_map_parse(const char *text, struct dfuse_zone *z, size_t cap, unsigned int *bad_line)
{
	unsigned int line = 0;
	size_t n = 0, len;

	while (*text) {
		len = strcspn(text, "\n");
		line++;
		if (len) {
			if (n == cap || !parse_zone(text, len, &z[n])) {
				if (bad_line)
					*bad_line = line;
				return -1;
			}
			n++;
		}
		text += len + (text[len] == '\n');
	}
	return (int)n;
}

bool dfuse_map_base(const struct dfuse_zone *z, size_t n, unsigned int alt, uint32_t *base)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (z[i].alt == alt) {
			*base = z[i].start;
			return true;
		}
	}
	return false;
}

bool dfuse_map_covers(const struct dfuse_zone *z, size_t n, unsigned int alt,
		      uint32_t address, uint64_t len, uint8_t need, uint64_t *bad, int *zone)
{
	uint64_t at = address, end = (uint64_t)address + len;
	size_t i;

	while (at < end) {
		for (i = 0; i < n; i++)
			if (z[i].alt == alt && z[i].start <= at && at < dfuse_zone_end(&z[i]))
				break;
		if (i == n || (z[i].perms & need) != need) {
			*bad = at;
			*zone = i == n ? -1 : (int)i;
			return false;
		}
		at = dfuse_zone_end(&z[i]);
	}
	return true;
}

void dfuse_perms_str(uint8_t perms, char out[4])
{
	out[0] = perms & DFUSE_PERM_READ ? 'r' : '-';
	out[1] = perms & DFUSE_PERM_ERASE ? 'e' : '-';
	out[2] = perms & DFUSE_PERM_WRITE ? 'w' : '-';
	out[3] = 0;
}
