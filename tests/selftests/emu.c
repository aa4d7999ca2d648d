// SPDX-License-Identifier: GPL-2.0
/*
 * emu.c - helpers of the DFU selftests: the emulated device's life cycle,
 * files, sysfs and module parameters, and the node: ioctls and flashing
 * through /dev/dfuN.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/usb/dfu.h>

#include "emu.h"

#define EMU_MAX_ARGS	96
#define NODE_WAIT_MS	20000

static const char *emu_binary(void)
{
	const char *p = getenv("DFU_EMU");

	return p ? p : "/payload/dfu-emu";
}

long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

long long ms_since(long long t0_us)
{
	return (now_us() - t0_us) / 1000;
}

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Read fd to its end with read() calls of at most chunk bytes; closes fd. */
static unsigned char *read_fd(int fd, size_t *len, size_t chunk)
{
	unsigned char *buf = NULL;
	size_t size = 0, cap = 0;
	ssize_t n;

	if (fd < 0)
		return NULL;
	for (;;) {
		if (cap - size < chunk) {
			unsigned char *nb;

			cap = 2 * cap + chunk;
			nb = realloc(buf, cap);
			if (!nb)
				goto fail;
			buf = nb;
		}
		n = read(fd, buf + size, chunk);
		if (n < 0)
			goto fail;
		if (!n)
			break;
		size += n;
	}
	close(fd);
	*len = size;
	return buf;
fail:
	n = errno;	/* the read() error, for the caller */
	free(buf);
	close(fd);
	errno = (int)n;
	return NULL;
}

unsigned char *read_file(const char *path, size_t *len)
{
	return read_fd(open(path, O_RDONLY), len, 65536);
}

int write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, buf, len) != (ssize_t)len)
		ret = -EIO;
	if (close(fd))
		ret = -errno;
	return ret;
}

/* The sysfs serial of the USB device a dfu class device belongs to. */
static int node_serial(const char *name, char *buf, size_t len)
{
	char path[320];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/dfu/%s/device/../serial", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, len, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int find_node(struct emu *e)
{
	DIR *d = opendir("/sys/class/dfu");
	struct dirent *de;
	char serial[192];
	int found = -1;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "dfu", 3))
			continue;
		if (node_serial(de->d_name, serial, sizeof(serial)))
			continue;
		if (strcmp(serial, e->serial))
			continue;
		snprintf(e->node, sizeof(e->node), "/dev/%.16s", de->d_name);
		snprintf(e->sysfs, sizeof(e->sysfs), "/sys/class/dfu/%.16s", de->d_name);
		found = access(e->node, F_OK) ? -1 : 0;
		break;
	}
	closedir(d);
	return found;
}

/* The USB port (sysfs name of the USB device) of a dfu class device. */
static int node_port(const char *name, char *buf, size_t len)
{
	char path[320], real[PATH_MAX], *base;

	snprintf(path, sizeof(path), "/sys/class/dfu/%s/device/..", name);
	if (!realpath(path, real))
		return -1;
	base = strrchr(real, '/');
	snprintf(buf, len, "%s", base ? base + 1 : real);
	return 0;
}

int emu_port(struct emu *e, char *buf, size_t len)
{
	const char *name = strrchr(e->sysfs, '/');

	return name ? node_port(name + 1, buf, len) : -1;
}

/* The node in this mode whose device is on this USB port. */
static int find_node_on_port(struct emu *e, const char *port, const char *mode)
{
	DIR *d = opendir("/sys/class/dfu");
	char got[64], path[320], m[32];
	struct dirent *de;
	int found = -1;

	if (!d)
		return -1;
	while (found && (de = readdir(d))) {
		if (strncmp(de->d_name, "dfu", 3) ||
		    node_port(de->d_name, got, sizeof(got)) || strcmp(got, port))
			continue;
		snprintf(path, sizeof(path), "/sys/class/dfu/%s/mode", de->d_name);
		if (read_sysfs(path, m, sizeof(m)) || strcmp(m, mode))
			continue;
		snprintf(path, sizeof(path), "/dev/%.16s", de->d_name);
		if (access(path, F_OK))
			continue;
		snprintf(e->node, sizeof(e->node), "/dev/%.16s", de->d_name);
		snprintf(e->sysfs, sizeof(e->sysfs), "/sys/class/dfu/%.16s", de->d_name);
		found = 0;
	}
	closedir(d);
	return found;
}

