/*
 * tap.h - a small TAP producer for the unit tests (meson runs them with protocol 'tap').
 *
 *   ok(cond, "what was checked %d", n);   one test point
 *   skip_all("reason");                   prints "1..0 # SKIP reason", exits 77
 *   return tap_done();                    prints the plan; exit status 0 when all passed
 *
 * Also a fixed-seed generator, so that "random" inputs are the same on every run.
 */
#ifndef ZGFS_TESTS_TAP_H
#define ZGFS_TESTS_TAP_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count, tap_failed;

__attribute__((format(printf, 2, 3), unused)) static int ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

__attribute__((format(printf, 1, 2), unused)) static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

__attribute__((noreturn, unused)) static void skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	exit(77);
}

__attribute__((unused)) static int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

/* xorshift64*: deterministic, fast, good enough for test inputs. */
static uint64_t tap_rng_state = 0x9e3779b97f4a7c15ULL;

__attribute__((unused)) static void tap_seed(uint64_t s)
{
	tap_rng_state = s ? s : 1;
}

__attribute__((unused)) static uint64_t tap_rand(void)
{
	uint64_t x = tap_rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	tap_rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

__attribute__((unused)) static void tap_fill(void *buf, size_t len)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(tap_rand() >> 56);
}

#endif
