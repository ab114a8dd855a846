/*
 * threads.h - run one worker function on several threads at once: the caller's thread and
 * up to n - 1 more, all joined before it returns. The worker shares its argument and takes
 * its own items from it (an atomic cursor, say) until none are left, so that a thread that
 * could not be started only means fewer hands. Any thread.
 */
#ifndef SYS_THREADS_H
#define SYS_THREADS_H

/* Runs fn(arg) on n threads (the caller's included; n 0 or 1: the caller's only) and returns
 * once every one of them returned. */
void sys_run_threads(void *(*fn)(void *), void *arg, unsigned n);

#endif
