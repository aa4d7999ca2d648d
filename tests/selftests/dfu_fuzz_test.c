// SPDX-License-Identifier: GPL-2.0
/*
 * dfu_fuzz_test - a hostile device against a busy driver, one test per seed.
 *
 * For each seed, dfu-emu --fuzz SEED plays a device whose descriptors,
 * answers, stalls, delays and disconnects come from a PRNG, while threads
 * and processes, with a workload from a PRNG seeded by the same seed, use
 * every /dev/dfuN that appears: open modes, read/write of odd sizes, every
 * ioctl with good and bad arguments, sysfs, signals, SIGKILL in the middle
 * of I/O, and rmmod/insmod of the module.  Errors a hostile device causes
 * are expected; a seed fails only on a kernel report (BUG, WARNING, KASAN,
 * lockdep, ...) in the kernel log, or on a hang.
 *
 * Usage: dfu_fuzz_test [--seeds A-B] [--ms N] [--ko PATH]
 * Defaults: $DFU_FUZZ_SEEDS or 1-20, $DFU_FUZZ_MS or 4000, ./dfu.ko.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/usb/dfu.h>

#include "kselftest.h"
#include "emu.h"

#define N_THREADS	3	/* workers in the threaded process */
#define N_PROCS		3	/* single-threaded worker processes */
#define MAX_BUF		(3 * 65536 + 64)
#define REAP_MS		20000	/* a killed process not gone by then hangs */
#define NODES_GONE_MS	20000
#define MAX_REPORT	60	/* report lines printed per seed */
#define SYSFS_DFU	"/sys/class/dfu"

/* Counters shared by all workers (MAP_SHARED), and their stop flag. */
struct shared {
	volatile int stop;
	volatile int in_io[N_PROCS];	/* process i is in read()/write() */
	unsigned long ops, opens, writes, reads, ioctls, sysfs_ops;
	unsigned long bad_enotty;	/* unknown ioctl, not ENOTTY */
	unsigned long bad_req;		/* the last of them, and its errno */
	int bad_errno;
	unsigned long rmmod_ok, rmmod_busy, insmod_ok, insmod_fail;
	unsigned long kills, signals;
};

static struct shared *sh;
/* An unmapped address; volatile, so the compiler does not judge it. */
static volatile uintptr_t bad_addr = 1;
static const char *ko_path = "./dfu.ko";
/* the quirks= the module was loaded with, given again at each reload */
static char module_args[256];
static int have_ko;
static unsigned long fuzz_ms = 4000;
static unsigned long seed_first = 1, seed_last = 20;
static int verbose;

/* Totals over all seeds, for the summary. */
static unsigned long tot_requests, tot_disconnects, tot_seeds, tot_failed;

/* --- PRNG: splitmix64, one state per worker -------------------------- */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rnd(r) % n) : 0;
}

static void rng_init(struct rng *r, unsigned long seed, unsigned stream)
{
	r->s = seed * 0x100000001b3ull + stream * 0x9e3779b97f4a7c15ull;
	rnd(r);
}

