// SPDX-License-Identifier: GPL-2.0
/*
 * apple.c - Apple devices in DFU and recovery mode: their USB IDs and the
 * identity in their serial number string (see apple.h)
 */
#include <stdio.h>
#include <string.h>

#include "apple.h"

enum apple_mode apple_mode_of(uint16_t vid, uint16_t pid)
{
	if (vid != APPLE_VID)
		return APPLE_NONE;
	if (pid == 0x1227 || pid == 0x1222)
		return APPLE_DFU;
	if (pid >= 0x1280 && pid <= 0x1283)
		return APPLE_RECOVERY;
	return APPLE_NONE;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_key_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Copy n bytes of value into buf, printable ASCII only. */
static void copy_value(char *buf, size_t size, const char *v, size_t n)
{
	size_t i;

	if (!size)
		return;
	if (n > size - 1)
		n = size - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		buf[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	buf[n] = 0;
}

int apple_serial_field(const char *serial, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);
	const char *p = serial ? serial : "";

	if (size)
		buf[0] = 0;
	while (*p) {
		const char *k, *v, *end;
		size_t n;

		while (is_space(*p))
			p++;
		if (!*p)
			break;
		/* a field: KEY ':' VALUE, VALUE being [...] or up to white space */
		k = p;
		while (is_key_char(*p))
			p++;
		n = (size_t)(p - k);
		if (*p != ':' || !n) {
			/* not a field: skip this word (a bracket runs to its end) */
			while (*p && !is_space(*p)) {
				if (*p++ == '[') {
					end = strchr(p, ']');
					p = end ? end + 1 : p + strlen(p);
				}
			}
			continue;
		}
		v = p + 1;
		if (*v == '[') {
			v++;
			end = strchr(v, ']');
			if (!end)	/* unterminated: the rest */
				end = v + strlen(v);
			p = *end ? end + 1 : end;
		} else {
			for (end = v; *end && !is_space(*end); end++)
				;
			p = end;
		}
		if (n == klen && !strncmp(k, key, klen)) {
			copy_value(buf, size, v, (size_t)(end - v));
			return 1;
		}
	}
	return 0;
}

int apple_parse_serial(const char *serial, struct apple_id *id)
{
	int n = 0;

	n += apple_serial_field(serial, "CPID", id->cpid, sizeof(id->cpid));
	n += apple_serial_field(serial, "BDID", id->bdid, sizeof(id->bdid));
	n += apple_serial_field(serial, "ECID", id->ecid, sizeof(id->ecid));
	n += apple_serial_field(serial, "SRTG", id->srtg, sizeof(id->srtg));
	return n;
}

char *apple_id_str(const struct apple_id *id, char *buf, size_t size)
{
	const struct {
		const char *name;
		const char *value;
	} f[] = {
		{ "CPID", id->cpid }, { "BDID", id->bdid }, { "ECID", id->ecid },
		{ "ROM", id->srtg },
	};
	size_t used = 0, i;

	if (!size)
		return buf;
	buf[0] = 0;
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		int w;

		if (!*f[i].value)
			continue;
		w = snprintf(buf + used, size - used, "%s%s %s", used ? ", " : "", f[i].name,
			     f[i].value);
		if (w < 0 || (size_t)w >= size - used) {
			buf[used] = 0;	/* whole fields only */
			return buf;
		}
		used += (size_t)w;
	}
	if (!used)
		snprintf(buf, size, "identity unknown (no CPID, BDID, ECID or SRTG in the serial number)");
	return buf;
}
