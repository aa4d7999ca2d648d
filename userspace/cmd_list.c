// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_list.c - dfuctl list [--json]: every DFU node and what it is, and
 * the Apple devices in recovery mode or in DFU mode without a node
 *
 * Nothing is sent to any device: the descriptors, strings and the state
 * the driver last saw come from sysfs and udev, and the dialect from
 * USB_DFU_IOCTL_GET_INFO (the driver's copy of the descriptors), so list
 * neither wakes a device nor waits behind a transfer. dfuctl status is
 * the command that asks (dfuctl_find_test.list_sends_nothing counts the
 * requests).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <linux/usb/dfu.h>

#include "apple.h"
#include "commands.h"
#include "device.h"
#include "dfuse.h"
#include "text.h"

static struct dfuse_zone zones[DFUSE_MAX_ZONES];

/* The DfuSe memory map of d (sysfs dfuse_map): its zones, or -1 if none. */
static int map_of(const struct dfu_dev_desc *d)
{
	if (!d->dfuse)
		return -1;
	return dfuse_map_parse(d->dfuse_map, zones, DFUSE_MAX_ZONES, NULL);
}

/* A JSON string: valid UTF-8, control characters escaped (text.h). */
static void json_str(const char *s)
{
	text_json_str(stdout, s);
}

/* A JSON string, or null for "". */
static void json_str_or_null(const char *s)
{
	if (*s)
		json_str(s);
	else
		fputs("null", stdout);
}

/* ", \"apple\": {...}": the identity in serial, and the mode. */
static void json_apple(const char *serial, const char *mode)
{
	struct apple_id id;

	apple_parse_serial(serial, &id);
	printf(", \"apple\": {\"mode\": \"%s\", \"cpid\": ", mode);
	json_str_or_null(id.cpid);
	printf(", \"bdid\": ");
	json_str_or_null(id.bdid);
	printf(", \"ecid\": ");
	json_str_or_null(id.ecid);
	printf(", \"rom\": ");
	json_str_or_null(id.srtg);
	putchar('}');
}

static const char *dialect_name(const struct dfu_dev_desc *d)
{
	switch (d->dialect) {
	case USB_DFU_DIALECT_DFUSE:
		return "dfuse";
	case USB_DFU_DIALECT_APPLE:
		return "apple";
	default:
		return "dfu";
	}
}

/* What to do with an Apple device that has no node, in one line. */
static const char *apple_note(const struct apple_usb *a, char *buf, size_t size)
{
	char bind[8] = "";
	FILE *f;

	if (apple_mode_of(a->vid, a->pid) == APPLE_RECOVERY)
		return "recovery mode is not DFU and not served by dfu.ko: use irecovery or idevicerestore";
	if (!strcmp(a->driver, "usbfs"))
		return "not bound to dfu.ko: a libusb program such as irecovery has claimed it";
	f = fopen("/sys/module/dfu/parameters/bind_apple", "r");
	if (f) {
		if (!fgets(bind, sizeof(bind), f))
			bind[0] = 0;
		fclose(f);
	}
	if (access("/sys/module/dfu", F_OK))
		snprintf(buf, size, "no DFU node: dfu.ko is not loaded, so irecovery owns it (modprobe dfu to flash it with dfuctl)");
	else if (bind[0] == 'N')
		snprintf(buf, size, "no DFU node: dfu.ko's bind_apple is N, so irecovery owns it (to flash it with dfuctl: echo Y > /sys/module/dfu/parameters/bind_apple, then replug)");
	else
		snprintf(buf, size, "no DFU node: not bound to dfu.ko (unbound, or dfu.ko loaded with bind_apple=N when it arrived), so irecovery owns it (replug to let dfu.ko bind it)");
	return buf;
}

static const char *apple_mode_name(const struct apple_usb *a)
{
	return apple_mode_of(a->vid, a->pid) == APPLE_RECOVERY ? "recovery" : "dfu";
}

static void print_json(const struct dfu_dev_desc *v, int n, const struct apple_usb *ap, int na)
{
	const char *names, *sep;
	struct dev_alt a;
	unsigned int l;
	int i, z, nz;

	putchar('[');
	for (i = 0; i < n; i++) {
		const struct dfu_dev_desc *d = &v[i];

		printf("%s\n  {\"node\": ", i ? "," : "");
		json_str(d->node);
		printf(", \"vid\": \"%04x\", \"pid\": \"%04x\", \"serial\": ", d->vid, d->pid);
		json_str(d->serial);
		printf(", \"mode\": ");
		json_str(d->mode);
		printf(", \"state\": ");
		json_str(d->state);
		printf(", \"interface\": %u, \"alt\": %u, \"alts\": [", d->interface, d->alt);
		for (names = d->alt_names, sep = ""; dev_next_alt(&names, &a); sep = ", ") {
			printf("%s{\"alt\": %u, \"name\": ", sep, a.num);
			json_str(a.name);
			putchar('}');
		}
		printf("], \"transfer_size\": %u, \"dfu_version\": ", d->transfer_size);
		json_str(d->version);
		printf(", \"attributes\": \"0x%02x\", \"usb_path\": ", d->attributes);
		json_str(d->usb_path);
		printf(", \"id_path\": ");
		json_str(d->id_path);
		printf(", \"links\": [");
		for (l = 0; l < d->n_links; l++) {
			printf("%s", l ? ", " : "");
			json_str(d->links[l]);
		}
		printf("], \"dialect\": \"%s\"", dialect_name(d));
		if (d->dialect == USB_DFU_DIALECT_APPLE)
			json_apple(d->serial, "dfu");
		nz = map_of(d);
		if (d->dfuse) {
			printf(", \"dfuse_leave\": %d, \"dfuse_map\": [", d->dfuse_leave);
			for (z = 0; z < nz; z++) {
				char perms[4];

				dfuse_perms_str(zones[z].perms, perms);
				printf("%s{\"alt\": %u, \"start\": \"0x%08x\", \"count\": %u, \"size\": %u, \"perms\": \"%s\", \"name\": ",
				       z ? ", " : "", zones[z].alt, zones[z].start, zones[z].count,
				       zones[z].size, perms);
				json_str(zones[z].name);
				putchar('}');
			}
			putchar(']');
		}
		putchar('}');
	}
	/* Apple devices without a node: "node" is null */
	for (i = 0; i < na; i++) {
		char note[256];

		printf("%s\n  {\"node\": null, \"vid\": \"%04x\", \"pid\": \"%04x\", \"serial\": ",
		       n + i ? "," : "", ap[i].vid, ap[i].pid);
		json_str(ap[i].serial);
		printf(", \"mode\": \"%s\", \"usb_path\": ", apple_mode_name(&ap[i]));
		json_str(ap[i].usb_path);
		printf(", \"driver\": ");
		json_str_or_null(ap[i].driver);
		json_apple(ap[i].serial, apple_mode_name(&ap[i]));
		printf(", \"note\": ");
		json_str(apple_note(&ap[i], note, sizeof(note)));
		putchar('}');
	}
	printf("%s]\n", n + na ? "\n" : "");
}

/* "    Apple device in DFU mode: CPID 8015, BDID 0E, ECID ..., ROM ..." */
static void print_apple(const char *serial, const char *mode)
{
	struct apple_id id;
	char line[256], esc[1024];

	apple_parse_serial(serial, &id);
	printf("    Apple device in %s mode: %s\n", mode,
	       text_escape(esc, sizeof(esc), apple_id_str(&id, line, sizeof(line))));
}

static void print_text(const struct dfu_dev_desc *v, int n, const struct apple_usb *ap, int na)
{
	/* device strings: escaped, never terminal control sequences (text.h) */
	char esc[4 * 384];
	const char *names;
	struct dev_alt a;
	unsigned int l;
	int i;

	if (!n && !na)
		puts("no DFU devices (is dfu.ko loaded and a device plugged in?)");
	for (i = 0; i < n; i++) {
		const struct dfu_dev_desc *d = &v[i];

		printf("%s  %04x:%04x  serial \"%s\"  %s mode, %s\n", d->node, d->vid, d->pid,
		       text_escape(esc, sizeof(esc), d->serial), d->mode, d->state);
		if (d->dialect == USB_DFU_DIALECT_APPLE)
			print_apple(d->serial, "DFU");
		printf("    USB path %s%s%s, interface %u, DFU %s, %u-byte blocks\n",
		       d->usb_path, *d->id_path ? ", " : "", d->id_path, d->interface,
		       d->version, d->transfer_size);
		for (names = d->alt_names; dev_next_alt(&names, &a);)
			printf("    alt %u: %s\n", a.num,
			       *a.name ? text_escape(esc, sizeof(esc), a.name) : "(unnamed)");
		if (d->dfuse) {
			int nz = map_of(d);

			printf("    ST DfuSe memory map%s:\n",
			       d->dfuse_leave == 0 ? " (dfuse_leave 0: stays in DFU mode after a flash)" : "");
			if (nz < 0)
				printf("      (unreadable: %s)\n",
				       text_escape(esc, sizeof(esc), d->dfuse_map));
			else
				dfuse_print_zones(stdout, "      ", zones, (size_t)nz, -1);
		}
		for (l = 0; l < d->n_links; l++)
			printf("    link %s\n", d->links[l]);
	}
	for (i = 0; i < na; i++) {
		char note[256];
		int rec = apple_mode_of(ap[i].vid, ap[i].pid) == APPLE_RECOVERY;

		printf("USB %s  %04x:%04x  serial \"%s\"  %s mode, no DFU node\n", ap[i].usb_path,
		       ap[i].vid, ap[i].pid, text_escape(esc, sizeof(esc), ap[i].serial),
		       apple_mode_name(&ap[i]));
		print_apple(ap[i].serial, rec ? "recovery" : "DFU");
		printf("    %s\n", apple_note(&ap[i], note, sizeof(note)));
	}
}

int cmd_list(int argc, char **argv)
{
	struct dfu_dev_desc *v;
	struct apple_usb *a;
	int json = 0, n, na, i;

	if (argc == 2 && !strcmp(argv[1], "--json"))
		json = 1;
	else if (argc != 1)
		return usage_error("usage: dfuctl list [--json]");
	n = dev_list(&v);
	if (n < 0)
		return EX_OSERR;
	/* GET_INFO where the node can be opened (sends nothing), else sysfs;
	 * never GET_STATE or GET_STATUS, which would ask the device */
	for (i = 0; i < n; i++)
		dev_read_dialect(&v[i]);
	na = dev_list_apple(&a);
	if (na < 0) {
		free(v);
		return EX_OSERR;
	}
	if (json)
		print_json(v, n, a, na);
	else
		print_text(v, n, a, na);
	free(v);
	free(a);
	return EX_OK;
}
