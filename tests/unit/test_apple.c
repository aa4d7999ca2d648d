// SPDX-License-Identifier: GPL-2.0
/*
 * test_apple.c - unit tests of userspace/apple.c: Apple USB IDs and the
 * identity fields of an Apple device's serial number string
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "apple.h"

/* what the SecureROM of the example sends */
#define ROM_SERIAL "CPID:8015 CPRV:11 CPFM:03 SCEP:01 BDID:0E ECID:001A2B3C4D5E6F70 IBFL:3C SRTG:[iBoot-3332.0.0.1.23]"

static void ids(void **state)
{
	(void)state;
	assert_int_equal(APPLE_DFU, apple_mode_of(0x05ac, 0x1227));
	assert_int_equal(APPLE_DFU, apple_mode_of(0x05ac, 0x1222));
	assert_int_equal(APPLE_RECOVERY, apple_mode_of(0x05ac, 0x1280));
	assert_int_equal(APPLE_RECOVERY, apple_mode_of(0x05ac, 0x1281));
	assert_int_equal(APPLE_RECOVERY, apple_mode_of(0x05ac, 0x1283));
	assert_int_equal(APPLE_NONE, apple_mode_of(0x05ac, 0x1284));
	assert_int_equal(APPLE_NONE, apple_mode_of(0x05ac, 0x127f));
	assert_int_equal(APPLE_NONE, apple_mode_of(0x05ac, 0x12a8));	/* normal mode */
	assert_int_equal(APPLE_NONE, apple_mode_of(0x1209, 0x1227));
}

static void rom_serial(void **state)
{
	struct apple_id id;
	char line[256];

	(void)state;
	assert_int_equal(4, apple_parse_serial(ROM_SERIAL, &id));
	assert_string_equal("8015", id.cpid);
	assert_string_equal("0E", id.bdid);
	assert_string_equal("001A2B3C4D5E6F70", id.ecid);
	assert_string_equal("iBoot-3332.0.0.1.23", id.srtg);
	assert_string_equal("CPID 8015, BDID 0E, ECID 001A2B3C4D5E6F70, ROM iBoot-3332.0.0.1.23",
			    apple_id_str(&id, line, sizeof(line)));
}

/* Fields in another order, a newer ROM's SDOM, and extra white space. */
static void any_order(void **state)
{
	struct apple_id id;
	char v[32];

	(void)state;
	assert_int_equal(4, apple_parse_serial("  SRTG:[iBoot-4479.0.0.100.4]\tSDOM:01 ECID:000A1B2C3D4E5F60  "
					       "BDID:10 CPID:8030 ", &id));
	assert_string_equal("8030", id.cpid);
	assert_string_equal("10", id.bdid);
	assert_string_equal("000A1B2C3D4E5F60", id.ecid);
	assert_string_equal("iBoot-4479.0.0.100.4", id.srtg);
	assert_int_equal(1, apple_serial_field("CPID:8030 SDOM:01", "SDOM", v, sizeof(v)));
	assert_string_equal("01", v);
}

/* Recovery mode: no SRTG, bracketed fields with spaces in them. */
static void recovery_serial(void **state)
{
	struct apple_id id;
	char line[256], v[64];

	(void)state;
	assert_int_equal(3, apple_parse_serial("CPID:8015 CPRV:11 CPFM:03 SCEP:01 BDID:0E ECID:001A2B3C4D5E6F70 "
					       "IBFL:3C SRNM:[F2 LX 1234] IMEI:[356000000000000]", &id));
	assert_string_equal("", id.srtg);
	assert_string_equal("001A2B3C4D5E6F70", id.ecid);
	assert_string_equal("CPID 8015, BDID 0E, ECID 001A2B3C4D5E6F70",
			    apple_id_str(&id, line, sizeof(line)));
	assert_int_equal(1, apple_serial_field("SRNM:[F2 LX 1234] ECID:01", "SRNM", v, sizeof(v)));
	assert_string_equal("F2 LX 1234", v);
}

