/* A slower disk for the sync benchmarks: every fsync and fdatasync of the
 * process this is preloaded into returns SLOW_FLUSH_US microseconds later
 * (default 5000, a disk without a write cache). Ours and the anchors pay the
 * same delay per flush. Built and used by scripts/bench-slow-flush.sh; not
 * part of any build or test. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static void slow_down(void) {
    const char *v = getenv("SLOW_FLUSH_US");
    long us = v ? atol(v) : 5000;
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&t, &t) != 0) {
    }
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    int r = real(fd);
    slow_down();
    return r;
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    int r = real(fd);
    slow_down();
    return r;
}
