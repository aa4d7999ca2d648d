// SPDX-License-Identifier: GPL-2.0
/*
 * recovery_conf.c - read /etc/dfu/recovery.conf, every line of it (see
 * recovery_conf.h for the format)
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "recovery_conf.h"

#define KEYS "image, sha256, serial, alt, verify"

struct ctx {
	const char *name, *prefix;
	FILE *err;
	int lineno, errors;
};

__attribute__((format(printf, 2, 3)))
static void bad(struct ctx *x, const char *fmt, ...)
{
	va_list ap;

	fprintf(x->err, "%s%s:%d: ", x->prefix, x->name, x->lineno);
	va_start(ap, fmt);
	vfprintf(x->err, fmt, ap);
	va_end(ap);
	fputc('\n', x->err);
	x->errors++;
}

/* The length of the valid UTF-8 sequence of 2 to 4 bytes at s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t len, i;
	uint32_t c;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	return len;
}

void rconf_by_serial(const char *serial, char *out, size_t size)
{
	const unsigned char *s = (const unsigned char *)serial;
	size_t end = strlen(serial), i = 0, j = 0, n;
	int space = 0;

	if (!size)
		return;
	while (end && isspace(s[end - 1]))
		end--;
	while (i < end && isspace(s[i]))
		i++;
	while (i < end && j + 1 < size) {
		if (isspace(s[i])) {
			space = 1;
			i++;
			continue;
		}
		if (space) {
			out[j++] = '_';
			space = 0;
			continue;
		}
		if (isalnum(s[i]) || strchr("#+-.:=@_", s[i])) {
			out[j++] = (char)s[i++];
		} else if (s[i] == '\\' && s[i + 1] == 'x' && j + 2 < size) {
			out[j++] = '\\';
			out[j++] = 'x';
			i += 2;
		} else if ((n = utf8_len(s + i)) && i + n <= end && j + n < size) {
			memcpy(out + j, s + i, n);
			i += n;
			j += n;
		} else {
			out[j++] = '_';
			i++;
		}
	}
	out[j] = 0;
}

static int serial_matches(const char *want, const char *serial)
{
	char bs[RCONF_SERIAL_MAX + 1];

	if (!strcmp(want, serial))
		return 1;
	rconf_by_serial(serial, bs, sizeof(bs));
	return *bs && !strcmp(want, bs);
}

int rconf_entry_matches(const struct rconf_entry *e, uint16_t vid, uint16_t pid,
			const char *serial)
{
	return e->vid == vid && e->pid == pid && (!*e->serial || serial_matches(e->serial, serial));
}

size_t rconf_find(const struct rconf *c, uint16_t vid, uint16_t pid, const char *serial,
		  const struct rconf_entry **first)
{
	size_t i, n = 0;

	*first = NULL;
	for (i = 0; i < c->n; i++) {
		if (!rconf_entry_matches(&c->entries[i], vid, pid, serial))
			continue;
		if (!n++)
			*first = &c->entries[i];
	}
	return n;
}

/* Can one device match both entries? */
static int overlap(const struct rconf_entry *a, const struct rconf_entry *b)
{
	if (a->vid != b->vid || a->pid != b->pid)
		return 0;
	if (!*a->serial || !*b->serial)
		return 1;
	/* a device whose serial is one of them matches the other too */
	return serial_matches(a->serial, b->serial) || serial_matches(b->serial, a->serial);
}