/* Missing fields are "", and a serial without any is not an identity. */
static void missing_fields(void **state)
{
	struct apple_id id;
	char line[256];

	(void)state;
	assert_int_equal(1, apple_parse_serial("ECID:00000000000000AB", &id));
	assert_string_equal("", id.cpid);
	assert_string_equal("", id.bdid);
	assert_string_equal("00000000000000AB", id.ecid);
	assert_string_equal("ECID 00000000000000AB", apple_id_str(&id, line, sizeof(line)));
	assert_int_equal(0, apple_parse_serial("T1234-0", &id));
	assert_string_equal("", id.cpid);
	assert_int_equal(0, apple_parse_serial("", &id));
	assert_int_equal(0, apple_parse_serial(NULL, &id));
	assert_string_equal("identity unknown (no CPID, BDID, ECID or SRTG in the serial number)",
			    apple_id_str(&id, line, sizeof(line)));
}

/*
 * Only whole fields count: not a key inside another key (XECID), nor
 * text inside a bracketed value, nor a word without a colon; the first
 * of two fields wins; a key is exact (no lower case match).
 */
static void whole_fields_only(void **state)
{
	char v[64];

	(void)state;
	assert_int_equal(0, apple_serial_field("XECID:1234", "ECID", v, sizeof(v)));
	assert_string_equal("", v);
	assert_int_equal(0, apple_serial_field("SRNM:[x ECID:99 y]", "ECID", v, sizeof(v)));
	assert_int_equal(0, apple_serial_field("ECID 1234 ECIDX:5", "ECID", v, sizeof(v)));
	assert_int_equal(1, apple_serial_field("junk[a ECID:7] ECID:42", "ECID", v, sizeof(v)));
	assert_string_equal("42", v);
	assert_int_equal(1, apple_serial_field("ECID:1 ECID:2", "ECID", v, sizeof(v)));
	assert_string_equal("1", v);
	assert_int_equal(0, apple_serial_field("ecid:1", "ECID", v, sizeof(v)));
	assert_int_equal(0, apple_serial_field(":1 ECI:2", "ECID", v, sizeof(v)));
	/* an empty value is a field */
	assert_int_equal(1, apple_serial_field("CPID: BDID:0E", "CPID", v, sizeof(v)));
	assert_string_equal("", v);
	assert_int_equal(1, apple_serial_field("CPID:8015 BDID:0E", "BDID", v, sizeof(v)));
	assert_string_equal("0E", v);
}

/* Malformed values: unterminated brackets, long values, bytes that are not ASCII. */
static void hostile_values(void **state)
{
	char v[8], big[600];
	struct apple_id id;

	(void)state;
	assert_int_equal(1, apple_serial_field("SRTG:[iBoot-1 ECID:55", "SRTG", v, sizeof(v)));
	assert_string_equal("iBoot-1", v);	/* truncated to 7 */
	/* the unterminated bracket swallows the rest: no ECID field after it */
	assert_int_equal(0, apple_serial_field("SRTG:[iBoot-1 ECID:55", "ECID", v, sizeof(v)));
	assert_int_equal(1, apple_serial_field("SRTG:[] ECID:55", "SRTG", v, sizeof(v)));
	assert_string_equal("", v);
	assert_int_equal(1, apple_serial_field("SRTG:[] ECID:55", "ECID", v, sizeof(v)));
	assert_string_equal("55", v);
	assert_int_equal(1, apple_serial_field("CPID:80\x01\xc3\xa9", "CPID", v, sizeof(v)));
	assert_string_equal("80???", v);
	assert_int_equal(1, apple_serial_field("CPID:123456789", "CPID", v, 1));
	assert_string_equal("", v);

	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	memcpy(big, "ECID:", 5);
	assert_int_equal(1, apple_parse_serial(big, &id));
	assert_int_equal(sizeof(id.ecid) - 1, strlen(id.ecid));
	memcpy(big, "SRTG:[", 6);
	assert_int_equal(1, apple_parse_serial(big, &id));
	assert_int_equal(sizeof(id.srtg) - 1, strlen(id.srtg));
}

/* The line is cut at the buffer's end, never past it. */
static void line_truncated(void **state)
{
	struct apple_id id;
	char line[20];

	(void)state;
	apple_parse_serial(ROM_SERIAL, &id);
	apple_id_str(&id, line, sizeof(line));
	assert_true(strlen(line) < sizeof(line));
	assert_string_equal("CPID 8015, BDID 0E", line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ids),
		cmocka_unit_test(rom_serial),
		cmocka_unit_test(any_order),
		cmocka_unit_test(recovery_serial),
		cmocka_unit_test(missing_fields),
		cmocka_unit_test(whole_fields_only),
		cmocka_unit_test(hostile_values),
		cmocka_unit_test(line_truncated),
	};

	return cmocka_run_group_tests_name("apple", tests, NULL, NULL);
}
