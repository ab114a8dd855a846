/* The worker threads of sys/threads.h. At most SYS_THREADS_MAX run one function. */
#include <pthread.h>

#include "sys/threads.h"

#define SYS_THREADS_MAX 64

void sys_run_threads(void *(*fn)(void *), void *arg, unsigned n)
{
	pthread_t th[SYS_THREADS_MAX];
	unsigned started = 0;

	for (unsigned i = 1; i < n && i < SYS_THREADS_MAX; i++)
		if (pthread_create(&th[started], NULL, fn, arg) == 0)
			started++;
	fn(arg);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}