static int hex4(const char *s, uint16_t *v)
{
	int i;

	for (i = 0; i < 4; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	*v = (uint16_t)strtoul(s, NULL, 16);
	return 1;
}

/* "commit = VALUE" (blanks optional) in the comment-free line p. */
static void parse_commit(struct ctx *x, const char *p, struct rconf *c)
{
	char value[32] = "";
	const char *v;
	size_t n;

	p += strspn(p, " \t") + 6;
	p += strspn(p, " \t");
	p++;	/* '=' */
	p += strspn(p, " \t");
	v = p;
	n = strcspn(p, " \t");
	if (n && n < sizeof(value))
		memcpy(value, p, n);
	p += n;
	p += strspn(p, " \t");
	if (*p) {
		bad(x, "commit = takes one value, 'suffix' or 'explicit'; remove '%s'", p);
		return;
	}
	if (strcmp(value, "suffix") && strcmp(value, "explicit")) {
		bad(x, "commit = '%.*s': the values are 'suffix' and 'explicit'", (int)n, v);
		return;
	}
	if (c->commit_line) {
		bad(x, "commit = is set again (line %d set it): keep one", c->commit_line);
		return;
	}
	c->commit_suffix = !strcmp(value, "suffix");
	c->commit_line = x->lineno;
}

/* Is the comment-free line p a commit setting ("commit" then "=")? */
static int is_commit(const char *p)
{
	p += strspn(p, " \t");
	if (strncmp(p, "commit", 6))
		return 0;
	p += 6;
	p += strspn(p, " \t");
	return *p == '=';
}

/* One KEY=VALUE of an entry line. */
static void parse_key(struct ctx *x, const char *tok, struct rconf_entry *e, unsigned int *seen)
{
	static const char *const keys[] = { "image", "sha256", "serial", "alt", "verify" };
	const char *eq = strchr(tok, '='), *v;
	size_t klen, vlen, k, i;

	if (!eq) {
		bad(x, "'%s' is not KEY=VALUE (the keys are " KEYS ")", tok);
		return;
	}
	klen = (size_t)(eq - tok);
	v = eq + 1;
	vlen = strlen(v);
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (strlen(keys[k]) == klen && !strncmp(tok, keys[k], klen))
			break;
	if (k == sizeof(keys) / sizeof(keys[0])) {
		bad(x, "unknown key '%.*s=' (the keys are " KEYS ")", (int)klen, tok);
		return;
	}
	if (*seen & 1u << k) {
		bad(x, "%s= is given twice", keys[k]);
		return;
	}
	*seen |= 1u << k;
	if (!vlen) {
		bad(x, "%s= is empty", keys[k]);
		return;
	}
	switch (k) {
	case 0:
		if (*v != '/')
			bad(x, "image=%s is a relative path: give the absolute path (the service does not run in your directory)",
			    v);
		else if (vlen > RCONF_PATH_MAX)
			bad(x, "image= is %zu bytes long, more than a path can be (%d)", vlen,
			    RCONF_PATH_MAX);
		else
			memcpy(e->image, v, vlen + 1);
		break;
	case 1:
		for (i = 0; i < vlen && isxdigit((unsigned char)v[i]); i++)
			;
		if (vlen != 64 || i != vlen) {
			bad(x, "sha256= wants 64 hex digits, and '%s' is %zu characters%s: write what 'sha256sum IMAGE' prints",
			    v, vlen, i != vlen ? " with a non-hex one" : "");
			break;
		}
		for (i = 0; i < 64; i++)
			e->sha256[i] = (char)tolower((unsigned char)v[i]);
		e->sha256[64] = 0;
		break;
	case 2:
		if (vlen > RCONF_SERIAL_MAX)
			bad(x, "serial= is %zu bytes long, longer than a USB serial number can be (%d)",
			    vlen, RCONF_SERIAL_MAX);
		else
			memcpy(e->serial, v, vlen + 1);
		break;
	case 3:
		if (vlen > RCONF_ALT_MAX)
			bad(x, "alt= is %zu bytes long, longer than an alt setting's name can be (%d)",
			    vlen, RCONF_ALT_MAX);
		else
			memcpy(e->alt, v, vlen + 1);
		break;
	default:
		if (!strcmp(v, "yes") || !strcmp(v, "no"))
			e->verify = !strcmp(v, "yes");
		else
			bad(x, "verify=%s: the values are 'yes' and 'no'", v);
		break;
	}
}

/* An entry line (comment-free, blanks at its ends allowed); 1 if it is good. */
static int parse_entry(struct ctx *x, char *line, struct rconf_entry *e)
{
	char *tok, *save = NULL;
	unsigned int seen = 0;
	int before = x->errors;

	memset(e, 0, sizeof(*e));
	e->lineno = x->lineno;
	tok = strtok_r(line, " \t", &save);
	if (strlen(tok) != 9 || tok[4] != ':' || !hex4(tok, &e->vid) || !hex4(tok + 5, &e->pid)) {
		bad(x, "'%s' is not VID:PID (4 hex digits each, as in 0483:df11), which starts a device's line",
		    tok);
		return 0;
	}
	while ((tok = strtok_r(NULL, " \t", &save)))
		parse_key(x, tok, e, &seen);
	if (!(seen & 1))
		bad(x, "%04x:%04x has no image=/PATH", e->vid, e->pid);
	if (!(seen & 2))
		bad(x, "%04x:%04x has no sha256=: recovery flashes only images whose SHA-256 is written down here (sha256sum IMAGE)",
		    e->vid, e->pid);
	return x->errors == before;
}

/* Check the raw line (without its '\n', len bytes); 1 when it can be parsed. */
static int line_ok(struct ctx *x, char *line, size_t len)
{
	size_t i;

	if (len > RCONF_LINE_MAX) {
		bad(x, "the line is %zu bytes long, more than %d", len, RCONF_LINE_MAX);
		return 0;
	}
	if (strlen(line) != len) {
		bad(x, "a NUL byte: this is not a text file");
		return 0;
	}
	if (len && line[len - 1] == '\r') {
		bad(x, "the line ends in CRLF (a DOS line ending): convert the file with dos2unix or sed -i 's/\\r$//'");
		/* and check the rest of it */
		line[len - 1] = 0;
		len--;
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			bad(x, "control character 0x%02x at column %zu", ch, i + 1);
			return 0;
		}
	}
	return 1;
}

