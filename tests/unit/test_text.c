// SPDX-License-Identifier: GPL-2.0
/*
 * test_text.c - unit tests of userspace/text.c: device strings escaped for
 * a terminal and for JSON (no control sequence gets through, the output is
 * valid UTF-8, and the escaping reads back unambiguously)
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "text.h"

static size_t next(const char *s, uint32_t *cp)
{
	*cp = 0xdeadbeef;
	return text_utf8_next(s, cp);
}

static void utf8_valid(void **state)
{
	uint32_t cp;

	(void)state;
	assert_int_equal(1, next("A", &cp));
	assert_int_equal('A', cp);
	assert_int_equal(2, next("\xc3\xa9", &cp));		/* é */
	assert_int_equal(0xe9, cp);
	assert_int_equal(2, next("\xc2\x9b", &cp));		/* CSI, a C1 control */
	assert_int_equal(0x9b, cp);
	assert_int_equal(3, next("\xe2\x80\xae", &cp));	/* RIGHT-TO-LEFT OVERRIDE */
	assert_int_equal(0x202e, cp);
	assert_int_equal(3, next("\xef\xbf\xbd", &cp));
	assert_int_equal(0xfffd, cp);
	assert_int_equal(4, next("\xf0\x9f\x98\x80", &cp));
	assert_int_equal(0x1f600, cp);
	assert_int_equal(4, next("\xf4\x8f\xbf\xbf", &cp));
	assert_int_equal(0x10ffff, cp);
}

static void utf8_invalid(void **state)
{
	uint32_t cp;

	(void)state;
	assert_int_equal(0, next("\x80", &cp));		/* stray continuation */
	assert_int_equal(0, next("\xbf", &cp));
	assert_int_equal(0, next("\xc0\x80", &cp));		/* overlong NUL */
	assert_int_equal(0, next("\xc1\xbf", &cp));		/* overlong */
	assert_int_equal(0, next("\xe0\x80\x80", &cp));	/* overlong */
	assert_int_equal(0, next("\xf0\x80\x80\x80", &cp));	/* overlong */
	assert_int_equal(0, next("\xed\xa0\x80", &cp));	/* surrogate D800 */
	assert_int_equal(0, next("\xed\xbf\xbf", &cp));	/* surrogate DFFF */
	assert_int_equal(0, next("\xf4\x90\x80\x80", &cp));	/* 110000 */
	assert_int_equal(0, next("\xf5\x80\x80\x80", &cp));
	assert_int_equal(0, next("\xff", &cp));
	assert_int_equal(0, next("\xc3", &cp));		/* cut by the end */
	assert_int_equal(0, next("\xe2\x80", &cp));
	assert_int_equal(0, next("\xe2\x80" "A", &cp));	/* cut by another */
	assert_int_equal(0, next("\xf0\x9f\x98", &cp));
}

static void controls(void **state)
{
	(void)state;
	assert_true(text_is_control(0));
	assert_true(text_is_control(0x1b));
	assert_true(text_is_control(0x7f));
	assert_true(text_is_control(0x85));
	assert_true(text_is_control(0x9b));
	assert_true(text_is_control(0x202e));
	assert_true(text_is_control(0x2066));
	assert_true(text_is_control(0x061c));
	assert_false(text_is_control(' '));
	assert_false(text_is_control('~'));
	assert_false(text_is_control(0xa0));
	assert_false(text_is_control(0xe9));
	assert_false(text_is_control(0x2030));
}

static const char *esc(const char *s)
{
	static char buf[256];

	return text_escape(buf, sizeof(buf), s);
}

static void escape_plain(void **state)
{
	(void)state;
	assert_string_equal("EMU0", esc("EMU0"));
	assert_string_equal("", esc(""));
	assert_string_equal("caf\xc3\xa9 \xe2\x82\xac", esc("caf\xc3\xa9 \xe2\x82\xac"));
	assert_string_equal("CPID:8015 SRTG:[iBoot-3332.0.0.1.23]",
			    esc("CPID:8015 SRTG:[iBoot-3332.0.0.1.23]"));
}

