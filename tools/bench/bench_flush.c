/* bench_flush.c - the flush probe (see bench_flush.h). */
#include "bench_flush.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_proc.h"

#define PROBE_NAME "flush-probe"

/* what every write of the probe writes, at offset 0 */
static const char block[4096];

static void *probe(void *arg)
{
	struct bench_flush *f = arg;
	const struct timespec pause = { f->interval_ms / 1000, (long)(f->interval_ms % 1000) * 1000000L };

	while (!atomic_load(&f->stop)) {
		int64_t t0 = bench_mono_us();

		if (pwrite(f->fd, block, sizeof block, 0) != (ssize_t)sizeof block ||
		    fdatasync(f->fd) != 0) {
			f->err = errno ? errno : EIO;
			break;
		}
		if (bench_lat_add(&f->lat, bench_mono_us() - t0) != 0) {
			f->err = ENOMEM;
			break;
		}
		nanosleep(&pause, NULL);
	}
	return NULL;
}

int bench_flush_prepare(struct bench_flush *f, const char *dir, int interval_ms, char *err,
                        size_t errcap)
{
	memset(f, 0, sizeof *f);
	f->fd = -1;
	f->interval_ms = interval_ms;
	atomic_init(&f->stop, false);
	bench_lat_init(&f->lat);
	if ((size_t)snprintf(f->path, sizeof f->path, "%s/" PROBE_NAME, dir) >= sizeof f->path) {
		snprintf(err, errcap, "flush probe: directory name too long");
		return -1;
	}
	f->fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (f->fd < 0) {
		snprintf(err, errcap, "flush probe: %s: %s", f->path, strerror(errno));
		return -1;
	}
	if (pwrite(f->fd, block, sizeof block, 0) != (ssize_t)sizeof block || fsync(f->fd) != 0) {
		snprintf(err, errcap, "flush probe: %s: %s", f->path, strerror(errno));
		close(f->fd);
		f->fd = -1;
		unlink(f->path);
		return -1;
	}
	f->prepared = true;
	return 0;
}

int bench_flush_start(struct bench_flush *f, char *err, size_t errcap)
{
	int rc = f->prepared ? pthread_create(&f->thread, NULL, probe, f) : EBADF;

	if (rc != 0) {
		snprintf(err, errcap, "flush probe: cannot start: %s", strerror(rc));
		return -1;
	}
	f->running = true;
	return 0;
}

void bench_flush_request_stop(struct bench_flush *f)
{
	atomic_store(&f->stop, true);
}

int bench_flush_finish(struct bench_flush *f, struct bench_pct *out)
{
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (f->running) {
		bench_flush_request_stop(f);
		pthread_join(f->thread, NULL);
		f->running = false;
		rc = f->err == 0 ? 0 : -1;
	}
	if (f->prepared) {
		close(f->fd);
		unlink(f->path);
		f->prepared = false;
	}
	if (rc == 0)
		bench_lat_percentiles(&f->lat, out);
	bench_lat_free(&f->lat);
	return rc;
}
