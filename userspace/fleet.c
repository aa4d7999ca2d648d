// SPDX-License-Identifier: GPL-2.0
/*
 * fleet.c - one job per device, in parallel (see fleet.h)
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "clock.h"
#include "fleet.h"
#include "msg.h"
#include "text.h"

/* how often the progress lines are redrawn on a terminal */
#define REDRAW_MS	200

/* What a child reports to the parent, in shared memory. */
struct slot {
	_Atomic int phase;		/* index in phases[] */
	_Atomic uint64_t done, total;	/* of the phase */
	_Atomic long long since_ms;	/* when the phase began */
	/* the first transfer (download or upload), not verify */
	_Atomic uint64_t xfer_done, xfer_total;
	_Atomic long long xfer_start, xfer_last;
};

static const char *const phases[] = { "starting", "download", "verify", "upload", "busy" };
enum { PH_START, PH_DOWNLOAD, PH_VERIFY, PH_UPLOAD, PH_OTHER };

/* the child's slot: NULL in the parent and outside a fleet */
static struct slot *my_slot;

void fleet_progress(const char *what, uint64_t done, uint64_t total)
{
	struct slot *s = my_slot;
	long long now;
	int ph;

	if (!s)
		return;
	now = now_ms();
	for (ph = PH_DOWNLOAD; ph < PH_OTHER && strcmp(what, phases[ph]); ph++)
		;
	if (ph != s->phase) {
		s->since_ms = now;
		s->phase = ph;
	}
	s->done = done;
	s->total = total;
	if (ph == PH_VERIFY)
		return;
	if (!s->xfer_start)
		s->xfer_start = now;
	s->xfer_last = now;
	s->xfer_done = done;
	s->xfer_total = total;
}

/* worst last: see fleet.h */
static const int severity[] = {
	EX_OK, EX_TEMPFAIL, EX_UNAVAILABLE, EX_CANTCREAT, EX_NOPERM, EX_USAGE, EX_DATAERR,
	EX_IOERR, -1 /* any other */, EX_OSERR, EX_SOFTWARE,
};

static int rank(int code)
{
	int i, other = 0, n = (int)(sizeof(severity) / sizeof(severity[0]));

	for (i = 0; i < n; i++) {
		if (severity[i] == code)
			return i;
		if (severity[i] == -1)
			other = i;
	}
	return other;
}

int fleet_worse(int a, int b)
{
	return rank(b) > rank(a) ? b : a;
}

/* the signal that stops the run, 0 for none */
static volatile sig_atomic_t got_signal;
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };
#define N_STOP	(int)(sizeof(stop_signals) / sizeof(stop_signals[0]))

static void on_signal(int sig)
{
	got_signal = sig;
}

/* Block (how SIG_BLOCK) or unblock the stop signals. */
static void mask_signals(int how, sigset_t *old)
{
	sigset_t set;
	int i;

	sigemptyset(&set);
	for (i = 0; i < N_STOP; i++)
		sigaddset(&set, stop_signals[i]);
	sigprocmask(how, &set, old);
}

/* A growing text, written to stderr in one piece (no flicker on a terminal). */
struct text {
	char buf[65536];
	size_t len;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->len >= sizeof(t->buf) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len += (size_t)n < sizeof(t->buf) - t->len ? (size_t)n : sizeof(t->buf) - 1 - t->len;
}

