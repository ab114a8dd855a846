/* fuzz.h - the libFuzzer entry point every target defines. Built with -fsanitize=fuzzer
 * (clang) it is a fuzzer; linked with replay.c it runs a corpus as an ordinary test. */
#ifndef ZGFS_TESTS_FUZZ_H
#define ZGFS_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