int emu_wait_port(struct emu *e, const char *port, const char *mode, int timeout_ms)
{
	int waited;

	for (waited = 0; waited < timeout_ms; waited += 10) {
		if (!find_node_on_port(e, port, mode))
			return 0;
		sleep_ms(10);
	}
	return -1;
}

int emu_wait_serial(struct emu *e, const char *serial, const char *mode, int timeout_ms)
{
	snprintf(e->serial, sizeof(e->serial), "%s", serial);
	return emu_wait_mode(e, mode, timeout_ms);
}

static pid_t spawn(char **argv)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	/* Dies with the test, so a failed assertion leaves no device behind. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	execv(argv[0], argv);
	perror(argv[0]);
	_exit(127);
}

/* Is the USB device with e's serial enumerated? */
static int usb_device_present(struct emu *e)
{
	DIR *d = opendir("/sys/bus/usb/devices");
	struct dirent *de;
	char path[320], serial[192];
	int found = 0;
	FILE *f;

	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		snprintf(path, sizeof(path), "/sys/bus/usb/devices/%s/serial", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(serial, sizeof(serial), f)) {
			serial[strcspn(serial, "\n")] = 0;
			found = !strcmp(serial, e->serial);
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

/*
 * Wait for the node (want_node) or for enumeration without one; serial
 * NULL: a generated one.
 */
static int emu_startv(struct emu *e, int want_node, const char *serial, va_list ap)
{
	static unsigned int counter;
	char *argv[EMU_MAX_ARGS];
	char out[96], stats[96], token[32];
	int argc = 0, tries, waited;
	char *arg;

	memset(e, 0, sizeof(*e));
	snprintf(token, sizeof(token), "T%d-%u", getpid(), counter++);
	snprintf(e->serial, sizeof(e->serial), "%s", serial ? serial : token);
	snprintf(e->dir, sizeof(e->dir), "/tmp/emu-%s", token);
	mkdir(e->dir, 0755);
	snprintf(out, sizeof(out), "%s/image", e->dir);
	snprintf(stats, sizeof(stats), "%s/stats", e->dir);

	argv[argc++] = (char *)emu_binary();
	argv[argc++] = "--serial";
	argv[argc++] = e->serial;
	argv[argc++] = "--out";
	argv[argc++] = out;
	argv[argc++] = "--stats";
	argv[argc++] = stats;
	while ((arg = va_arg(ap, char *))) {
		if (argc == EMU_MAX_ARGS - 1) {
			/* never a device other than the one the test asked for */
			fprintf(stderr, "emu: more than %d arguments\n", EMU_MAX_ARGS - 8);
			return -1;
		}
		argv[argc++] = arg;
	}
	argv[argc] = NULL;

	/* The UDC may still be held by the previous test's dying device. */
	for (tries = 0; tries < 50; tries++) {
		int status;

		e->pid = spawn(argv);
		for (waited = 0; waited < NODE_WAIT_MS; waited += 10) {
			if (want_node && !find_node(e))
				return 0;
			if (!want_node && usb_device_present(e)) {
				/* give the driver time to probe, then look */
				sleep_ms(500);
				return find_node(e) ? 0 : -1;
			}
			if (waitpid(e->pid, &status, WNOHANG) == e->pid) {
				e->pid = 0;
				break;
			}
			sleep_ms(10);
		}
		if (e->pid) {
			fprintf(stderr, "# no %s for %s after %d ms\n",
				want_node ? "/dev/dfu node" : "USB device",
				e->serial, NODE_WAIT_MS);
			emu_stop(e);
			return -1;
		}
		sleep_ms(100);
	}
	fprintf(stderr, "# %s keeps exiting before enumeration\n", argv[0]);
	return -1;
}

int emu_start(struct emu *e, ...)
{
	va_list ap;
	int ret;

	va_start(ap, e);
	ret = emu_startv(e, 1, NULL, ap);
	va_end(ap);
	return ret;
}

int emu_start_unbound(struct emu *e, ...)
{
	va_list ap;
	int ret;

	va_start(ap, e);
	ret = emu_startv(e, 0, NULL, ap);
	va_end(ap);
	return ret;
}

int emu_start_serial(struct emu *e, int want_node, const char *serial, ...)
{
	va_list ap;
	int ret;

	va_start(ap, serial);
	ret = emu_startv(e, want_node, serial, ap);
	va_end(ap);
	return ret;
}

static void wait_node_gone(struct emu *e)
{
	int waited;

	if (!e->node[0])
		return;
	for (waited = 0; waited < NODE_WAIT_MS; waited += 10) {
		if (access(e->sysfs, F_OK))
			return;
		sleep_ms(10);
	}
	fprintf(stderr, "# %s still present after its device left\n", e->node);
}

int emu_wait_mode(struct emu *e, const char *mode, int timeout_ms)
{
	char buf[32];
	int waited;

	for (waited = 0; waited < timeout_ms; waited += 10) {
		if (!find_node(e) && !read_attr(e, "mode", buf, sizeof(buf)) &&
		    !strcmp(buf, mode))
			return 0;
		sleep_ms(10);
	}
	return -1;
}

int emu_detach(struct emu *e, __u32 timeout_ms)
{
	int fd, ret;

	fd = open(e->node, O_WRONLY);
	if (fd < 0) {
		fprintf(stderr, "emu: open %s: %s\n", e->node, strerror(errno));
		return -1;
	}
	ret = ioctl(fd, USB_DFU_IOCTL_DETACH, &timeout_ms);
	if (ret)
		fprintf(stderr, "emu: DETACH on %s: %s\n", e->node, strerror(errno));
	close(fd);
	return ret ? -1 : emu_wait_mode(e, "dfu", 10000);
}

long emu_devnum(struct emu *e)
{
	char buf[16];

	if (read_attr(e, "device/../devnum", buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

int emu_wait_reenumerated(struct emu *e, long old_devnum, int timeout_ms)
{
	int waited;
	long n;

	for (waited = 0; waited < timeout_ms; waited += 10) {
		if (!find_node(e)) {
			n = emu_devnum(e);
			if (n > 0 && n != old_devnum)
				return 0;
		}
		sleep_ms(10);
	}
	return -1;
}

int emu_wait_exit(struct emu *e, int timeout_ms)
{
	int status, waited;

	for (waited = 0; e->pid && waited < timeout_ms; waited += 10) {
		if (waitpid(e->pid, &status, WNOHANG) == e->pid) {
			e->pid = 0;
			wait_node_gone(e);
			return 0;
		}
		sleep_ms(10);
	}
	return e->pid ? -1 : 0;
}

void emu_stop(struct emu *e)
{
	if (e->pid > 0) {
		kill(e->pid, SIGTERM);
		waitpid(e->pid, NULL, 0);
		e->pid = 0;
	}
	wait_node_gone(e);
}

int emu_has_image(struct emu *e, const unsigned char *buf, size_t len)
{
	size_t got_len;
	unsigned char *got = read_file(emu_image_path(e), &got_len);
	int same = got && got_len == len && !memcmp(got, buf, len);

	if (!same)
		fprintf(stderr, "# device image: %zu bytes, expected %zu\n",
			got ? got_len : 0, len);
	free(got);
	return same;
}

const char *emu_image_path(struct emu *e)
{
	static char path[96];

	snprintf(path, sizeof(path), "%s/image", e->dir);
	return path;
}

long emu_stat(struct emu *e, const char *key)
{
	char path[96], line[128];
	size_t klen = strlen(key);
	long value = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/stats", e->dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, klen) && line[klen] == '=') {
			value = strtol(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return value;
}

long emu_wait_stat(struct emu *e, const char *key, long value, int timeout_ms)
{
	long v = emu_stat(e, key);
	int waited;

	for (waited = 0; v != value && waited < timeout_ms; waited += 10) {
		sleep_ms(10);
		v = emu_stat(e, key);
	}
	return v;
}

int read_sysfs(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

int write_sysfs(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int read_attr(struct emu *e, const char *attr, char *buf, size_t len)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", e->sysfs, attr);
	return read_sysfs(path, buf, len);
}

int emu_usbfs_path(struct emu *e, char *buf, size_t len)
{
	char busnum[16], devnum[16];

	if (read_attr(e, "device/../busnum", busnum, sizeof(busnum)) ||
	    read_attr(e, "device/../devnum", devnum, sizeof(devnum)))
		return -1;
	snprintf(buf, len, "/dev/bus/usb/%03d/%03d", atoi(busnum), atoi(devnum));
	return 0;
}

int write_attr(struct emu *e, const char *attr, const char *value)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", e->sysfs, attr);
	return write_sysfs(path, value);
}

int get_param(const char *name, char *buf, size_t len)
{
	char path[128];

	snprintf(path, sizeof(path), DFU_PARAMS "/%s", name);
	return read_sysfs(path, buf, len);
}

int set_param(const char *name, const char *value)
{
	char path[128];

	snprintf(path, sizeof(path), DFU_PARAMS "/%s", name);
	return write_sysfs(path, value);
}

int last_result_is(struct emu *e, const char *want)
{
	size_t n = strlen(want);
	char buf[128];

	if (read_attr(e, "last_result", buf, sizeof(buf)))
		return 0;
	if (n && want[n - 1] == ' ' ? strncmp(buf, want, n) : strcmp(buf, want)) {
		fprintf(stderr, "# last_result '%s', expected '%s%s'\n", buf, want,
			n && want[n - 1] == ' ' ? "..." : "");
		return 0;
	}
	return 1;
}

int node_ioctl(struct emu *e, unsigned long req, void *arg)
{
	int fd = open(e->node, O_RDONLY);
	int ret;

	if (fd < 0)
		return -errno;
	ret = ioctl(fd, req, arg) ? -errno : 0;
	close(fd);
	return ret;
}

int get_status(struct emu *e, struct usb_dfu_status *st)
{
	return node_ioctl(e, USB_DFU_IOCTL_GET_STATUS, st);
}

int get_result(struct emu *e, struct usb_dfu_result *r)
{
	memset(r, 0xaa, sizeof(*r));
	return node_ioctl(e, USB_DFU_IOCTL_GET_RESULT, r);
}

int get_state(struct emu *e)
{
	__u8 state = 0xff;
	int ret = node_ioctl(e, USB_DFU_IOCTL_GET_STATE, &state);

	return ret ? ret : state;
}

void fill_pattern(unsigned char *buf, size_t len, unsigned int seed)
{
	unsigned int x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = x;
	}
}

unsigned char *make_pattern_file(const char *path, size_t len, unsigned int seed)
{
	unsigned char *img = malloc(len ? len : 1);

	if (!img)
		return NULL;
	fill_pattern(img, len, seed);
	if (write_file(path, img, len)) {
		free(img);
		return NULL;
	}
	return img;
}

int flash_buf(const char *node, const unsigned char *buf, size_t len, size_t chunk)
{
	size_t done = 0;
	int fd = open(node, O_WRONLY);
	int ret = 0;

	if (fd < 0)
		return -errno;
	while (done < len) {
		size_t n = len - done < chunk ? len - done : chunk;
		ssize_t w = write(fd, buf + done, n);

		if (w < 0) {
			ret = -errno;
			break;
		}
		done += w;
	}
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

unsigned char *upload_buf(const char *node, size_t *len, size_t chunk)
{
	return read_fd(open(node, O_RDONLY), len, chunk);
}

int run_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	if (status < 0)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* --- ST DfuSe devices ---------------------------------------------------- */

#define DFUSE_EXTRA	32

int emu_start_dfuse(struct emu *e, const char *profile, ...)
{
	char *a[DFUSE_EXTRA + 1] = { NULL };
	va_list ap;
	char *arg;
	int n = 0;

	va_start(ap, profile);
	while ((arg = va_arg(ap, char *)) && n < DFUSE_EXTRA)
		a[n++] = arg;
	va_end(ap);
	if (arg) {
		fprintf(stderr, "# emu_start_dfuse: more than %d arguments\n", DFUSE_EXTRA);
		return -1;
	}
	/* the unused ones are NULL: the list ends at the first of them */
	return emu_start(e, "--dfuse", profile,
			 a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7],
			 a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15],
			 a[16], a[17], a[18], a[19], a[20], a[21], a[22], a[23],
			 a[24], a[25], a[26], a[27], a[28], a[29], a[30], a[31],
			 NULL);
}

int emu_knows(const char *word)
{
	return !run_sh("%s --help 2>&1 | grep -qwe '%s'", emu_binary(), word);
}

int emu_stat_str(struct emu *e, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key), cap = 4096, n;
	char path[96], *line = malloc(cap);
	int ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/stats", e->dir);
	f = fopen(path, "r");
	if (!f || !line) {
		if (f)
			fclose(f);
		free(line);
		return -1;
	}
	/* erased= holds up to 256 addresses of 11 bytes */
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, key, klen) || line[klen] != '=')
			continue;
		n = strcspn(line + klen + 1, "\n");
		if (n >= len)
			n = len - 1;
		memcpy(buf, line + klen + 1, n);
		buf[n] = 0;
		ret = 0;
		break;
	}
	fclose(f);
	free(line);
	return ret;
}

