/* matmul: C = A x B on 128 x 128 float32 matrices with 4-wide generic vector extensions, which
   clang lowers to SSE natively and to SIMD128 in wasm. run(n) multiplies n times, feeding one
   element of each product back into B so no iteration can be skipped; returns a checksum. */
#include "kernel.h"

#define N 128
#define V (N / 4)

typedef float v4f __attribute__((vector_size(16)));

static v4f a[N][V], b[N][V], c[N][V];

static void init(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j / 4][j % 4] = (float)((i * 7 + j * 3) % 17) * 0.0625f - 0.5f;
            b[i][j / 4][j % 4] = (float)((i * 5 + j * 11) % 13) * 0.0625f - 0.375f;
        }
}

static void multiply(void) {
    for (int i = 0; i < N; i++) {
        v4f acc[V] = {0};
        for (int k = 0; k < N; k++) {
            float s = a[i][k / 4][k % 4];
            v4f splat = {s, s, s, s};
            for (int j = 0; j < V; j++) acc[j] += splat * b[k][j];
        }
        for (int j = 0; j < V; j++) c[i][j] = acc[j];
    }
}

double run(int iterations) {
    init();
    double sum = 0;
    for (int n = 0; n < iterations; n++) {
        multiply();
        int i = n % N;
        b[i][i / 4][i % 4] = c[i][i / 4][i % 4] * 0.001f;
        sum += c[(n * 31) % N][0][0];
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < V; j++) sum += c[i][j][0] + c[i][j][1] + c[i][j][2] + c[i][j][3];
    return sum;
}
