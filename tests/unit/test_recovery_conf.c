// SPDX-License-Identifier: GPL-2.0
/*
 * test_recovery_conf.c - unit tests of userspace/recovery_conf.c, the
 * parser of /etc/dfu/recovery.conf: every line checked, each error with its
 * line number, mandatory image= and sha256=, serial= against the raw and
 * the by-serial form.
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

#include "recovery_conf.h"

#define SHA "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define SHA_BAD "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0g"
#define SHA_UC "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"

struct parsed {
	struct rconf c;
	int errors;
	char *msgs;	/* every message, one a line */
	size_t msgs_len;
};

/* Parse the len bytes of text as the file "r.conf". */
static void parse_n(struct parsed *p, const char *text, size_t len)
{
	FILE *in = fmemopen((void *)text, len, "r");
	FILE *err = open_memstream(&p->msgs, &p->msgs_len);

	assert_non_null(in);
	assert_non_null(err);
	p->errors = rconf_parse(in, "r.conf", "", &p->c, err);
	fclose(in);
	fclose(err);
}

static void parse(struct parsed *p, const char *text)
{
	parse_n(p, text, strlen(text));
}

static void done(struct parsed *p)
{
	rconf_free(&p->c);
	free(p->msgs);
}

/* The file has exactly one error, on line lineno, whose message holds what. */
static void one_error(const char *text, int lineno, const char *what)
{
	struct parsed p;
	char want[64];

	parse(&p, text);
	snprintf(want, sizeof(want), "r.conf:%d: ", lineno);
	if (p.errors != 1 || strncmp(p.msgs, want, strlen(want)) || !strstr(p.msgs, what)) {
		print_error("for %s: want one error '%s...%s', got %d:\n%s", text, want, what,
			    p.errors, p.msgs);
		done(&p);
		fail();
	}
	done(&p);
}

static void good_file(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "# appliance\n"
		  "\n"
		  "  commit = suffix # recommended\n"
		  "0483:df11 image=/usr/lib/firmware/board.dfu sha256=" SHA " verify=yes\n"
		  "1209:DF00\timage=/fw/a.dfu  sha256=" SHA_UC " serial=AB#1 alt=Flash # a comment\n"
		  "05ac:1227 image=/fw/ibss.img4 sha256=" SHA " serial=CPID:8015_CPRV:11 verify=no\n");
	assert_int_equal(0, p.errors);
	assert_int_equal(0, p.msgs_len);
	assert_int_equal(1, p.c.commit_suffix);
	assert_int_equal(3, p.c.commit_line);
	assert_int_equal(3, p.c.n);
	assert_int_equal(4, p.c.entries[0].lineno);
	assert_int_equal(0x0483, p.c.entries[0].vid);
	assert_int_equal(0xdf11, p.c.entries[0].pid);
	assert_string_equal("/usr/lib/firmware/board.dfu", p.c.entries[0].image);
	assert_string_equal("", p.c.entries[0].serial);
	assert_int_equal(1, p.c.entries[0].verify);
	assert_int_equal(0x1209, p.c.entries[1].vid);
	assert_int_equal(0xdf00, p.c.entries[1].pid);
	/* '#' inside a value is not a comment; the digest is kept in lower case */
	assert_string_equal("AB#1", p.c.entries[1].serial);
	assert_string_equal(SHA, p.c.entries[1].sha256);
	assert_string_equal("Flash", p.c.entries[1].alt);
	assert_int_equal(0, p.c.entries[1].verify);
	assert_int_equal(0, p.c.entries[2].verify);
	done(&p);

	/* the default commit policy; no last newline */
	parse(&p, "1209:df00 image=/a sha256=" SHA);
	assert_int_equal(0, p.errors);
	assert_int_equal(0, p.c.commit_suffix);
	assert_int_equal(0, p.c.commit_line);
	assert_int_equal(1, p.c.n);
	done(&p);
	parse(&p, "commit=explicit\n");
	assert_int_equal(0, p.errors);
	assert_int_equal(0, p.c.commit_suffix);
	assert_int_equal(1, p.c.commit_line);
	done(&p);
}