long long emu_stat_num(struct emu *e, const char *key)
{
	char buf[32], *end;
	long long v;

	if (emu_stat_str(e, key, buf, sizeof(buf)))
		return -1;
	v = strtoll(buf, &end, 0);
	return end == buf ? -1 : v;
}

int emu_erased_is(struct emu *e, const char *want)
{
	char got[4096];

	if (emu_stat_str(e, "erased", got, sizeof(got))) {
		fprintf(stderr, "# no erased= in %s/stats\n", e->dir);
		return 0;
	}
	if (strcmp(got, want)) {
		fprintf(stderr, "# erased='%s', expected '%s'\n", got, want);
		return 0;
	}
	return 1;
}

int stm32f4_sectors(unsigned long off, unsigned long len, char *buf, size_t size)
{
	unsigned long start = 0, sec;
	size_t used = 0;
	int i, n = 0;

	buf[0] = 0;
	for (i = 0; i < 12 && len; i++) {
		sec = i < 4 ? 0x4000 : i == 4 ? 0x10000 : 0x20000;
		if (start < off + len && off < start + sec) {
			used += snprintf(buf + used, used < size ? size - used : 0,
					 "%s0x%08lx", n ? "," : "",
					 (unsigned long)STM32F4_FLASH + start);
			n++;
		}
		start += sec;
	}
	return n;
}

