// SPDX-License-Identifier: GPL-2.0
/*
 * cmd_upload.c - dfuctl upload FILE [NODE] [options]: back up what the
 * device holds
 *
 * A backup that is cut short is worse than none: it looks like the old
 * firmware. So the image goes to a temporary file beside FILE (made with
 * O_EXCL, mode 0644 less the umask, as FILE would get), which is fsync'ed
 * and renamed to FILE only after the whole upload succeeded, without ever
 * replacing a file (RENAME_NOREPLACE, or link() where the file system has
 * no such rename); the directory is fsync'ed after. A failed upload, or a
 * SIGINT, SIGTERM or SIGHUP on the way, removes the temporary file and
 * leaves no FILE.
 *
 * dfuctl upload --all DIR backs up every matching device at once, each in
 * a child process running the single-device upload (fleet.h) into
 * DIR/NAME.bin, NAME the device's serial number made a safe file name
 * (backup_name()).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sysexits.h>
#include <unistd.h>
#include <linux/usb/dfu.h>
#include <openssl/evp.h>

#include "commands.h"
#include "fleet.h"
#include "progress.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE	(1 << 0)
#endif

#define UPLOAD_CHUNK	(64 * 1024)

static int copy_out(int in, int out, const char *node, unsigned long long limit, int quiet)
{
	static unsigned char buf[UPLOAD_CHUNK];
	unsigned long long done = 0;
	struct progress p;

	progress_start(&p, "upload", limit ? limit : 0, quiet || !limit);
	fleet_progress("upload", 0, limit);
	while (!limit || done < limit) {
		size_t want = limit && limit - done < sizeof(buf) ? limit - done : sizeof(buf);
		ssize_t n = read(in, buf, want);

		if (n < 0) {
			int err = errno;

			say_nl("%s: upload failed after %llu bytes: %s\n", node,
				done, strerror(err));
			return errno_exit(err);
		}
		if (!n)
			break;
		for (ssize_t w, off = 0; off < n; off += w) {
			w = write(out, buf + off, n - off);
			if (w < 0) {
				say_nl("writing the backup: %s\n", strerror(errno));
				return EX_IOERR;
			}
		}
		done += (unsigned long long)n;
		progress_update(&p, done);
		fleet_progress("upload", done, limit);
	}
	progress_end(&p, done);
	return EX_OK;
}

/*
 * The temporary file, for the signal handler: its name, and whether it
 * exists (set and cleared with the signals blocked).
 */
static char tmp_path[PATH_MAX];
static volatile sig_atomic_t tmp_exists;
static const int cleanup_signals[] = { SIGINT, SIGTERM, SIGHUP };

static void on_signal(int sig)
{
	int saved = errno;

	if (tmp_exists)
		unlink(tmp_path);
	tmp_exists = 0;
	/* SA_RESETHAND and SA_NODEFER: die of the signal, as without a handler */
	raise(sig);
	errno = saved;
}

static void block_signals(sigset_t *old)
{
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < sizeof(cleanup_signals) / sizeof(cleanup_signals[0]); i++)
		sigaddset(&set, cleanup_signals[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

static void catch_signals(void)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(cleanup_signals) / sizeof(cleanup_signals[0]); i++)
		sigaction(cleanup_signals[i], &sa, NULL);
}