static void flush_text(struct text *t)
{
	size_t off = 0;
	ssize_t w;

	while (off < t->len) {
		w = write(STDERR_FILENO, t->buf + off, t->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	t->len = 0;
}

/* The device, for messages: /dev/dfu3 (serial "ABC", USB port 1-1). */
static const char *label(const struct fleet_job *j, char *buf, size_t size)
{
	char esc[4 * sizeof(j->dev.serial)];

	if (*j->dev.serial)
		snprintf(buf, size, "%s (serial \"%s\", USB port %s)", j->dev.node,
			 text_escape(esc, sizeof(esc), j->dev.serial), j->dev.usb_path);
	else
		snprintf(buf, size, "%s (no serial, USB port %s)", j->dev.node, j->dev.usb_path);
	return buf;
}

struct run {
	struct fleet_job *jobs;
	struct slot *slots;
	int n;
	const struct fleet_opts *o;
	const char *prefix;	/* "dfuctl flash: " */
	int tty;		/* one progress line per device on stderr */
	int cols;
	int drawn;		/* progress lines on the screen now */
	long long last_draw;
	struct text out;
};

static double kib_s(uint64_t bytes, long long ms)
{
	return ms > 0 ? bytes * 1000.0 / 1024 / ms : 0;
}

/* Cut s to at most max bytes, at the start of a UTF-8 character. */
static void cut(char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	s[max] = 0;
}

/* The progress line of job i: serial, port, node, state, rate. */
static void progress_line(struct run *r, int i)
{
	const struct fleet_job *j = &r->jobs[i];
	const struct slot *s = &r->slots[i];
	char esc[32], line[512], what[160];
	uint64_t done = s->done, total = s->total;
	long long now = now_ms();

	text_escape(esc, sizeof(esc), *j->dev.serial ? j->dev.serial : "-");
	if (j->state == FLEET_QUEUED) {
		snprintf(what, sizeof(what), "queued");
	} else if (j->state == FLEET_DONE && j->exit == -1) {
		snprintf(what, sizeof(what), "not started");
	} else if (j->state == FLEET_DONE && j->exit) {
		snprintf(what, sizeof(what), "FAILED (exit %d)", j->exit);
	} else if (j->state == FLEET_DONE) {
		snprintf(what, sizeof(what), "done: %" PRIu64 " KiB in %.1f s, %.0f KiB/s",
			 j->bytes / 1024, j->xfer_ms / 1000.0, kib_s(j->bytes, j->xfer_ms));
	} else if (s->phase == PH_START || s->phase == PH_OTHER) {
		snprintf(what, sizeof(what), "%s", phases[s->phase]);
	} else if (total) {
		snprintf(what, sizeof(what), "%-8s %3d%% %" PRIu64 "/%" PRIu64 " KiB, %.0f KiB/s",
			 phases[s->phase], (int)(done * 100 / total), done / 1024, total / 1024,
			 kib_s(done, now - s->since_ms));
	} else {
		snprintf(what, sizeof(what), "%-8s %" PRIu64 " KiB, %.0f KiB/s", phases[s->phase],
			 done / 1024, kib_s(done, now - s->since_ms));
	}
	snprintf(line, sizeof(line), "%-20s %-10s %-11s %s", esc, j->dev.usb_path, j->dev.node,
		 what);
	cut(line, r->cols > 1 ? (size_t)r->cols - 1 : 79);
	add(&r->out, "%s\n", line);
}

/* Take the progress lines off the screen (before a message). */
static void erase(struct run *r)
{
	if (r->tty && r->drawn)
		add(&r->out, "\033[%dA\r\033[J", r->drawn);
	r->drawn = 0;
}

static void draw(struct run *r)
{
	int i;

	if (!r->tty)
		return;
	erase(r);
	for (i = 0; i < r->n; i++)
		progress_line(r, i);
	r->drawn = r->n;
	r->last_draw = now_ms();
}

/* One line of a child's output: kept, and repeated with the device's name. */
static void child_line(struct run *r, struct fleet_job *j, const char *text)
{
	size_t plen = strlen(r->prefix);
	char name[2048], **m;

	if (!*text)
		return;		/* say_nl()'s newline */
	if (!strncmp(text, r->prefix, plen))
		text += plen;
	m = realloc(j->msgs, (j->n_msgs + 1) * sizeof(*m));
	if (m) {
		j->msgs = m;
		m[j->n_msgs] = strdup(text);
		if (m[j->n_msgs])
			j->n_msgs++;
	}
	erase(r);
	add(&r->out, "%s%s: %s\n", r->prefix, label(j, name, sizeof(name)), text);
}

/* Read what the child wrote; returns 0 at its end. */
static int read_child(struct run *r, struct fleet_job *j)
{
	char buf[4096];
	ssize_t n = read(j->out_fd, buf, sizeof(buf));
	size_t i;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	for (i = 0; n > 0 && i < (size_t)n; i++) {
		if (j->line_len == sizeof(j->line) - 1 || buf[i] == '\n') {
			j->line[j->line_len] = 0;
			child_line(r, j, j->line);
			j->line_len = 0;
			if (buf[i] == '\n')
				continue;
		}
		j->line[j->line_len++] = buf[i];
	}
	if (n > 0)
		return 1;
	if (j->line_len) {
		j->line[j->line_len] = 0;
		child_line(r, j, j->line);
		j->line_len = 0;
	}
	return 0;
}

static void json_result(const struct fleet_job *j)
{
	const struct dfu_dev_desc *d = &j->dev;
	const char *result = j->exit == -1 ? "not started" : j->exit ? "failed" : "ok";
	FILE *f = stdout;
	size_t i;

	fputs("{\"node\": ", f);
	text_json_str(f, d->node);
	fputs(", \"serial\": ", f);
	text_json_str(f, d->serial);
	fprintf(f, ", \"vid\": \"%04x\", \"pid\": \"%04x\", \"mode\": ", d->vid, d->pid);
	text_json_str(f, d->mode);
	fputs(", \"usb_path\": ", f);
	text_json_str(f, d->usb_path);
	fputs(", \"id_path\": ", f);
	text_json_str(f, d->id_path);
	if (*j->file) {
		fputs(", \"file\": ", f);
		text_json_str(f, j->file);
	}
	fprintf(f, ", \"result\": \"%s\", \"exit\": ", result);
	if (j->exit == -1)
		fputs("null", f);
	else
		fprintf(f, "%d", j->exit);
	fprintf(f, ", \"bytes\": %" PRIu64 ", \"total\": ", j->bytes);
	if (j->total)
		fprintf(f, "%" PRIu64, j->total);
	else
		fputs("null", f);
	fprintf(f, ", \"seconds\": %.3f, \"bytes_per_second\": %.0f, \"error\": ",
		j->xfer_ms / 1000.0, j->xfer_ms > 0 ? j->bytes * 1000.0 / j->xfer_ms : 0.0);
	if (j->exit && j->n_msgs)
		text_json_str(f, j->msgs[j->n_msgs - 1]);
	else if (j->exit)
		text_json_str(f, j->exit == -1 ? "not started: dfuctl was interrupted" :
				 "failed without a message");
	else
		fputs("null", f);
	fputs(", \"messages\": [", f);
	for (i = 0; i < j->n_msgs; i++) {
		if (i)
			fputs(", ", f);
		text_json_str(f, j->msgs[i]);
	}
	fputs("]}\n", f);
	fflush(f);
}

/* The job's child has closed its output: reap it, report the result. */
static void finish(struct run *r, int i)
{
	struct fleet_job *j = &r->jobs[i];
	const struct slot *s = &r->slots[i];
	char name[2048];
	int status;

	close(j->out_fd);
	j->out_fd = -1;
	status = -1;
	while (waitpid(j->pid, &status, 0) < 0 && errno == EINTR)
		;
	j->end_ms = now_ms();
	if (status == -1) {
		/* not ours to reap (SIGCHLD ignored by whoever started us) */
		j->exit = EX_OSERR;
	} else if (WIFEXITED(status)) {
		j->exit = WEXITSTATUS(status);
	} else {
		int sig = WTERMSIG(status), k;
		char msg[128];

		j->exit = EX_SOFTWARE;
		for (k = 0; k < N_STOP; k++)
			if (sig == stop_signals[k])
				j->exit = 128 + sig;
		snprintf(msg, sizeof(msg), "its dfuctl process was killed by signal %d (%s)", sig,
			 strsignal(sig));
		child_line(r, j, msg);
	}
	j->state = FLEET_DONE;
	j->bytes = s->xfer_done;
	j->total = s->xfer_total;
	j->xfer_ms = s->xfer_start ? s->xfer_last - s->xfer_start : j->end_ms - j->start_ms;
	r->last_draw = 0;	/* show it now */
	if (!r->tty && (j->exit || !r->o->quiet)) {
		label(j, name, sizeof(name));
		if (j->exit)
			add(&r->out, "%s%s: failed (exit %d)\n", r->prefix, name, j->exit);
		else
			add(&r->out, "%s%s: %s: %" PRIu64 " bytes in %.2f s (%.0f KiB/s)\n",
			    r->prefix, name, r->o->done_word, j->bytes, j->xfer_ms / 1000.0,
			    kib_s(j->bytes, j->xfer_ms));
	}
	if (r->o->json)
		json_result(j);
}

/* Start job i in a child; on failure the job is done with EX_OSERR. */
static void start(struct run *r, int i, int (*fn)(struct fleet_job *, void *), void *arg)
{
	struct fleet_job *j = &r->jobs[i];
	char name[2048];
	int p[2], k, ret;
	sigset_t old;

	j->start_ms = now_ms();
	r->slots[i].phase = PH_START;
	if (pipe(p)) {
		j->exit = EX_OSERR;
		j->state = FLEET_DONE;
		erase(r);
		add(&r->out, "%s%s: cannot start: pipe: %s\n", r->prefix,
		    label(j, name, sizeof(name)), strerror(errno));
		return;
	}
	fflush(stdout);
	flush_text(&r->out);
	mask_signals(SIG_BLOCK, &old);
	j->pid = fork();
	if (!j->pid) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		for (k = 0; k < N_STOP; k++)
			sigaction(stop_signals[k], &sa, NULL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		for (k = 0; k < r->n; k++)
			if (k != i && r->jobs[k].out_fd >= 0)
				close(r->jobs[k].out_fd);
		close(p[0]);
		if (dup2(p[1], STDOUT_FILENO) < 0 || dup2(p[1], STDERR_FILENO) < 0)
			_exit(EX_OSERR);
		close(p[1]);
		my_slot = &r->slots[i];
		ret = fn(j, arg);
		fflush(stdout);
		fflush(stderr);
		_exit(ret);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	if (j->pid < 0) {
		close(p[0]);
		j->exit = EX_OSERR;
		j->state = FLEET_DONE;
		erase(r);
		add(&r->out, "%s%s: cannot start: fork: %s\n", r->prefix,
		    label(j, name, sizeof(name)), strerror(errno));
		return;
	}
	j->out_fd = p[0];
	j->state = FLEET_RUNNING;
	if (!r->tty && !r->o->quiet)
		add(&r->out, "%s%s: started\n", r->prefix, label(j, name, sizeof(name)));
}

/* The summary after the run: each device that failed, then the count. */
static int summary(struct run *r)
{
	int i, failed = 0, worst = EX_OK, not_started = 0;
	char name[2048];

	for (i = 0; i < r->n; i++) {
		struct fleet_job *j = &r->jobs[i];

		if (j->exit == -1) {
			not_started++;
			continue;
		}
		if (!j->exit)
			continue;
		failed++;
		worst = fleet_worse(worst, j->exit);
		add(&r->out, "%sFAILED: %s: exit %d%s%s\n", r->prefix,
		    label(j, name, sizeof(name)), j->exit, j->n_msgs ? ": " : "",
		    j->n_msgs ? j->msgs[j->n_msgs - 1] : "");
	}
	if (!failed && !not_started) {
		add(&r->out, "%sall %d device%s %s\n", r->prefix, r->n, r->n == 1 ? "" : "s",
		    r->o->done_word);
		return EX_OK;
	}
	add(&r->out, "%s%d of %d device%s %s, %d failed", r->prefix,
	    r->n - failed - not_started, r->n, r->n == 1 ? "" : "s", r->o->done_word, failed);
	if (not_started)
		add(&r->out, ", %d not started (interrupted)", not_started);
	if (failed)
		add(&r->out, " (exit %d)", worst);
	add(&r->out, "\n");
	return worst;
}

static int term_size(int *cols)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) || !ws.ws_row || !ws.ws_col)
		return 0;
	*cols = ws.ws_col;
	return ws.ws_row;
}