unsigned char *emu_flash(struct emu *e, size_t *len)
{
	return read_file(emu_image_path(e), len);
}

int all_erased(const unsigned char *flash, size_t off, size_t len)
{
	size_t i;

	for (i = off; i < off + len; i++) {
		if (flash[i] != 0xff) {
			fprintf(stderr, "# flash byte 0x%zx is 0x%02x, not erased\n",
				i, flash[i]);
			return 0;
		}
	}
	return 1;
}

int read_dfuse_map(struct emu *e, struct dfuse_zone *z, int max)
{
	char path[128], line[256];
	int n = 0, k;
	FILE *f;

	snprintf(path, sizeof(path), "%s/dfuse_map", e->sysfs);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (n < max && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		memset(&z[n], 0, sizeof(z[n]));
		k = 0;
		if (sscanf(line, "%u 0x%lx %lu*%lu %3s %n", &z[n].alt, &z[n].start,
			   &z[n].count, &z[n].size, z[n].perms, &k) != 5 || !k) {
			fprintf(stderr, "# dfuse_map line '%s' does not parse\n", line);
			fclose(f);
			return -1;
		}
		snprintf(z[n].name, sizeof(z[n].name), "%s", line + k);
		n++;
	}
	fclose(f);
	return n;
}

int set_dfuse_leave(struct emu *e, int leave)
{
	return write_attr(e, "dfuse_leave", leave ? "1" : "0");
}