static void sha256_is_64_hex_digits(void **state)
{
	(void)state;
	one_error("1209:df00 image=/a sha256=" SHA "0\n", 1, "sha256= wants 64 hex digits");
	one_error("1209:df00 image=/a sha256=9f86d081\n", 1, "'9f86d081' is 8 characters");
	one_error("#\n1209:df00 image=/a sha256=" SHA_BAD "\n", 2, "with a non-hex one");
	one_error("1209:df00 image=/a sha256=\n", 1, "sha256= is empty");
	/* mandatory */
	one_error("1209:df00 image=/a verify=yes\n", 1, "has no sha256=");
}

static void paths(void **state)
{
	char *text = malloc(RCONF_PATH_MAX + 200);
	int n;

	(void)state;
	assert_non_null(text);
	one_error("1209:df00 image=fw/a.dfu sha256=" SHA "\n", 1, "image=fw/a.dfu is a relative path");
	one_error("1209:df00 image=./a.dfu sha256=" SHA "\n", 1, "relative path");
	one_error("1209:df00 sha256=" SHA "\n", 1, "has no image=");
	/* the longest path is fine, one byte more is not */
	n = sprintf(text, "1209:df00 sha256=" SHA " image=/");
	memset(text + n, 'a', RCONF_PATH_MAX - 1);
	text[n + RCONF_PATH_MAX - 1] = 0;
	{
		struct parsed p;

		parse(&p, text);
		assert_int_equal(0, p.errors);
		assert_int_equal(RCONF_PATH_MAX, strlen(p.c.entries[0].image));
		done(&p);
	}
	strcat(text, "b\n");
	one_error(text, 1, "image= is 4096 bytes long, more than a path can be (4095)");
	free(text);
}

static void serials(void **state)
{
	char text[1024];
	int n;

	(void)state;
	n = snprintf(text, sizeof(text), "1209:df00 image=/a sha256=" SHA " serial=");
	memset(text + n, 'S', RCONF_SERIAL_MAX);
	text[n + RCONF_SERIAL_MAX] = 0;
	{
		struct parsed p;

		parse(&p, text);
		assert_int_equal(0, p.errors);
		assert_int_equal(RCONF_SERIAL_MAX, strlen(p.c.entries[0].serial));
		done(&p);
	}
	strcat(text, "S");
	one_error(text, 1, "serial= is 384 bytes long, longer than a USB serial number can be (383)");
	one_error("1209:df00 image=/a sha256=" SHA " serial=\n", 1, "serial= is empty");
	one_error("1209:df00 image=/a sha256=" SHA " serial=1 serial=2\n", 1, "serial= is given twice");
}

static void keys_and_ids(void **state)
{
	(void)state;
	one_error("1209:df00 image=/a sha256=" SHA " sha=1\n", 1, "unknown key 'sha=' (the keys are image, sha256, serial, alt, verify)");
	one_error("1209:df00 image=/a sha256=" SHA " Image=/b\n", 1, "unknown key 'Image='");
	one_error("1209:df00 image=/a sha256=" SHA " verify\n", 1, "'verify' is not KEY=VALUE");
	one_error("1209:df00 image=/a sha256=" SHA " verify=1\n", 1, "verify=1: the values are 'yes' and 'no'");
	one_error("1209:df00 image=/a image=/b sha256=" SHA "\n", 1, "image= is given twice");
	one_error("1209:df00 image=/a sha256=" SHA " alt=\n", 1, "alt= is empty");
	one_error("0x12:34 image=/a sha256=" SHA "\n", 1, "'0x12:34' is not VID:PID");
	one_error("+483:df11 image=/a sha256=" SHA "\n", 1, "'+483:df11' is not VID:PID");
	one_error("483:df11 image=/a sha256=" SHA "\n", 1, "'483:df11' is not VID:PID");
	one_error("1209:df001 image=/a sha256=" SHA "\n", 1, "is not VID:PID");
	one_error("1209-df00 image=/a sha256=" SHA "\n", 1, "is not VID:PID");
	one_error("image=/a 1209:df00 sha256=" SHA "\n", 1, "'image=/a' is not VID:PID");
}

static void commit_setting(void **state)
{
	(void)state;
	one_error("commit = sometimes\n", 1, "commit = 'sometimes': the values are 'suffix' and 'explicit'");
	one_error("commit =\n", 1, "commit = '': the values");
	one_error("commit = suffix explicit\n", 1, "takes one value");
	one_error("commit = suffix\n\ncommit = suffix\n", 3, "commit = is set again (line 1 set it)");
}

