// SPDX-License-Identifier: GPL-2.0
/*
 * rusage FILE CMD [ARG...]: run CMD, then write to FILE one line
 * "wall_us=W user_us=U sys_us=S maxrss_kb=R": its wall time, and the CPU
 * time of CMD and of every child it waited for (getrusage(RUSAGE_CHILDREN)
 * of this process, which waits only for CMD). Exits with CMD's status.
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static long long tv_us(struct timeval tv)
{
	return tv.tv_sec * 1000000LL + tv.tv_usec;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	long long t0, t1;
	int status;
	pid_t pid;
	FILE *f;

	if (argc < 3) {
		fprintf(stderr, "usage: rusage FILE CMD [ARG...]\n");
		return 64;
	}
	t0 = now_us();
	pid = fork();
	if (pid < 0) {
		perror("rusage: fork");
		return 71;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("rusage: waitpid");
		return 71;
	}
	t1 = now_us();
	getrusage(RUSAGE_CHILDREN, &ru);
	f = fopen(argv[1], "w");
	if (!f) {
		perror(argv[1]);
		return 73;
	}
	fprintf(f, "wall_us=%lld user_us=%lld sys_us=%lld maxrss_kb=%ld\n", t1 - t0,
		tv_us(ru.ru_utime), tv_us(ru.ru_stime), ru.ru_maxrss);
	if (fclose(f)) {
		perror(argv[1]);
		return 74;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