void mark_kmsg(const char *mark)
{
	run_sh("echo 'dfu-test: mark %s' > /dev/kmsg", mark);
}

int kmsg_since(const char *mark, const char *ere)
{
	return !run_sh("dmesg | sed -n '/dfu-test: mark %s$/,$p' | grep -qE '%s'",
		       mark, ere);
}

/* dfuctl in the background: sh -c CMD; returns its pid. */
pid_t bg(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	pid = fork();
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Its exit status, or -1 (and it is killed) when it runs past timeout_ms. */
int bg_wait(pid_t pid, int timeout_ms)
{
	int status, waited;

	for (waited = 0; waited < timeout_ms; waited += 20) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		sleep_ms(20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

/* Still running? (It is not reaped: bg_wait() gets its status.) */
int bg_running(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT))
		return 0;
	return si.si_pid == 0;
}

/* Does the file hold this fixed string? Shows the file when not. */
int has(const char *file, const char *fmt, ...)
{
	char want[512];
	size_t len;
	unsigned char *buf;
	va_list ap;
	int found;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	buf = read_file(file, &len);
	found = buf && memmem(buf, len, want, strlen(want));
	if (!found)
		fprintf(stderr, "# %s lacks \"%s\"; it has:\n%.*s\n", file, want,
			buf ? (int)len : 0, buf ? (char *)buf : "");
	free(buf);
	return found;
}
