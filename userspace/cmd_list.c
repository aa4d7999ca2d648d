// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_list.c - dfuctl list [--json]: every DFU node and what it is
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "commands.h"
#include "device.h"
#include "dfuse.h"

static struct dfuse_zone zones[DFUSE_MAX_ZONES];

/* The DfuSe memory map of d (sysfs dfuse_map): its zones, or -1 if none. */
static int map_of(const struct dfu_dev_desc *d)
{
	if (!d->dfuse)
		return -1;
	return dfuse_map_parse(d->dfuse_map, zones, DFUSE_MAX_ZONES, NULL);
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_json(const struct dfu_dev_desc *v, int n)
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
		printf("], \"dialect\": \"%s\"", d->dfuse ? "dfuse" : "dfu");
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
	printf("%s]\n", n ? "\n" : "");
}

static void print_text(const struct dfu_dev_desc *v, int n)
{
	const char *names;
	struct dev_alt a;
	unsigned int l;
	int i;

	if (!n)
		puts("no DFU devices (is dfu.ko loaded and a device plugged in?)");
	for (i = 0; i < n; i++) {
		const struct dfu_dev_desc *d = &v[i];

		printf("%s  %04x:%04x  serial \"%s\"  %s mode, %s\n", d->node, d->vid, d->pid,
		       d->serial, d->mode, d->state);
		printf("    USB path %s%s%s, interface %u, DFU %s, %u-byte blocks\n",
		       d->usb_path, *d->id_path ? ", " : "", d->id_path, d->interface,
		       d->version, d->transfer_size);
		for (names = d->alt_names; dev_next_alt(&names, &a);)
			printf("    alt %u: %s\n", a.num, *a.name ? a.name : "(unnamed)");
		if (d->dfuse) {
			int nz = map_of(d);

			printf("    ST DfuSe memory map%s:\n",
			       d->dfuse_leave == 0 ? " (dfuse_leave 0: stays in DFU mode after a flash)" : "");
			if (nz < 0)
				printf("      (unreadable: %s)\n", d->dfuse_map);
			else
				dfuse_print_zones(stdout, "      ", zones, (size_t)nz, -1);
		}
		for (l = 0; l < d->n_links; l++)
			printf("    link %s\n", d->links[l]);
	}
}

int cmd_list(int argc, char **argv)
{
	struct dfu_dev_desc *v;
	int json = 0, n;

	if (argc == 2 && !strcmp(argv[1], "--json"))
		json = 1;
	else if (argc != 1)
		return usage_error("usage: dfuctl list [--json]");
	n = dev_list(&v);
	if (n < 0)
		return EX_OSERR;
	if (json)
		print_json(v, n);
	else
		print_text(v, n);
	free(v);
	return EX_OK;
}
