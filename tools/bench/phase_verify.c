/* phase_verify.c - the raw limit the daemon is compared with: Ed25519
 * verifications per second on one core, over the PAE of a typical event, as the
 * daemon's workers do it and nothing else. */
#include <stdlib.h>

#include "bench.h"
#include "pointclear/sign.h"

double bench_measure_verify(struct bench *b, double seconds)
{
	uint8_t sig[64], pk[32], *payload;
	size_t len;
	uint64_t n = 0;
	int64_t t0, t;

	if (bench_wl_sample(&b->wl, &payload, &len, sig, pk) != 0)
		return 0;
	t0 = bench_mono_us();
	do {
		for (int i = 0; i < 256; i++)
			if (pc_verify(sig, PC_EVENT_PAYLOAD_TYPE, payload, len, pk))
				n++;
		t = bench_mono_us();
	} while (t - t0 < (int64_t)(seconds * 1e6));
	free(payload);
	return (double)n / ((double)(t - t0) / 1e6);
}
