/* phase_idle.c - the memory an idle connection costs: --idle N TLS connections,
 * each authenticated (a PING answered), held open on a fresh daemon, and its RSS
 * before and after. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define CONNECT_MS 60000

int bench_idle_phase(struct bench *b, struct bench_idle_out *out)
{
	uint64_t hwm;
	char err[512];

	memset(out, 0, sizeof *out);
	out->n = b->o.idle;
	if (bench_daemon_up(b, "idle") != 0 || bench_client_up(b) != 0)
		return 1;
	sleep(1);   /* let it settle: key cache loaded, writer connected */
	if (bench_proc_mem(b->d.pid, &out->rss_before, &hwm) != 0)
		return bench_fail("cannot read the daemon's memory");
	bench_progress("idle: opening %d TLS connections", out->n);
	if (bench_client_idle_open(b->cl, out->n, CONNECT_MS, &out->ok, err, sizeof err) != 0)
		return bench_fail("%s", err);
	sleep(1);
	if (bench_proc_mem(b->d.pid, &out->rss_after, &hwm) != 0)
		return bench_fail("cannot read the daemon's memory");
	out->measured = true;
	bench_client_idle_close(b->cl);
	bench_daemon_down(b);
	printf("idle: %d of %d connections open and authenticated (PING answered): daemon RSS"
	       " %.1f MiB -> %.1f MiB, %.1f KiB per connection\n",
	       out->ok, out->n, (double)out->rss_before / 1024, (double)out->rss_after / 1024,
	       out->ok ? (double)(out->rss_after - out->rss_before) / out->ok : 0.0);
	fflush(stdout);
	return 0;
}
