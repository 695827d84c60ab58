/* Stress csrc/_team.h under ThreadSanitizer (tests/test_team.py builds and runs this): three
 * threads run 3000 tasks each, in phases of 1-5 parts, so the team is started, grown, shared
 * (a busy team runs a task's parts on the caller's thread), has more workers than a task
 * has parts, and is reused from different threads. Each part adds 1 to its share of the
 * runner's array, and each second phase reads what the first wrote; every element must
 * count every task exactly once. Exit 0 and "ok" when all counts are right; ThreadSanitizer
 * reports data races itself.
 */
#include "_team.h"

#include <stdio.h>
#include <stdlib.h>

#define TASKS 3000

typedef struct {
    double *x;
    double *copy;
    Py_ssize_t n;
} Task;

static void add_one(void *ctx, int part, int parts) {
    Task *t = ctx;
    for (Py_ssize_t i = t->n * part / parts; i < t->n * (part + 1) / parts; i++)
        t->x[i] += 1.0;
}

static void copy_reversed(void *ctx, int part, int parts) {
    /* reads elements other parts wrote in the phase before */
    Task *t = ctx;
    for (Py_ssize_t i = t->n * part / parts; i < t->n * (part + 1) / parts; i++)
        t->copy[i] = t->x[t->n - 1 - i];
}

static void *runner(void *arg) {
    Task t;
    t.n = 1000 + (Py_ssize_t)(intptr_t)arg * 37;
    t.x = calloc(t.n, sizeof(double));
    t.copy = calloc(t.n, sizeof(double));
    if (t.x == NULL || t.copy == NULL)
        exit(2);
    for (int k = 0; k < TASKS; k++) {
        nn_team_run(add_one, &t, 1 + k % 5);
        nn_team_run(copy_reversed, &t, 1 + (k / 5) % 5);
        if (t.copy[0] != k + 1 || t.copy[t.n - 1] != k + 1) {
            printf("task %d of runner %d: copy %g, %g\n", k, (int)(intptr_t)arg, t.copy[0],
                   t.copy[t.n - 1]);
            exit(1);
        }
    }
    for (Py_ssize_t i = 0; i < t.n; i++) {
        if (t.x[i] != TASKS) {
            printf("element %zd of runner %d: %g tasks, not %d\n", i, (int)(intptr_t)arg,
                   t.x[i], TASKS);
            exit(1);
        }
    }
    free(t.x);
    free(t.copy);
    return NULL;
}

int main(void) {
    pthread_t threads[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&threads[i], NULL, runner, (void *)(intptr_t)i);
    for (int i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);
    printf("ok: %d workers\n", nn_team_workers());
    return 0;
}
