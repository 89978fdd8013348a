/* Native driver: times run(iterations) `repeats` times after one warm-up call and prints
   "ns <elapsed>" per repeat, then "checksum <result>". Usage: kernel ITERATIONS REPEATS */
#define _POSIX_C_SOURCE 199309L /* clock_gettime under -std=c11 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "kernel.h"

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
    int iterations = argc > 1 ? atoi(argv[1]) : 1000;
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    double result = run(iterations);
    for (int r = 0; r < repeats; r++) {
        long long t0 = now_ns();
        result = run(iterations);
        printf("ns %lld\n", now_ns() - t0);
    }
    printf("checksum %.17g\n", result);
    return 0;
}
