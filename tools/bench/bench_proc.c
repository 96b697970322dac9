/* bench_proc.c - the daemon under test, setup commands and /proc (see bench_proc.h). */
#include "bench_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t bench_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Whether the log has the listening line yet; sets *port from it. */
static int scan_log(const char *path, int *port)
{
	static const char needle[] = "pointcleard: listening on ";
	char buf[8192];
	FILE *f = fopen(path, "r");
	int found = 0;

	if (!f)
		return 0;
	while (fgets(buf, sizeof buf, f)) {
		char *p = strstr(buf, needle);
		char *colon;

		if (!p)
			continue;
		p += strlen(needle);
		colon = strrchr(p, ':');
		if (colon && (*port = atoi(colon + 1)) > 0) {
			found = 1;
			break;
		}
	}
	fclose(f);
	return found;
}

int bench_daemon_start(struct bench_daemon *d, char *const argv[], const char *log_path,
                       int timeout_ms, char *err, size_t errlen)
{
	pid_t parent = getpid();
	int fd;

	memset(d, 0, sizeof *d);
	snprintf(d->log, sizeof d->log, "%s", log_path);
	fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", log_path, strerror(errno));
		return -1;
	}
	d->pid = fork();
	if (d->pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(fd);
		d->pid = 0;
		return -1;
	}
	if (d->pid == 0) {
		/* the daemon must not outlive a bench that is killed */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		dprintf(2, "pointclear-bench: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		int status;

		if (scan_log(log_path, &d->port))
			return 0;
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			snprintf(err, errlen, "the daemon exited before listening (see %s)", log_path);
			return -1;
		}
		sleep_ms(50);
	}
	snprintf(err, errlen, "the daemon did not say \"listening on\" within %d ms (see %s)",
	         timeout_ms, log_path);
	bench_daemon_stop(d, 2000);
	return -1;
}

int bench_daemon_stop(struct bench_daemon *d, int timeout_ms)
{
	int status = -1;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	for (int waited = 0;; waited += 20) {
		pid_t r = waitpid(d->pid, &status, WNOHANG);

		if (r == d->pid || (r < 0 && errno == ECHILD))
			break;
		if (waited >= timeout_ms) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &status, 0);
			break;
		}
		sleep_ms(20);
	}
	d->pid = 0;
	return status;
}

int bench_run(char *const argv[], char *out, size_t outlen, char *err, size_t errlen)
{
	int pipefd[2], status;
	size_t len = 0;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(pipefd[1], 1);
		execv(argv[0], argv);
		dprintf(2, "pointclear-bench: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		char buf[512];
		ssize_t n = read(pipefd[0], buf, sizeof buf);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n && out && len + 1 < outlen; i++)
			out[len++] = buf[i];
	}
	if (out && outlen)
		out[len] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return -1;
		}
	}
	if (!WIFEXITED(status)) {
		snprintf(err, errlen, "%s was killed by signal %d", argv[0], WTERMSIG(status));
		return -1;
	}
	return WEXITSTATUS(status);
}

int bench_proc_cpu_ticks(pid_t pid, uint64_t *ticks)
{
	char path[64], buf[1024];
	unsigned long long ut, st;
	FILE *f;
	char *p;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	p = fgets(buf, sizeof buf, f);
	fclose(f);
	/* the command name may hold spaces or parentheses: fields count from the last ')' */
	if (!p || !(p = strrchr(buf, ')')))
		return -1;
	/* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime(14) stime(15) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	*ticks = (uint64_t)(ut + st);
	return 0;
}

int bench_proc_is(pid_t pid, const char *comm)
{
	char path[64], buf[64];
	FILE *f;
	char *p;

	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	p = fgets(buf, sizeof buf, f);
	fclose(f);
	if (!p)
		return 0;
	buf[strcspn(buf, "\n")] = '\0';
	return strcmp(buf, comm) == 0;
}

int bench_proc_mem(pid_t pid, uint64_t *rss_kib, uint64_t *hwm_kib)
{
	char path[64], line[256];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof line, f)) {
		unsigned long long v;

		if (sscanf(line, "VmRSS: %llu kB", &v) == 1) {
			*rss_kib = v;
			found |= 1;
		} else if (sscanf(line, "VmHWM: %llu kB", &v) == 1) {
			*hwm_kib = v;
			found |= 2;
		}
	}
	fclose(f);
	return found == 3 ? 0 : -1;
}

int bench_sys_cpu(uint64_t *busy, uint64_t *total, uint64_t *steal)
{
	unsigned long long v[10] = {0};
	char line[512];
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return -1;
	if (!fgets(line, sizeof line, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	/* cpu user nice system idle iowait irq softirq steal guest guest_nice */
	n = sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
	           &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	if (n < 4)
		return -1;
	/* guest time is already counted in user time */
	*total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
	*busy = *total - v[3] - v[4];
	*steal = v[7];
	return 0;
}

int64_t bench_self_cpu_us(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
	       ru.ru_stime.tv_usec;
}

long bench_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? 1L << 30 : (long)rl.rlim_cur;
}