static void escape_controls(void **state)
{
	(void)state;
	/* a serial that would clear the screen and retitle the terminal */
	assert_string_equal("\\e[2J\\e]0;pwned\\x07", esc("\x1b[2J\x1b]0;pwned\x07"));
	assert_string_equal("a\\nb\\rc\\td", esc("a\nb\rc\td"));
	assert_string_equal("\\x01\\x7f", esc("\x01\x7f"));
	assert_string_equal("\\u009b2J", esc("\xc2\x9b" "2J"));		/* C1 CSI */
	assert_string_equal("abc\\u202edcba", esc("abc\xe2\x80\xae" "dcba"));
	/* the escape character itself and the quote: no way to forge an escape */
	assert_string_equal("\\\\e[0m \\\"x\\\"", esc("\\e[0m \"x\""));
}

static void escape_invalid(void **state)
{
	(void)state;
	assert_string_equal("\\xff\\xfe", esc("\xff\xfe"));
	assert_string_equal("ab\\xc3", esc("ab\xc3"));			/* cut at the end */
	assert_string_equal("\\xed\\xa0\\x80", esc("\xed\xa0\x80"));	/* surrogate */
	assert_string_equal("\\xc0\\x80", esc("\xc0\x80"));
	/* Latin-1 as the device meant it arrives as UTF-8: kept */
	assert_string_equal("\xc3\xa9", esc("\xc3\xa9"));
}

/* Cut on whole characters and escapes, "..." when cut, never past size. */
static void escape_truncated(void **state)
{
	char buf[10];

	(void)state;
	memset(buf, 'Z', sizeof(buf));
	assert_string_equal("abcdefghi", text_escape(buf, sizeof(buf), "abcdefghi"));
	assert_string_equal("abcdef...", text_escape(buf, sizeof(buf), "abcdefghij"));
	assert_string_equal("abcd\\e...", text_escape(buf, sizeof(buf), "abcd\x1b[2Jxyz"));
	assert_string_equal("abcde...", text_escape(buf, sizeof(buf), "abcde\xe2\x82\xac\xe2\x82\xac"));
	assert_string_equal("\\e\\e\\e...", text_escape(buf, sizeof(buf), "\x1b\x1b\x1b\x1b\x1b"));
	assert_string_equal("\\e\\e\\e\\e", text_escape(buf, sizeof(buf), "\x1b\x1b\x1b\x1b"));
	assert_true(strlen(text_escape(buf, 8, "\xff\xff\xff\xff")) < 8);
}

/* Decode text_escape()'s output: the input comes back, byte for byte. */
static size_t unescape(const char *s, char *out)
{
	size_t n = 0;
	unsigned int v;

	while (*s) {
		if (*s != '\\') {
			out[n++] = *s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'n': out[n++] = '\n'; s++; break;
		case 'r': out[n++] = '\r'; s++; break;
		case 't': out[n++] = '\t'; s++; break;
		case 'e': out[n++] = 0x1b; s++; break;
		case '\\': case '"': out[n++] = *s++; break;
		case 'x':
			assert_int_equal(1, sscanf(s + 1, "%2x", &v));
			out[n++] = (char)v;
			s += 3;
			break;
		case 'u':
			assert_int_equal(1, sscanf(s + 1, "%4x", &v));
			if (v < 0x800) {
				out[n++] = (char)(0xc0 | v >> 6);
			} else {
				out[n++] = (char)(0xe0 | v >> 12);
				out[n++] = (char)(0x80 | (v >> 6 & 0x3f));
			}
			out[n++] = (char)(0x80 | (v & 0x3f));
			s += 5;
			break;
		default:
			fail_msg("unknown escape \\%c", *s);
		}
	}
	out[n] = 0;
	return n;
}

