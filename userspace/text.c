// SPDX-License-Identifier: GPL-2.0
/* text.c - device strings made safe to print (see text.h) */
#include <stdio.h>
#include <string.h>

#include "text.h"

size_t text_utf8_next(const char *str, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t c, min;
	size_t n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;	/* a continuation byte, C0/C1 (overlong), F5-FF */
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;	/* cut short (the NUL too) */
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

int text_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c ||
	       cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/* The escape of one control character cp into e (at least 7 bytes). */
static void escape_control(char *e, size_t size, uint32_t cp)
{
	switch (cp) {
	case '\n': snprintf(e, size, "\\n"); break;
	case '\r': snprintf(e, size, "\\r"); break;
	case '\t': snprintf(e, size, "\\t"); break;
	case 0x1b: snprintf(e, size, "\\e"); break;
	default:
		if (cp < 0x80)
			snprintf(e, size, "\\x%02x", (unsigned int)(cp & 0xff));
		else
			snprintf(e, size, "\\u%04x", (unsigned int)(cp & 0xffff));
	}
}

/*
 * The escape of the character at s into e: returns what to copy (e, or s
 * itself for plain text) with its length in *elen; *n gets the bytes of s
 * it stands for.
 */
static const char *piece(const char *s, char e[12], size_t *n, size_t *elen)
{
	uint32_t cp;

	*n = text_utf8_next(s, &cp);
	if (!*n) {
		snprintf(e, 12, "\\x%02x", (unsigned char)*s);
		*n = 1;
	} else if (cp == '\\' || cp == '"') {
		snprintf(e, 12, "\\%c", (char)cp);
	} else if (text_is_control(cp)) {
		escape_control(e, 12, cp);
	} else {
		*elen = *n;	/* plain text */
		return s;
	}
	*elen = strlen(e);
	return e;
}

const char *text_escape(char *buf, size_t size, const char *s)
{
	size_t used = 0, total = 0, n, elen, room;
	const char *p, *t;
	char e[12];

	if (!size)
		return buf;
	for (t = s; *t; t += n) {
		piece(t, e, &n, &elen);
		total += elen;
	}
	/* all of it, or as much as leaves room for "..." */
	room = total < size ? size : size > 3 ? size - 3 : 0;
	for (t = s; *t; t += n) {
		p = piece(t, e, &n, &elen);
		if (used + elen >= room)
			break;
		memcpy(buf + used, p, elen);
		used += elen;
	}
	if (*t && used + 3 < size) {
		memcpy(buf + used, "...", 3);
		used += 3;
	}
	buf[used] = 0;
	return buf;
}

void text_json_str(FILE *f, const char *s)
{
	uint32_t cp;
	size_t n;

	putc('"', f);
	while (*s) {
		n = text_utf8_next(s, &cp);
		if (!n) {
			fputs("\\ufffd", f);	/* not UTF-8: the replacement character */
			n = 1;
		} else if (cp == '"' || cp == '\\') {
			fprintf(f, "\\%c", (char)cp);
		} else if (cp == '\n') {
			fputs("\\n", f);
		} else if (cp == '\r') {
			fputs("\\r", f);
		} else if (cp == '\t') {
			fputs("\\t", f);
		} else if (text_is_control(cp)) {
			fprintf(f, "\\u%04x", (unsigned int)cp);
		} else {
			fwrite(s, 1, n, f);
		}
		s += n;
	}
	putc('"', f);
}
