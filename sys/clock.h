/*
 * clock.h - the clock helpers the tree shares: a monotonic millisecond clock for timeouts
 * and pacing, a sleep that survives signals, and a CLOCK_REALTIME deadline for
 * pthread_cond_timedwait(). Any thread.
 */
#ifndef SYS_CLOCK_H
#define SYS_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC (only differences mean anything). */
uint64_t sys_now_ms(void);

/* Seconds on CLOCK_MONOTONIC, with nanoseconds, for measuring durations. */
double sys_now_s(void);

/* Sleeps ms milliseconds (again after a signal interrupts it). */
void sys_sleep_ms(uint64_t ms);

/* The CLOCK_REALTIME time ms milliseconds from now, as pthread_cond_timedwait() takes it. */
struct timespec sys_deadline_ms(uint64_t ms);

#endif
