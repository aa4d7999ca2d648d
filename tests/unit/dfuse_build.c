// SPDX-License-Identifier: GPL-2.0
/* dfuse_build.c - write ST DfuSe files (UM0391 v1.1a) for the tests */
#include <string.h>
#include <zlib.h>

#include "dfuse_build.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

/* The DFU CRC, from zlib's own (kept apart from the library under test). */
static uint32_t dfu_crc(const uint8_t *buf, size_t len)
{
	return ~(uint32_t)crc32(0, buf, (uInt)len);
}

void reseal(uint8_t *buf, size_t len)
{
	put32(buf + len - 4, dfu_crc(buf, len - 4));
}

size_t dfuse_build(uint8_t *out, size_t cap, const struct build_file *f)
{
	size_t n = 11, total, body;
	unsigned int i;
	uint32_t j;

	for (i = 0; i < f->n_targets; i++) {
		n += 274;
		for (j = 0; j < f->targets[i].n_elements; j++)
			n += 8 + f->targets[i].elements[j].size;
	}
	body = n;
	total = body + f->extra_suffix + 16;
	if (total > cap)
		return 0;
	memset(out, 0, total);

	memcpy(out, "DfuSe", 5);
	out[5] = 1;
	put32(out + 6, (uint32_t)(f->size_without_suffix ? body : total));
	out[10] = f->n_targets;
	n = 11;
	for (i = 0; i < f->n_targets; i++) {
		const struct build_target *t = &f->targets[i];
		uint8_t *p = out + n;
		uint32_t size = 0;

		memcpy(p, "Target", 6);
		p[6] = t->alt;
		if (t->name) {
			size_t len = strlen(t->name);

			put32(p + 7, 1);
			memcpy(p + 11, t->name, len < 255 ? len : 255);
		}
		for (j = 0; j < t->n_elements; j++)
			size += 8 + t->elements[j].size;
		put32(p + 266, size);
		put32(p + 270, t->n_elements);
		n += 274;
		for (j = 0; j < t->n_elements; j++) {
			const struct build_element *e = &t->elements[j];

			put32(out + n, e->address);
			put32(out + n + 4, e->size);
			if (e->size)
				memcpy(out + n + 8, e->data, e->size);
			n += 8 + e->size;
		}
	}
	n += f->extra_suffix;
	put16(out + n, f->did);
	put16(out + n + 2, f->pid);
	put16(out + n + 4, f->vid);
	put16(out + n + 6, 0x011a);
	memcpy(out + n + 8, "UFD", 3);
	out[n + 11] = (uint8_t)(16 + f->extra_suffix);
	reseal(out, total);
	return total;
}

size_t dfuse_build_st(uint8_t *out, size_t cap)
{
	static const uint8_t data[] = { 0xde, 0xad, 0xbe, 0xef };
	static const struct build_element element = { 0x08000000, data, sizeof(data) };
	static const struct build_target target = { 0, "ST...", &element, 1 };
	static const struct build_file file = {
		.targets = &target, .n_targets = 1, .vid = 0x0483, .pid = 0xdf11, .did = 0,
	};

	return dfuse_build(out, cap, &file);
}