static void stat_add(unsigned long *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* --- nodes and sysfs ---------------------------------------------------- */

/* A random /dev/dfuN among those present, or -1 when there is none. */
static int pick_node(struct rng *r, char *path, size_t len)
{
	char names[16][32];
	struct dirent *de;
	unsigned n = 0;
	DIR *d = opendir("/dev");

	if (!d)
		return -1;
	while ((de = readdir(d)) && n < 16) {
		if (strncmp(de->d_name, "dfu", 3) || !de->d_name[3] ||
		    strspn(de->d_name + 3, "0123456789") != strlen(de->d_name + 3))
			continue;
		snprintf(names[n++], sizeof(names[0]), "%.20s", de->d_name);
	}
	closedir(d);
	if (!n)
		return -1;
	snprintf(path, len, "%s", names[below(r, n)]);
	return 0;
}

static int any_node(void)
{
	struct rng r = { 1 };
	char name[32];

	return !pick_node(&r, name, sizeof(name));
}

/* wTransferSize of the node as sysfs says, or a guess. */
static unsigned transfer_size(const char *name)
{
	char path[96], buf[32];

	snprintf(path, sizeof(path), SYSFS_DFU "/%s/transfer_size", name);
	if (read_sysfs(path, buf, sizeof(buf)))
		return 4096;
	return (unsigned)strtoul(buf, NULL, 10);
}

/* A value for a writable attribute: valid ones and garbage. */
static void attr_value(struct rng *r, const char *name, char *v, size_t len)
{
	static const char *const good[] = {
		"0", "1", "2", "close", "suffix", "explicit", "explicit\n",
		"0x1", "alt0", "Flash",
	};
	static const char *const bad[] = {
		"", "\n", "-1", "4294967296", "99999999999999999999", "256",
		"closex", " suffix", "0 1", "\xff\xfe", "%s%n",
	};
	size_t i, n;

	(void)name;
	switch (below(r, 4)) {
	case 0:
	case 1:
		snprintf(v, len, "%s", good[below(r, sizeof(good) / sizeof(*good))]);
		break;
	case 2:
		snprintf(v, len, "%s", bad[below(r, sizeof(bad) / sizeof(*bad))]);
		break;
	default:	/* random bytes, up to the length of a page */
		n = below(r, len - 1) + 1;
		for (i = 0; i < n - 1; i++)
			v[i] = (char)(below(r, 255) + 1);
		v[n - 1] = 0;
		break;
	}
}

/* Read every attribute of the node's sysfs directory; write some. */
static void sysfs_ops(struct rng *r, const char *name)
{
	static char val[4100];
	char dir[96], path[400], buf[4096];
	struct dirent *de;
	struct stat st;
	DIR *d;

	snprintf(dir, sizeof(dir), SYSFS_DFU "/%s", name);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		/* files only: device/, subsystem/ and power/ lead elsewhere */
		if (lstat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		stat_add(&sh->sysfs_ops);
		read_sysfs(path, buf, sizeof(buf));
		if (!strcmp(de->d_name, "uevent") || !strcmp(de->d_name, "dev"))
			continue;
		/* alt and commit are writable; the rest must refuse */
		if (below(r, 3) == 0) {
			attr_value(r, de->d_name, val, below(r, 2) ? 64 : sizeof(val));
			write_sysfs(path, val);
		}
	}
	closedir(d);
}

/* --- file operations ---------------------------------------------------- */

/* Valid and invalid arguments for every ioctl of the uapi header. */
static void ioctl_ops(struct rng *r, int fd)
{
	static const unsigned long reqs[] = {
		USB_DFU_IOCTL_GET_STATUS, USB_DFU_IOCTL_GET_STATE,
		USB_DFU_IOCTL_CLR_STATUS, USB_DFU_IOCTL_ABORT,
		USB_DFU_IOCTL_GET_INFO, USB_DFU_IOCTL_GET_RESULT,
		USB_DFU_IOCTL_SET_ALT, USB_DFU_IOCTL_DETACH,
		USB_DFU_IOCTL_RESET, USB_DFU_IOCTL_SET_COMMIT,
		USB_DFU_IOCTL_COMMIT, USB_DFU_IOCTL_DFUSE_SET_BASE,
		USB_DFU_IOCTL_DFUSE_ERASE, USB_DFU_IOCTL_DFUSE_MASS_ERASE,
		USB_DFU_IOCTL_DFUSE_UNPROTECT,
	};
	/* numbers the driver does not know: another nr, size or type */
	static const unsigned long unknown[] = {
		_IO(USB_DFU_IOCTL_MAGIC, 0x0b), _IO(USB_DFU_IOCTL_MAGIC, 0xff),
		_IOR(USB_DFU_IOCTL_MAGIC, 0x00, char[16]),
		_IOW(USB_DFU_IOCTL_MAGIC, 0x06, __u8),
		_IOWR(USB_DFU_IOCTL_MAGIC, 0x04, struct usb_dfu_info),
		_IO('U', 0x14), 0, 0xffffffffu,
	};
	union {
		struct usb_dfu_status st;
		struct usb_dfu_info info;
		struct usb_dfu_result res;
		__u32 u32;
		__u8 u8;
		char pad[64];
	} arg;
	void *p = &arg;
	unsigned long req;
	int ret;

	stat_add(&sh->ioctls);
	if (below(r, 6) == 0) {
		req = unknown[below(r, sizeof(unknown) / sizeof(*unknown))];
		ret = ioctl(fd, req, p);
		if (ret == 0 || (errno != ENOTTY && errno != EINTR)) {
			stat_add(&sh->bad_enotty);
			sh->bad_req = req;
			sh->bad_errno = ret ? errno : 0;
		}
		return;
	}
	req = reqs[below(r, sizeof(reqs) / sizeof(*reqs))];
	memset(&arg, 0, sizeof(arg));
	switch (below(r, 8)) {
	case 0: p = NULL; break;
	case 1: p = (void *)1; break;
	case 2: p = (void *)-4096L; break;
	case 3: arg.u32 = (__u32)rnd(r); break;	/* out-of-range values */
	case 4: arg.u32 = below(r, 4); break;
	default: arg.u32 = below(r, 2) ? 0 : below(r, 300); break;
	}
	if (req == USB_DFU_IOCTL_DETACH && p == &arg)
		arg.u32 = below(r, 3) ? below(r, 50) : (__u32)rnd(r);
	/* DfuSe: the confirmations sometimes, addresses near the STM32's */
	if (req == USB_DFU_IOCTL_DFUSE_MASS_ERASE && p == &arg && below(r, 2))
		arg.u32 = USB_DFU_DFUSE_MASS_ERASE_CONFIRM;
	if (req == USB_DFU_IOCTL_DFUSE_UNPROTECT && p == &arg && below(r, 2))
		arg.u32 = USB_DFU_DFUSE_UNPROTECT_CONFIRM;
	if ((req == USB_DFU_IOCTL_DFUSE_SET_BASE ||
	     req == USB_DFU_IOCTL_DFUSE_ERASE) && p == &arg && below(r, 2)) {
		arg.u32 = 0x08000000 + below(r, 0x20000);
		arg.pad[4] = below(r, 256);	/* an erase's length */
	}
	ioctl(fd, req, p);
}

static size_t io_size(struct rng *r, unsigned tsize)
{
	switch (below(r, 10)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return 65536;
	case 3: return tsize;
	case 4: return tsize + 1;
	case 5: return 3 * (size_t)tsize;
	default: return below(r, 3 * tsize + 2);
	}
}

/* One read or write; while in it, a process may be killed (slot >= 0). */
static void rw_op(struct rng *r, int fd, unsigned tsize, int slot, int wr)
{
	static __thread unsigned char *buf;
	size_t n = io_size(r, tsize);
	unsigned i;

	if (n > MAX_BUF)
		n = MAX_BUF;
	if (!buf) {
		buf = malloc(MAX_BUF);
		if (!buf)
			return;
	}
	if (wr)
		for (i = 0; i < n; i += 61)
			buf[i] = (unsigned char)rnd(r);
	if (slot >= 0)
		sh->in_io[slot] = 1;
	if (wr) {
		stat_add(&sh->writes);
		if (below(r, 8) == 0)	/* a bad buffer: EFAULT */
			(void)write(fd, (const void *)bad_addr, n ? n : 1);
		else
			(void)write(fd, buf, n);
	} else {
		stat_add(&sh->reads);
		(void)read(fd, below(r, 10) ? (void *)buf : NULL, n);
	}
	if (slot >= 0)
		sh->in_io[slot] = 0;
}

static void file_op(struct rng *r, int fd, unsigned tsize, int slot)
{
	struct pollfd pfd = { fd, POLLIN | POLLOUT, 0 };
	void *m;

	stat_add(&sh->ops);
	switch (below(r, 12)) {
	case 0: case 1: case 2:
		rw_op(r, fd, tsize, slot, 1);
		break;
	case 3: case 4:
		rw_op(r, fd, tsize, slot, 0);
		break;
	case 5:
		lseek(fd, (off_t)rnd(r) % 100000 - 1000, (int)below(r, 5));
		break;
	case 6:
		poll(&pfd, 1, (int)below(r, 100));
		break;
	case 7:
		fsync(fd);
		break;
	case 8:
		m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		if (m != MAP_FAILED)
			munmap(m, 4096);
		break;
	default:
		ioctl_ops(r, fd);
		break;
	}
}

static int open_flags(struct rng *r)
{
	static const int modes[] = { O_RDWR, O_RDONLY, O_WRONLY };
	int f = modes[below(r, 3)];

	if (below(r, 4) == 0)
		f |= O_NONBLOCK;
	return f;
}

/* One session on a node: open, a few operations, maybe close. */
static void node_session(struct rng *r, int slot)
{
	char name[32], path[48];
	unsigned tsize, i, n;
	int fd;

	if (pick_node(r, name, sizeof(name))) {
		sleep_ms((int)below(r, 30) + 1);
		return;
	}
	if (below(r, 4) == 0)
		sysfs_ops(r, name);
	snprintf(path, sizeof(path), "/dev/%s", name);
	tsize = transfer_size(name);
	if (tsize == 0 || tsize > 65535)
		tsize = 4096;
	fd = open(path, open_flags(r));
	stat_add(&sh->opens);
	if (fd < 0)
		return;
	n = below(r, 8) + 1;
	for (i = 0; i < n && !sh->stop; i++)
		file_op(r, fd, tsize, slot);
	close(fd);
	if (below(r, 3) == 0)	/* a moment with nothing open: rmmod may work */
		sleep_ms((int)below(r, 50));
}

/* --- workers ------------------------------------------------------------ */

static void noop_handler(int sig)
{
	(void)sig;
}

/* SIGALRM and SIGINT interrupt blocking calls: no SA_RESTART. */
static void install_noop_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

struct thread_arg {
	unsigned long seed;
	unsigned idx;
};

static void *thread_worker(void *p)
{
	struct thread_arg *a = p;
	struct rng r;

	rng_init(&r, a->seed, 100 + a->idx);
	while (!sh->stop)
		node_session(&r, -1);
	return NULL;
}

/* The threaded worker process: N_THREADS workers, and this thread sends
 * them SIGALRM and SIGINT at random times. */
static void __attribute__((noreturn)) threads_main(unsigned long seed)
{
	struct thread_arg args[N_THREADS];
	pthread_t t[N_THREADS];
	unsigned i, started = 0;
	struct rng r;

	install_noop_handlers();
	rng_init(&r, seed, 99);
	for (i = 0; i < N_THREADS; i++) {
		args[i].seed = seed;
		args[i].idx = i;
		if (!pthread_create(&t[i], NULL, thread_worker, &args[i]))
			started++;
	}
	while (!sh->stop && started == N_THREADS) {
		sleep_ms((int)below(&r, 200) + 5);
		pthread_kill(t[below(&r, N_THREADS)],
			     below(&r, 2) ? SIGALRM : SIGINT);
		stat_add(&sh->signals);
	}
	sh->stop = 1;
	for (i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	_exit(0);
}

static void __attribute__((noreturn)) proc_main(unsigned long seed,
						unsigned stream, int slot)
{
	struct rng r;

	install_noop_handlers();
	rng_init(&r, seed, stream);
	while (!sh->stop)
		node_session(&r, slot);
	_exit(0);
}

/* The reloads get the quirks= of the load that the guest runner made. */
static void remember_module_args(void)
{
	char quirks[200];

	if (!get_param("quirks", quirks, sizeof(quirks)) && quirks[0])
		snprintf(module_args, sizeof(module_args), "quirks=%s", quirks);
}

static int load_module(void)
{
	int fd = open(ko_path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, module_args, 0) ? -errno : 0;
	close(fd);
	return ret;
}

/* rmmod dfu now and then: EBUSY while a node is open, else it goes, and
 * comes back at once from --ko. */
static void __attribute__((noreturn)) module_main(unsigned long seed)
{
	struct rng r;
	int ret;

	rng_init(&r, seed, 50);
	while (!sh->stop) {
		sleep_ms((int)below(&r, 800) + 100);
		if (sh->stop)
			break;
		if (syscall(SYS_delete_module, "dfu", O_NONBLOCK)) {
			stat_add(&sh->rmmod_busy);
			continue;
		}
		stat_add(&sh->rmmod_ok);
		sleep_ms((int)below(&r, 200));
		ret = load_module();
		stat_add(ret && ret != -EEXIST ? &sh->insmod_fail : &sh->insmod_ok);
	}
	_exit(0);
}

static pid_t spawn_worker(int kind, unsigned long seed, unsigned stream, int slot)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (kind == 0)
		threads_main(seed);
	if (kind == 1)
		module_main(seed);
	proc_main(seed, stream, slot);
}

/* --- the seed's supervisor ---------------------------------------------- */

struct run {
	unsigned long seed;
	pid_t emu, threads, module, procs[N_PROCS];
	pid_t dying[256];	/* killed, not reaped yet */
	unsigned n_dying;
	int hang;
	int emu_status;	/* the emulator's wait status, -1 while running */
};

/* Reap what can be reaped without blocking; returns how many remain. */
static unsigned reap_dying(struct run *rs)
{
	unsigned i, j = 0;

	for (i = 0; i < rs->n_dying; i++)
		if (waitpid(rs->dying[i], NULL, WNOHANG) != rs->dying[i])
			rs->dying[j++] = rs->dying[i];
	rs->n_dying = j;
	return j;
}

static void kill_and_forget(struct run *rs, pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	if (rs->n_dying < sizeof(rs->dying) / sizeof(*rs->dying))
		rs->dying[rs->n_dying++] = pid;
}

/* Print where a stuck process is, then ask the kernel for all of them. */
static void report_hang(struct run *rs)
{
	char path[64], line[256];
	unsigned i;
	FILE *f;

	for (i = 0; i < rs->n_dying; i++) {
		snprintf(path, sizeof(path), "/proc/%d/stack", rs->dying[i]);
		ksft_print_msg("hang: pid %d did not die within %d ms:\n",
			       rs->dying[i], REAP_MS);
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			ksft_print_msg("  %s", line);
		if (f)
			fclose(f);
	}
	write_sysfs("/proc/sysrq-trigger", "w");
	rs->hang = 1;
}

/* While the emulator runs: keep the workload going, SIGKILL worker
 * processes in the middle of a read() or write(), and start new ones. */
static void supervise(struct run *rs)
{
	struct rng r;
	unsigned i, stream = 10;
	int status;

	rng_init(&r, rs->seed, 7);
	for (;;) {
		if (waitpid(rs->emu, &status, WNOHANG) == rs->emu) {
			rs->emu = 0;
			rs->emu_status = status;
			return;
		}
		sleep_ms((int)below(&r, 150) + 20);
		reap_dying(rs);
		i = below(&r, N_PROCS);
		if (below(&r, 3) || !sh->in_io[i])
			continue;
		kill_and_forget(rs, rs->procs[i]);
		stat_add(&sh->kills);
		sh->in_io[i] = 0;
		rs->procs[i] = spawn_worker(2, rs->seed, stream++, (int)i);
	}
}

static void stop_workload(struct run *rs)
{
	long long t0;
	unsigned i;

	sh->stop = 1;
	sleep_ms(300);	/* the chance to leave by themselves */
	kill_and_forget(rs, rs->threads);
	kill_and_forget(rs, rs->module);
	for (i = 0; i < N_PROCS; i++)
		kill_and_forget(rs, rs->procs[i]);
	t0 = now_us();
	while (reap_dying(rs) && ms_since(t0) < REAP_MS)
		sleep_ms(20);
	if (rs->n_dying)
		report_hang(rs);
}

/* The emulator normally stops by itself at --fuzz-ms. */
static void stop_emulator(struct run *rs)
{
	long long t0 = now_us();
	int sent_term = 0;

	while (rs->emu > 0) {
		if (waitpid(rs->emu, NULL, WNOHANG) == rs->emu) {
			rs->emu = 0;
			break;
		}
		if (!sent_term) {
			kill(rs->emu, SIGTERM);
			sent_term = 1;
		}
		if (ms_since(t0) > 10000) {
			kill_and_forget(rs, rs->emu);
			rs->emu = 0;
		}
		sleep_ms(20);
	}
}

static void wait_nodes_gone(struct run *rs)
{
	long long t0 = now_us();

	while (any_node() && ms_since(t0) < NODES_GONE_MS)
		sleep_ms(50);
	if (any_node()) {
		ksft_print_msg("hang: /dev/dfu* still present %d ms after the device left\n",
			       NODES_GONE_MS);
		write_sysfs("/proc/sysrq-trigger", "w");
		rs->hang = 1;
	}
}

/* The module must be loaded when the seed ends; insmod in a child, so
 * that a stuck load cannot stop the test. */
static void ensure_module(struct run *rs)
{
	long long t0;
	pid_t pid;
	int status;

	if (!access("/sys/module/dfu", F_OK) || !have_ko)
		return;
	pid = fork();
	if (pid == 0)
		_exit(load_module() ? 1 : 0);
	t0 = now_us();
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (ms_since(t0) > REAP_MS) {
			ksft_print_msg("hang: insmod %s\n", ko_path);
			kill_and_forget(rs, pid);
			report_hang(rs);
			return;
		}
		sleep_ms(20);
	}
	if (access("/sys/module/dfu", F_OK))
		ksft_print_msg("insmod %s failed\n", ko_path);
}

