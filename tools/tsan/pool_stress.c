/* Stress csrc/_pool.h under ThreadSanitizer (tests/test_threads.py builds and runs this):
 * three threads post 2000 passes each, with 1-5 parts and grains of 8-57 elements, so the
 * pool is started, grown, shared (a busy pool runs a pass on the caller's thread) and
 * reused from different threads; every element must be incremented exactly once per pass.
 * Exit 0 and "ok" when all counts are right; ThreadSanitizer reports data races itself.
 */
#include "_pool.h"

#include <stdio.h>
#include <stdlib.h>

#define PASSES 2000

static void add_one(void *ctx, Py_ssize_t start, Py_ssize_t stop) {
    double *x = ctx;
    for (Py_ssize_t i = start; i < stop; i++)
        x[i] += 1.0;
}

static void *runner(void *arg) {
    Py_ssize_t n = 1000 + (Py_ssize_t)(intptr_t)arg * 37, i;
    double *x = calloc(n, sizeof(double));
    if (x == NULL)
        exit(2);
    for (int t = 0; t < PASSES; t++)
        nn_parallel_for(add_one, x, n, 1 + t % 5, 8 + t % 50);
    for (i = 0; i < n; i++) {
        if (x[i] != PASSES) {
            printf("element %zd of runner %d: %g passes, not %d\n", i, (int)(intptr_t)arg,
                   x[i], PASSES);
            exit(1);
        }
    }
    free(x);
    return NULL;
}

int main(void) {
    pthread_t threads[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&threads[i], NULL, runner, (void *)(intptr_t)i);
    for (int i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);
    printf("ok: %d workers\n", nn_pool_workers());
    return 0;
}