int fleet_run(struct fleet_job *jobs, int n, const struct fleet_opts *o,
	      int (*fn)(struct fleet_job *job, void *arg), void *arg)
{
	struct sigaction sa, old_sa[N_STOP];
	struct pollfd *pfd;
	int *who, i, k, running = 0, done = 0, next = 0, limit, worst, rows, forwarded = 0;
	static struct run r;
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "dfuctl %s: ", dfuctl_cmd ? dfuctl_cmd : "");
	/* a SIGCHLD ignored by whoever started us would reap the children */
	signal(SIGCHLD, SIG_DFL);
	memset(&r, 0, sizeof(r));
	r.jobs = jobs;
	r.n = n;
	r.o = o;
	r.prefix = prefix;
	r.cols = 80;
	rows = o->quiet || !isatty(STDERR_FILENO) ? 0 : term_size(&r.cols);
	/* all the lines must fit, or redrawing them in place fails */
	r.tty = rows > n + 1;
	r.slots = mmap(NULL, (size_t)n * sizeof(*r.slots), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pfd = calloc((size_t)n, sizeof(*pfd));
	who = calloc((size_t)n, sizeof(*who));
	if (r.slots == MAP_FAILED || !pfd || !who) {
		say("out of memory for %d jobs\n", n);
		free(pfd);
		free(who);
		return EX_OSERR;
	}
	for (i = 0; i < n; i++) {
		jobs[i].state = FLEET_QUEUED;
		jobs[i].out_fd = -1;
		jobs[i].exit = 0;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	got_signal = 0;
	for (k = 0; k < N_STOP; k++)
		sigaction(stop_signals[k], &sa, &old_sa[k]);
	limit = o->jobs > 0 && o->jobs < n ? o->jobs : n;
	while (done < n) {
		if (got_signal && !forwarded) {
			/* no more jobs: the queued ones are "not started" */
			forwarded = 1;
			for (; next < n; next++) {
				jobs[next].state = FLEET_DONE;
				jobs[next].exit = -1;
				done++;
				if (o->json)
					json_result(&jobs[next]);
			}
			for (i = 0; i < n; i++)
				if (jobs[i].state == FLEET_RUNNING)
					kill(jobs[i].pid, got_signal);
		}
		while (!got_signal && running < limit && next < n) {
			start(&r, next, fn, arg);
			if (jobs[next].state == FLEET_RUNNING) {
				running++;
			} else {
				done++;
				if (o->json)
					json_result(&jobs[next]);
			}
			next++;
		}
		if (r.tty && (r.out.len || now_ms() - r.last_draw >= REDRAW_MS))
			draw(&r);
		flush_text(&r.out);
		if (!running)
			continue;
		for (i = 0, k = 0; i < n; i++) {
			if (jobs[i].state != FLEET_RUNNING)
				continue;
			pfd[k].fd = jobs[i].out_fd;
			pfd[k].events = POLLIN;
			who[k++] = i;
		}
		if (poll(pfd, (nfds_t)k, r.tty ? REDRAW_MS : 1000) < 0 && errno != EINTR) {
			say("poll: %s\n", strerror(errno));
			sleep(1);
			continue;
		}
		for (i = 0; i < k; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (read_child(&r, &jobs[who[i]]))
				continue;
			finish(&r, who[i]);
			running--;
			done++;
		}
	}
	if (r.tty)
		draw(&r);
	worst = summary(&r);
	flush_text(&r.out);
	for (k = 0; k < N_STOP; k++)
		sigaction(stop_signals[k], &old_sa[k], NULL);
	munmap(r.slots, (size_t)n * sizeof(*r.slots));
	free(pfd);
	free(who);
	if (got_signal) {
		/* die of it, as the single-device commands do */
		signal(got_signal, SIG_DFL);
		raise(got_signal);
	}
	return worst;
}