/* --- kernel log --------------------------------------------------------- */

static const char *const reports[] = {
	"BUG:", "WARNING:", "KASAN", "UBSAN", "possible circular locking",
	"inconsistent lock state", "suspicious RCU usage", "ODEBUG",
	"list_add corruption", "list_del corruption", "Oops",
	"general protection", "hung_task", "blocked for more than", "kmemleak",
};

/* /dev/kmsg, positioned at the end of the log (nonblocking). */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

static int is_report(const char *msg)
{
	unsigned i;

	for (i = 0; i < sizeof(reports) / sizeof(*reports); i++)
		if (strstr(msg, reports[i]))
			return 1;
	return 0;
}

/* Records since kmsg_open(); prints reports (and the lines after them).
 * Returns the number of report lines. */
static int kmsg_scan(int fd)
{
	char rec[8192];
	int found = 0, printed = 0, after = 0;
	ssize_t n;

	if (fd < 0)
		return 0;
	for (;;) {
		char *msg;

		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (n <= 0)
			break;
		rec[n] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		msg[strcspn(msg, "\n")] = 0;
		if (is_report(msg)) {
			found++;
			after = 20;	/* the call trace that follows */
		} else if (!after) {
			continue;
		} else {
			after--;
		}
		if (printed++ < MAX_REPORT)
			ksft_print_msg("kernel: %s\n", msg);
	}
	return found;
}