static void line_endings_and_bytes(void **state)
{
	struct parsed p;
	char *text;

	(void)state;
	one_error("# ok\n1209:df00 image=/a sha256=" SHA "\r\n", 2, "CRLF");
	/* the rest of a CRLF line is checked too */
	parse(&p, "1209:df00 image=a sha256=" SHA "\r\n");
	assert_int_equal(2, p.errors);
	assert_non_null(strstr(p.msgs, "r.conf:1: the line ends in CRLF"));
	assert_non_null(strstr(p.msgs, "r.conf:1: image=a is a relative path"));
	done(&p);
	one_error("1209:df00 image=/a\rb sha256=" SHA "\n", 1, "control character 0x0d at column 19");
	one_error("\x1b[2J\n", 1, "control character 0x1b at column 1");
	parse_n(&p, "1209:df00 image=/a\0 sha256=" SHA "\n",
		sizeof("1209:df00 image=/a\0 sha256=" SHA "\n") - 1);
	assert_int_equal(1, p.errors);
	assert_non_null(strstr(p.msgs, "r.conf:1: a NUL byte"));
	done(&p);
	text = malloc(RCONF_LINE_MAX + 10);
	assert_non_null(text);
	memset(text, '#', RCONF_LINE_MAX + 1);
	strcpy(text + RCONF_LINE_MAX + 1, "\n");
	one_error(text, 1, "the line is 8193 bytes long, more than 8192");
	free(text);
}

/* Every line is checked: the errors of all lines, good lines in between. */
static void every_line(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p, "1209:df00 image=/a sha256=" SHA " serial=1\n"
		  "1209:df00 image=/b sha256=12 serial=2\n"
		  "1209:df00 image=/c sha256=" SHA " serial=3\n"
		  "1209:df00 image=/d sha256=" SHA " serial=4 colour=red\n"
		  "commit = never\n"
		  "1209:df00 image=/e sha256=" SHA " serial=5\n");
	assert_int_equal(3, p.errors);
	assert_non_null(strstr(p.msgs, "r.conf:2: sha256= wants 64 hex digits"));
	assert_non_null(strstr(p.msgs, "r.conf:4: unknown key 'colour='"));
	assert_non_null(strstr(p.msgs, "r.conf:5: commit = 'never'"));
	/* the good lines */
	assert_int_equal(3, p.c.n);
	assert_int_equal(1, p.c.entries[0].lineno);
	assert_int_equal(3, p.c.entries[1].lineno);
	assert_int_equal(6, p.c.entries[2].lineno);
	done(&p);
}

/* Two lines that can name one device: which image is meant? An error. */
static void one_line_per_device(void **state)
{
	struct parsed p;

	(void)state;
	one_error("1209:df00 image=/a sha256=" SHA "\n1209:df00 image=/b sha256=" SHA "\n", 2,
		  "1209:df00 (any serial) can be the same device as line 1's");
	one_error("1209:df00 image=/a sha256=" SHA " serial=X\n#\n1209:df00 image=/b sha256=" SHA "\n",
		  3, "line 1's");
	one_error("1209:df00 image=/a sha256=" SHA "\n1209:df00 image=/b sha256=" SHA " serial=X\n",
		  2, "1209:df00 serial=X can be the same device as line 1's");
	one_error("1209:df00 image=/a sha256=" SHA " serial=X\n1209:df00 image=/b sha256=" SHA " serial=X\n",
		  2, "line 1's");
	/* a device whose serial is "A,B" matches both serial=A,B and serial=A_B */
	one_error("1209:df00 image=/a sha256=" SHA " serial=A_B\n1209:df00 image=/b sha256=" SHA " serial=A,B\n",
		  2, "serial=A,B can be the same device as line 1's");
	/* different serials, or different IDs: fine */
	parse(&p, "1209:df00 image=/a sha256=" SHA " serial=A\n"
		  "1209:df00 image=/b sha256=" SHA " serial=B\n"
		  "1209:df01 image=/c sha256=" SHA "\n"
		  "1209:df02 image=/c sha256=" SHA " serial=A\n");
	assert_int_equal(0, p.errors);
	assert_int_equal(4, p.c.n);
	done(&p);
}

