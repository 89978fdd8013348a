/* Native driver: times run(iterations) `repeats` times after one warm-up call and prints
   "ns <elapsed>" (wall clock) and "cpu_ns <elapsed>" (this thread's CPU time, which time spent
   preempted by other processes does not count) per repeat, then "checksum <result>".
   Usage: kernel ITERATIONS REPEATS */
#define _POSIX_C_SOURCE 200112L /* clock_gettime, CLOCK_THREAD_CPUTIME_ID under -std=c11 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "kernel.h"

static long long now_ns(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
    int iterations = argc > 1 ? atoi(argv[1]) : 1000;
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    double result = run(iterations);
    for (int r = 0; r < repeats; r++) {
        long long t0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
        result = run(iterations);
        long long c1 = now_ns(CLOCK_THREAD_CPUTIME_ID), t1 = now_ns(CLOCK_MONOTONIC);
        printf("ns %lld\ncpu_ns %lld\n", t1 - t0, c1 - c0);
    }
    printf("checksum %.17g\n", result);
    return 0;
}