static void kmsg_mark(const char *fmt, unsigned long seed)
{
	char buf[96];
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	snprintf(buf, sizeof(buf), fmt, seed);
	(void)write(fd, buf, strlen(buf));
	close(fd);
}

/* --- one seed ----------------------------------------------------------- */

static pid_t start_emulator(unsigned long seed, const char *stats)
{
	const char *bin = getenv("DFU_EMU") ? getenv("DFU_EMU") : "/payload/dfu-emu";
	char s_seed[32], s_ms[32];
	pid_t pid;

	snprintf(s_seed, sizeof(s_seed), "%lu", seed);
	snprintf(s_ms, sizeof(s_ms), "%lu", fuzz_ms);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(bin, bin, "--fuzz", s_seed, "--fuzz-ms", s_ms, "--stats",
		      stats, "--serial", "FUZZ", verbose ? "--verbose" : NULL,
		      (char *)NULL);
		perror(bin);
		_exit(127);
	}
	return pid;
}

static long stat_of(const char *path, const char *key)
{
	char line[128];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f = fopen(path, "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == '=')
			v = strtol(line + klen + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static void print_seed_stats(struct run *rs, const char *stats, long long t0)
{
	long req = stat_of(stats, "fuzz_requests");
	long disc = stat_of(stats, "fuzz_disconnects");

	ksft_print_msg("seed %lu: %.1f s; device: %ld requests (%ld class), %ld stalls, %ld disconnects, %ld reconnects, %ld sessions, %ld delays\n",
		       rs->seed, ms_since(t0) / 1000.0, req,
		       stat_of(stats, "fuzz_class_requests"),
		       stat_of(stats, "fuzz_stalls"), disc,
		       stat_of(stats, "fuzz_reconnects"),
		       stat_of(stats, "fuzz_sessions"),
		       stat_of(stats, "fuzz_delays"));
	ksft_print_msg("seed %lu: workload: %lu ops, %lu opens, %lu writes, %lu reads, %lu ioctls, %lu sysfs, %lu signals, %lu kills, rmmod %lu ok %lu busy, insmod %lu ok %lu failed, %lu unknown ioctls not ENOTTY\n",
		       rs->seed, sh->ops, sh->opens, sh->writes, sh->reads,
		       sh->ioctls, sh->sysfs_ops, sh->signals, sh->kills,
		       sh->rmmod_ok, sh->rmmod_busy, sh->insmod_ok,
		       sh->insmod_fail, sh->bad_enotty);
	if (sh->bad_enotty)
		ksft_print_msg("seed %lu: unknown ioctl 0x%lx gave %s, not ENOTTY\n",
			       rs->seed, sh->bad_req,
			       sh->bad_errno ? strerror(sh->bad_errno) : "success");
	if (req > 0)
		tot_requests += (unsigned long)req;
	if (disc > 0)
		tot_disconnects += (unsigned long)disc;
}

static void on_seed_timeout(int sig)
{
	static const char msg[] = "# dfu_fuzz_test: seed timed out: the test itself is stuck\n";

	(void)sig;
	(void)write(1, msg, sizeof(msg) - 1);
	write_sysfs("/proc/sysrq-trigger", "w");
	/* workers and emulator share our process group */
	signal(SIGTERM, SIG_IGN);
	kill(0, SIGTERM);
	_exit(KSFT_FAIL);
}

static int run_seed(unsigned long seed)
{
	struct run rs;
	char stats[64];
	long long t0 = now_us();
	long long t_reap;
	int kmsg, reports, i;

	memset(&rs, 0, sizeof(rs));
	memset(sh, 0, sizeof(*sh));
	rs.seed = seed;
	rs.emu_status = -1;
	/* backstop: the emulator's run, stopping, reaping and waiting */
	alarm((unsigned)(fuzz_ms / 1000) + 3 * REAP_MS / 1000 + 60);
	kmsg = kmsg_open();
	kmsg_mark("dfu_fuzz_test: seed %lu\n", seed);
	snprintf(stats, sizeof(stats), "/tmp/dfu-fuzz-%lu.stats", seed);
	unlink(stats);

	rs.emu = start_emulator(seed, stats);
	rs.threads = spawn_worker(0, seed, 0, -1);
	rs.module = have_ko ? spawn_worker(1, seed, 0, -1) : 0;
	for (i = 0; i < N_PROCS; i++)
		rs.procs[i] = spawn_worker(2, seed, 1 + i, i);
	supervise(&rs);
	stop_workload(&rs);
	stop_emulator(&rs);
	if (!rs.hang)
		wait_nodes_gone(&rs);
	if (!rs.hang)
		ensure_module(&rs);
	kmsg_mark("dfu_fuzz_test: seed %lu done\n", seed);
	t_reap = now_us();
	while (reap_dying(&rs) && ms_since(t_reap) < 2000)
		sleep_ms(20);
	alarm(0);
	print_seed_stats(&rs, stats, t0);
	reports = kmsg_scan(kmsg);
	if (kmsg >= 0)
		close(kmsg);
	/* 127: no emulator to run, 1: raw_gadget failed: no fuzzing done */
	if (rs.emu_status != -1 && (!WIFEXITED(rs.emu_status) ||
				    WEXITSTATUS(rs.emu_status))) {
		ksft_print_msg("seed %lu: dfu-emu ended with status 0x%x\n",
			       seed, rs.emu_status);
		return 0;
	}
	if (reports || rs.hang) {
		ksft_print_msg("seed %lu: %d kernel report lines%s\n", seed,
			       reports, rs.hang ? ", a hang" : "");
		ksft_print_msg("replay: make fuzz SEEDS=%lu-%lu\n", seed, seed);
		ksft_print_msg("replay: ./dfu_fuzz_test --seeds %lu-%lu --ms %lu\n",
			       seed, seed, fuzz_ms);
		return 0;
	}
	return 1;
}

/* --- command line ------------------------------------------------------- */

static void parse_seeds(const char *s)
{
	char *end;

	seed_first = strtoul(s, &end, 0);
	seed_last = *end == '-' ? strtoul(end + 1, &end, 0) : seed_first;
	if (*end || seed_last < seed_first)
		ksft_exit_fail_msg("bad seed range '%s' (want A-B)\n", s);
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seeds", 1, 0, 's' }, { "ms", 1, 0, 'm' },
		{ "ko", 1, 0, 'k' }, { "verbose", 0, 0, 'v' },
		{ 0, 0, 0, 0 }
	};
	int c;

	if (getenv("DFU_FUZZ_SEEDS"))
		parse_seeds(getenv("DFU_FUZZ_SEEDS"));
	if (getenv("DFU_FUZZ_MS"))
		fuzz_ms = strtoul(getenv("DFU_FUZZ_MS"), NULL, 0);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': parse_seeds(optarg); break;
		case 'm': fuzz_ms = strtoul(optarg, NULL, 0); break;
		case 'k': ko_path = optarg; break;
		case 'v': verbose = 1; break;
		default:
			fprintf(stderr, "usage: dfu_fuzz_test [--seeds A-B] [--ms N] [--ko PATH] [--verbose]\n");
			exit(KSFT_FAIL);
		}
	}
	if (!fuzz_ms)
		fuzz_ms = 4000;
}

int main(int argc, char **argv)
{
	unsigned long seed;
	struct sigaction sa;

	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	ksft_print_header();
	ksft_set_plan((unsigned)(seed_last - seed_first + 1));
	if (geteuid())
		ksft_exit_skip("needs root (rmmod, sysrq, /dev/kmsg)\n");
	have_ko = !access(ko_path, R_OK);
	remember_module_args();
	if (!have_ko)
		ksft_print_msg("%s not found: no rmmod/insmod in the workload\n", ko_path);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		ksft_exit_fail_perror("mmap");
	/* our own process group, for the last-resort kill of everything */
	setpgid(0, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_seed_timeout;
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (seed = seed_first; seed <= seed_last; seed++) {
		int ok = run_seed(seed);

		tot_seeds++;
		tot_failed += !ok;
		ksft_test_result(ok, "seed %lu\n", seed);
	}
	ksft_print_msg("summary: %lu seeds, %lu failed, %lu device requests, %lu disconnects\n",
		       tot_seeds, tot_failed, tot_requests, tot_disconnects);
	ksft_finished();
}