static void by_serial(void **state)
{
	char out[RCONF_SERIAL_MAX + 1];

	(void)state;
	rconf_by_serial("  CPID:8015 CPRV:11   CPFM:03\t", out, sizeof(out));
	assert_string_equal("CPID:8015_CPRV:11_CPFM:03", out);
	rconf_by_serial("SRTG:[iBoot-3332.0.0.1.23]", out, sizeof(out));
	assert_string_equal("SRTG:_iBoot-3332.0.0.1.23_", out);
	rconf_by_serial("a/b,c%d$e?f", out, sizeof(out));
	assert_string_equal("a_b_c_d_e_f", out);
	rconf_by_serial("#+-.:=@_azAZ09", out, sizeof(out));
	assert_string_equal("#+-.:=@_azAZ09", out);
	/* valid UTF-8 stays, invalid bytes and overlong forms do not */
	rconf_by_serial("Gr\xc3\xbc\xc3\x9f" "e", out, sizeof(out));
	assert_string_equal("Gr\xc3\xbc\xc3\x9f" "e", out);
	rconf_by_serial("a\xff" "b\xc0\xaf" "c", out, sizeof(out));
	assert_string_equal("a_b__c", out);
	/* udev keeps "\x" escapes */
	rconf_by_serial("a\\x20b\\c", out, sizeof(out));
	assert_string_equal("a\\x20b_c", out);
	rconf_by_serial("   ", out, sizeof(out));
	assert_string_equal("", out);
	/* never past the buffer */
	rconf_by_serial("abcdef", out, 4);
	assert_string_equal("abc", out);
}

static void matching(void **state)
{
	const char *apple = "CPID:8015 CPRV:11 CPFM:03 SCEP:01 BDID:0E ECID:001A2B3C4D5E6F70 IBFL:3C SRTG:[iBoot-3332.0.0.1.23]";
	const struct rconf_entry *e;
	struct parsed p;

	(void)state;
	parse(&p, "1209:df00 image=/raw sha256=" SHA " serial=A,B\n"
		  "1209:df00 image=/bs sha256=" SHA " serial=C_D\n"
		  "1209:df01 image=/any sha256=" SHA "\n"
		  "05ac:1227 image=/apple sha256=" SHA
		  " serial=CPID:8015_CPRV:11_CPFM:03_SCEP:01_BDID:0E_ECID:001A2B3C4D5E6F70_IBFL:3C_SRTG:_iBoot-3332.0.0.1.23_\n");
	assert_int_equal(0, p.errors);
	/* the raw serial */
	assert_int_equal(1, rconf_find(&p.c, 0x1209, 0xdf00, "A,B", &e));
	assert_string_equal("/raw", e->image);
	/* the by-serial form of the device's serial */
	assert_int_equal(1, rconf_find(&p.c, 0x1209, 0xdf00, "C D", &e));
	assert_string_equal("/bs", e->image);
	assert_int_equal(1, rconf_find(&p.c, 0x1209, 0xdf00, "C/D", &e));
	assert_int_equal(1, rconf_find(&p.c, 0x1209, 0xdf00, "C_D", &e));
	assert_int_equal(1, rconf_find(&p.c, 0x05ac, 0x1227, apple, &e));
	assert_string_equal("/apple", e->image);
	/* no line without serial= matches other IDs */
	assert_int_equal(0, rconf_find(&p.c, 0x1209, 0xdf00, "A_C", &e));
	assert_null(e);
	assert_int_equal(0, rconf_find(&p.c, 0x1209, 0xdf00, "", &e));
	assert_int_equal(0, rconf_find(&p.c, 0x1209, 0xdf02, "A,B", &e));
	/* serial= is matched whole, not as a prefix */
	assert_int_equal(0, rconf_find(&p.c, 0x1209, 0xdf00, "A,BC", &e));
	/* a line without serial= matches any serial, none too */
	assert_int_equal(1, rconf_find(&p.c, 0x1209, 0xdf01, "", &e));
	assert_int_equal(1, rconf_find(&p.c, 0x1209, 0xdf01, "anything", &e));
	assert_string_equal("/any", e->image);
	done(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_file),
		cmocka_unit_test(sha256_is_64_hex_digits),
		cmocka_unit_test(paths),
		cmocka_unit_test(serials),
		cmocka_unit_test(keys_and_ids),
		cmocka_unit_test(commit_setting),
		cmocka_unit_test(line_endings_and_bytes),
		cmocka_unit_test(every_line),
		cmocka_unit_test(one_line_per_device),
		cmocka_unit_test(by_serial),
		cmocka_unit_test(matching),
	};

	return cmocka_run_group_tests_name("recovery_conf", tests, NULL, NULL);
}
