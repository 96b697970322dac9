/* clock.h - the daemon's two clocks, in microseconds. */
#ifndef PC_CLOCK_H
#define PC_CLOCK_H

#include <stdint.h>

int64_t pc_now_us(void);     /* wall clock: time windows, timestamps */
int64_t pc_mono_us(void);    /* monotonic: durations */

#endif