/* Cut the comment: '#' at the start or after a blank. */
static void cut_comment(char *line)
{
	char *p;

	for (p = line; *p; p++)
		if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
			*p = 0;
			return;
		}
}

int rconf_parse(FILE *in, const char *name, const char *prefix, struct rconf *c, FILE *err)
{
	struct ctx x = { name, prefix, err, 0, 0 };
	struct rconf_entry *e = NULL, *grown;
	size_t cap = 0, size = 0, i, j;
	char *line = NULL;
	ssize_t got;

	memset(c, 0, sizeof(*c));
	while (errno = 0, (got = getline(&line, &size, in)) >= 0) {
		size_t len = (size_t)got;

		x.lineno++;
		if (len && line[len - 1] == '\n')
			line[--len] = 0;
		if (!line_ok(&x, line, len))
			continue;
		/* (a CR at the end is gone, reported) */
		cut_comment(line);
		if (!line[strspn(line, " \t")])
			continue;
		if (is_commit(line)) {
			parse_commit(&x, line, c);
			continue;
		}
		if (c->n == cap) {
			cap = cap ? 2 * cap : 8;
			grown = realloc(c->entries, cap * sizeof(*grown));
			if (!grown)
				goto oom;
			c->entries = grown;
		}
		e = &c->entries[c->n];
		if (parse_entry(&x, line, e))
			c->n++;
	}
	if (errno) {
		fprintf(err, "%s%s: reading: %s\n", prefix, name, strerror(errno));
		free(line);
		return -1;
	}
	free(line);
	for (j = 1; j < c->n; j++)
		for (i = 0; i < j; i++)
			if (overlap(&c->entries[i], &c->entries[j])) {
				x.lineno = c->entries[j].lineno;
				bad(&x, "%04x:%04x %s%s can be the same device as line %d's: a device must match one line (give each its serial=)",
				    c->entries[j].vid, c->entries[j].pid,
				    *c->entries[j].serial ? "serial=" : "(any serial)",
				    c->entries[j].serial, c->entries[i].lineno);
				break;
			}
	return x.errors;
oom:
	fprintf(err, "%s%s: out of memory\n", prefix, name);
	free(line);
	return -1;
}

void rconf_free(struct rconf *c)
{
	free(c->entries);
	memset(c, 0, sizeof(*c));
}