/* Remove the temporary file, if there is one. */
static void drop_tmp(void)
{
	sigset_t old;

	block_signals(&old);
	if (tmp_exists)
		unlink(tmp_path);
	tmp_exists = 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* The directory of path, for the temporary file and the fsync after the rename. */
static void dir_of(const char *path, char *dir, size_t size)
{
	char copy[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(dir, size, "%s", dirname(copy));
}

/*
 * Create the temporary file beside path: "DIR/.NAME.dfuctl-PID-N", O_EXCL.
 * Returns the fd, or -1 with errno.
 */
static int make_tmp(const char *path)
{
	char copy[PATH_MAX], dir[PATH_MAX];
	sigset_t old;
	int fd = -1, i, err = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	dir_of(path, dir, sizeof(dir));
	for (i = 0; i < 100; i++) {
		if ((size_t)snprintf(tmp_path, sizeof(tmp_path), "%s/.%s.dfuctl-%ld-%d", dir,
				     basename(copy), (long)getpid(), i) >= sizeof(tmp_path)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		block_signals(&old);
		fd = open(tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		err = errno;
		if (fd >= 0)
			tmp_exists = 1;
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (fd >= 0 || err != EEXIST)
			break;
	}
	errno = err;
	return fd;
}

/*
 * Give the temporary file the name path, never replacing a file there.
 * Returns 0, or -1 with errno (EEXIST: path appeared meanwhile).
 */
static int publish(const char *path)
{
	sigset_t old;
	long r;
	int err;

	block_signals(&old);
	r = syscall(SYS_renameat2, AT_FDCWD, tmp_path, AT_FDCWD, path, RENAME_NOREPLACE);
	err = errno;
	if (r && (err == EINVAL || err == ENOSYS)) {
		/* a file system without RENAME_NOREPLACE: link() never replaces either */
		r = link(tmp_path, path);
		err = errno;
		if (!r)
			unlink(tmp_path);
	}
	if (!r)
		tmp_exists = 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = err;
	return r ? -1 : 0;
}

/* fsync the directory of path, so that the new name survives a power cut. */
static int sync_dir(const char *path)
{
	char dir[PATH_MAX];
	int fd, r;

	dir_of(path, dir, sizeof(dir));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = fsync(fd);
	/* some file systems cannot sync a directory: the rename is done anyway */
	if (r && (errno == EINVAL || errno == EROFS))
		r = 0;
	close(fd);
	return r;
}

static const char never_overwritten[] =
	"choose a new file name, a backup is never overwritten";

/* Upload into path through a temporary file; see the top of the file. */
static int backup(const char *path, int in, const char *node, unsigned long long limit,
		  int quiet)
{
	int out, ret, err;

	catch_signals();
	out = make_tmp(path);
	if (out < 0) {
		say("%s: cannot create a temporary file in its directory: %s: choose a directory you can write to\n",
		    tmp_path, strerror(errno));
		return EX_CANTCREAT;
	}
	ret = copy_out(in, out, node, limit, quiet);
	if (!ret && fsync(out)) {
		say("%s: %s; nothing was saved\n", tmp_path, strerror(errno));
		ret = EX_IOERR;
	}
	if (close(out) && !ret) {
		say("%s: %s; nothing was saved\n", tmp_path, strerror(errno));
		ret = EX_IOERR;
	}
	if (!ret && publish(path)) {
		err = errno;
		say("%s: %s%s%s; nothing was saved\n", path, strerror(err),
		    err == EEXIST ? ": " : "", err == EEXIST ? never_overwritten : "");
		ret = err == EEXIST ? EX_CANTCREAT : EX_IOERR;
	}
	drop_tmp();
	if (ret) {
		if (ret != EX_CANTCREAT)
			say("the upload did not complete: %s was not created\n",
			    path);
		return ret;
	}
	if (sync_dir(path)) {
		say("%s: saved, but syncing its directory failed: %s: run sync before unplugging the disk\n",
		    path, strerror(errno));
		return EX_IOERR;
	}
	return EX_OK;
}

/*
 * Back up the one device f chooses into path, never replacing a file.
 * Returns a sysexits code after a message.
 */
static int upload_one(const char *path, const struct dev_filter *f, const char *alt,
		      uint64_t limit, int quiet)
{
	struct dfu_dev_desc d;
	struct stat st;
	int ret, in;

	/* never overwrite: a backup may be the only copy of the old firmware */
	if (!lstat(path, &st)) {
		say("%s: %s: %s\n", path, strerror(EEXIST), never_overwritten);
		return EX_CANTCREAT;
	}
	ret = dev_select(f, &d);
	if (ret)
		return ret;
	if (dev_read_dialect(&d) == USB_DFU_DIALECT_APPLE) {
		say("%s is an Apple device in DFU mode: its ROM has no upload (it only takes an image to boot, with dfuctl flash); nothing was read and %s was not created\n",
		    d.node, path);
		return EX_UNAVAILABLE;
	}
	in = open_dev(&d, O_RDONLY, &ret);
	if (in < 0)
		return ret;
	if (alt && (ret = set_alt(in, &d, alt))) {
		close(in);
		return ret;
	}
	ret = backup(path, in, d.node, limit, quiet);
	close(in);
	return ret;
}

/* a file name that a serial number may keep as it is */
static int name_safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* longest NAME before "@PORT.bin": file names have at most 255 bytes */
#define NAME_MAX_ENC	160

/*
 * The backup's file name for d in upload --all: the serial number with
 * every byte but letters, digits, '.', '_' and '-' (and a leading '.') as
 * %XX, so that different serials never get the same name and no name is
 * hidden, "." or ".." or holds a '/'; "no-serial" for a device without
 * one. with_port (a device without a serial, or whose serial another
 * matching device has too) adds "@" and the USB port. A serial longer than
 * NAME_MAX_ENC bytes once escaped keeps its start, then "~" and the first
 * 16 hex digits of its SHA-256. Then ".bin".
 */
static void backup_name(const struct dfu_dev_desc *d, int with_port, char *buf, size_t size)
{
	char enc[NAME_MAX_ENC + 32];
	const unsigned char *s = (const unsigned char *)d->serial;
	size_t n = 0, i;

	if (!*s)
		n = (size_t)snprintf(enc, sizeof(enc), "no-serial");
	for (i = 0; s[i] && n < NAME_MAX_ENC; i++) {
		if (name_safe(s[i]) && !(i == 0 && s[i] == '.'))
			enc[n++] = (char)s[i];
		else
			n += (size_t)snprintf(enc + n, sizeof(enc) - n, "%%%02X", s[i]);
	}
	enc[n] = 0;
	if (s[i]) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0, k;

		n += (size_t)snprintf(enc + n, sizeof(enc) - n, "~");
		if (EVP_Digest(s, strlen(d->serial), md, &mdlen, EVP_sha256(), NULL))
			for (k = 0; k < 8 && k < mdlen; k++)
				n += (size_t)snprintf(enc + n, sizeof(enc) - n, "%02x", md[k]);
	}
	if (with_port)
		snprintf(buf, size, "%s@%s.bin", enc, d->usb_path);
	else
		snprintf(buf, size, "%s.bin", enc);
}

struct upload_all {
	const char *alt;
	uint64_t limit;
};

/* One device of --all, in its own process: exactly this node on this port. */
static int upload_job(struct fleet_job *j, void *arg)
{
	const struct upload_all *a = arg;
	struct dev_filter f = { 0 };

	f.node = j->dev.node;
	f.path = j->dev.usb_path;
	f.serial = *j->dev.serial ? j->dev.serial : NULL;
	return upload_one(j->file, &f, a->alt, a->limit, 1);
}

/*
 * dfuctl upload --all DIR: every node that passes f (a run-time one fails
 * as a single upload of it does, named), one file each in DIR.
 */
static int upload_all(const char *dir, const struct dev_filter *f, const struct upload_all *a,
		      const struct fleet_opts *fo)
{
	struct fleet_job *jobs = NULL;
	struct dfu_dev_desc *v;
	int i, k, n, ret, err;
	struct stat st;

	err = stat(dir, &st) ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	if (err) {
		say("%s: %s: give an existing directory for the backups\n", dir, strerror(err));
		return EX_CANTCREAT;
	}
	n = dev_list(&v);
	if (n < 0)
		return EX_OSERR;
	for (i = 0, k = 0; i < n; i++)
		if (dev_matches(&v[i], f))
			k++;
	if (!k) {
		say("no DFU device matches%s; plug them in, or see what is there with: dfuctl list\n",
		    f->serial || f->path || f->n_ids ? " the --serial, --path or --device given" : "");
		free(v);
		return EX_UNAVAILABLE;
	}
	jobs = calloc((size_t)k, sizeof(*jobs));
	if (!jobs) {
		free(v);
		say("out of memory for %d devices\n", k);
		return EX_OSERR;
	}
	for (i = 0, k = 0; i < n; i++)
		if (dev_matches(&v[i], f))
			jobs[k++].dev = v[i];
	free(v);
	for (i = 0; i < k; i++) {
		char name[NAME_MAX + 1];
		int dup = !*jobs[i].dev.serial, m;

		for (m = 0; m < k && !dup; m++)
			dup = m != i && !strcmp(jobs[m].dev.serial, jobs[i].dev.serial);
		backup_name(&jobs[i].dev, dup, name, sizeof(name));
		if (snprintf(jobs[i].file, sizeof(jobs[i].file), "%s/%s", dir,
			     name) >= (int)sizeof(jobs[i].file)) {
			say("%s/%s: the path is too long; nothing was read: choose a shorter DIR\n",
			    dir, name);
			free(jobs);
			return EX_USAGE;
		}
	}
	ret = fleet_run(jobs, k, fo, upload_job, (void *)a);
	for (i = 0; i < k; i++) {
		while (jobs[i].n_msgs)
			free(jobs[i].msgs[--jobs[i].n_msgs]);
		free(jobs[i].msgs);
	}
	free(jobs);
	return ret;
}

int cmd_upload(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "alt", required_argument, 0, 'a' },
		{ "size", required_argument, 0, 'z' },
		{ "quiet", no_argument, 0, 'q' },
		{ "all", no_argument, 0, 'L' },
		{ "jobs", required_argument, 0, 'j' },
		{ "json", no_argument, 0, 'J' },
		SELECT_OPTIONS, { 0 }
	};
	struct fleet_opts fo = { .done_word = "uploaded" };
	struct upload_all a = { 0 };
	struct dev_filter f = { 0 };
	int c, ret, quiet = 0, all = 0, jobs_given = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': a.alt = optarg; break;
		case 'q': quiet = 1; break;
		case 'L': all = 1; break;
		case 'J': fo.json = 1; break;
		case 'j': {
			uint64_t j;

			if (parse_number(optarg, 1024, &j) || !j)
				return usage_error("--jobs wants how many devices to back up at once, 1 to 1024");
			fo.jobs = (int)j;
			jobs_given = 1;
			break;
		}
		case 'z':
			if (parse_number(optarg, UINT64_MAX, &a.limit) || !a.limit)
				return usage_error("--size wants a number of bytes");
			break;
		default:
			ret = select_option(c, optarg, &f);
			if (ret)
				return ret == 1 ? EX_USAGE : ret;
		}
	}
	if (all && argc - optind != 1)
		return usage_error("usage: dfuctl upload --all DIR [--jobs N] [--json] [--size BYTES] [--alt N|NAME] [--quiet] [--serial S] [--path P] [--device VID:PID]: one file per device in DIR, no NODE");
	if (argc - optind < 1 || argc - optind > 2)
		return usage_error("usage: dfuctl upload FILE [NODE] [--size BYTES] [--alt N|NAME] [--quiet] [--serial S] [--path P] [--device VID:PID], or dfuctl upload --all DIR [--jobs N] [--json] [...]");
	if (!all && (jobs_given || fo.json))
		return usage_error("--jobs and --json go with --all (back up every matching device at once)");
	if (all) {
		fo.quiet = quiet;
		return upload_all(argv[optind], &f, &a, &fo);
	}
	f.node = argv[optind + 1];
	return upload_one(argv[optind], &f, a.alt, a.limit, quiet);
}
