/* SPDX-License-Identifier: GPL-2.0 */
/*
 * text.h - device strings (serial numbers, product and alt setting names)
 * made safe to print
 *
 * A USB device chooses its strings: the kernel turns their UTF-16 into
 * UTF-8 and passes control characters on (the dfu driver replaces C0
 * controls in alt names with '?', the USB core keeps them in "serial").
 * Printed raw, ESC [ ... from a device moves the cursor, rewrites lines or
 * retitles the terminal, and a byte cut in the middle of a UTF-8 sequence
 * makes JSON invalid. These functions escape what is not plain text.
 */
#ifndef DFUCTL_TEXT_H
#define DFUCTL_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Decode one UTF-8 character at s (s[0] != 0) into *cp: returns its length
 * in bytes, 1 to 4, or 0 when s does not start with a valid, shortest-form
 * sequence of a Unicode scalar value (a stray continuation byte, a cut or
 * overlong sequence, a surrogate, beyond U+10FFFF).
 */
size_t text_utf8_next(const char *s, uint32_t *cp);

/*
 * Is cp a character a terminal acts on or that changes how text around it
 * reads: C0 controls, DEL, C1 controls (U+0080-U+009F: 0x9b is CSI), and
 * the bidirectional formatting characters (U+061C, U+200E, U+200F,
 * U+202A-U+202E, U+2066-U+2069) that can make a line show in another order?
 */
int text_is_control(uint32_t cp);

/*
 * s for a terminal, in buf (size bytes, at least 8): plain UTF-8 text as
 * it is; a backslash as \\ and a double quote as \" (so that the result
 * reads back unambiguously between quotes); other control characters as
 * \n \r \t \e, or \xNN (C0, DEL), or \uNNNN (C1, bidi); each byte that is
 * not valid UTF-8 as \xNN. When buf is too small, whole characters or
 * escapes are kept and "..." ends it. Returns buf.
 */
const char *text_escape(char *buf, size_t size, const char *s);

/*
 * s as a JSON string, quotes included, to f: valid UTF-8 as it is; '"' and
 * '\' escaped; control characters (text_is_control()) as \uNNNN, or \n, \r,
 * \t; each byte that is not valid UTF-8 as \ufffd (the replacement
 * character), so that the output is valid UTF-8 and valid JSON.
 */
void text_json_str(FILE *f, const char *s);

#endif
