/* clock.c - the daemon's clocks (see clock.h). */
#include "clock.h"

#include <time.h>

static int64_t clock_us(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t pc_now_us(void)
{
	return clock_us(CLOCK_REALTIME);
}

int64_t pc_mono_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}
