/* Every benchmark kernel exports `double run(int iterations)`: natively it is called by
   native_main.c, in wasm by the Python host. The result is a checksum, compared across targets. */
#ifndef BENCH_KERNEL_H
#define BENCH_KERNEL_H
#ifdef __wasm__
#define KERNEL __attribute__((export_name("run")))
#else
#define KERNEL
#endif
KERNEL double run(int iterations);
#endif