/* Is s valid UTF-8 with no byte below 0x20 and no DEL? (own checks, not text.c's) */
static int clean_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0, k, n;

	while (i < len) {
		unsigned char c = s[i];

		if (c < 0x20 || c == 0x7f)
			return 0;
		n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
		    (c & 0xf8) == 0xf0 ? 4 : 0;
		if (!n || (n == 2 && c < 0xc2) || (n == 4 && c > 0xf4) || i + n > len)
			return 0;
		for (k = 1; k < n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
		if (c == 0xe0 && s[i + 1] < 0xa0)
			return 0;
		if (c == 0xed && s[i + 1] >= 0xa0)
			return 0;
		if (c == 0xf0 && s[i + 1] < 0x90)
			return 0;
		if (c == 0xf4 && s[i + 1] >= 0x90)
			return 0;
		/* C1 controls (C2 80..9F) must have been escaped */
		if (c == 0xc2 && s[i + 1] < 0xa0)
			return 0;
		i += n;
	}
	return 1;
}

/* Random bytes: the escape is clean and reads back; JSON is clean UTF-8. */
static void random_strings(void **state)
{
	char in[64], buf[64 * 6 + 8], back[64 * 6 + 8], *json;
	size_t len, jlen, n;
	unsigned int round;
	FILE *f;

	(void)state;
	srand(1);
	for (round = 0; round < 20000; round++) {
		len = (size_t)(rand() % 63);
		for (n = 0; n < len; n++) {
			/* mostly the interesting bytes: controls, ESC, C2, E2, high */
			static const unsigned char pick[] = { 0x1b, 0x07, 0x0a, 0x5c, 0x22, 0x7f,
				0x80, 0x9b, 0xc2, 0xc3, 0xe2, 0x80, 0xae, 0xed, 0xa0, 0xf0, 0xf4,
				0x90, 0xff, 'A', '[' };

			in[n] = (char)(rand() % 3 ? pick[rand() % sizeof(pick)] : rand() % 255 + 1);
		}
		in[len] = 0;
		text_escape(buf, sizeof(buf), in);
		assert_true(clean_utf8((unsigned char *)buf, strlen(buf)));
		assert_int_equal(len, unescape(buf, back));
		assert_memory_equal(in, back, len);

		f = open_memstream(&json, &jlen);
		assert_non_null(f);
		text_json_str(f, in);
		fclose(f);
		assert_true(jlen >= 2 && json[0] == '"' && json[jlen - 1] == '"');
		assert_true(clean_utf8((unsigned char *)json, jlen));
		free(json);
	}
}

static char *json(const char *s)
{
	static char out[512];
	FILE *f = fmemopen(out, sizeof(out), "w");

	assert_non_null(f);
	text_json_str(f, s);
	fclose(f);
	return out;
}

static void json_strings(void **state)
{
	(void)state;
	assert_string_equal("\"EMU0\"", json("EMU0"));
	assert_string_equal("\"\"", json(""));
	assert_string_equal("\"a\\\"b\\\\c\"", json("a\"b\\c"));
	assert_string_equal("\"\\u001b[2J\\n\\u0007\"", json("\x1b[2J\n\x07"));
	assert_string_equal("\"\\u007f\\u009b\\u202e\"", json("\x7f\xc2\x9b\xe2\x80\xae"));
	assert_string_equal("\"caf\xc3\xa9\"", json("caf\xc3\xa9"));
	/* invalid UTF-8: the replacement character, one per byte */
	assert_string_equal("\"a\\ufffd\\ufffdb\"", json("a\xff\xc3" "b"));
	assert_string_equal("\"\\ufffd\\ufffd\\ufffd\"", json("\xed\xa0\x80"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(utf8_valid),
		cmocka_unit_test(utf8_invalid),
		cmocka_unit_test(controls),
		cmocka_unit_test(escape_plain),
		cmocka_unit_test(escape_controls),
		cmocka_unit_test(escape_invalid),
		cmocka_unit_test(escape_truncated),
		cmocka_unit_test(random_strings),
		cmocka_unit_test(json_strings),
	};

	return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
