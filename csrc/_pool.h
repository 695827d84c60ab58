/* Worker threads for the kernels' elementwise passes over large batches.
 *
 * Why not OpenMP: between two GEMMs OpenBLAS's idle threads spin, and OpenMP's (libgomp's
 * default wait policy) spin too, so on a machine with as many cores as BLAS threads the two
 * pools take turns by the scheduler's time slice: W3's 2-thread epoch ran 4.6x slower. These
 * workers block on a condition variable between tasks and never spin, so a GEMM's threads
 * find their cores free; the same held for OpenMP only under OMP_WAIT_POLICY=passive, a
 * process-wide setting a library cannot make.
 *
 * nn_parallel_for(fn, ctx, n, threads, grain) runs fn(ctx, start, stop) over [0, n) in up
 * to ``threads`` contiguous parts (the caller's thread takes the first), each at least
 * ``grain`` long, and returns when all are done. Parts never overlap, so a pass whose
 * elements are independent computes exactly what one loop would. It falls back to one call
 * on the caller's thread when the work is too small, when another thread is using the pool
 * (two training runs at once), when a worker cannot be started, or without POSIX threads.
 * A forked child starts its own workers (threads do not survive fork).
 */
#ifndef NNFAST_POOL_H
#define NNFAST_POOL_H

#include <Python.h>

typedef void (*nn_chunk_fn)(void *ctx, Py_ssize_t start, Py_ssize_t stop);

#define NN_POOL_MAX 64
#define NN_POOL_ALIGN 8 /* parts start at multiples of 8 elements: a 64-byte cache line */

#if defined(_WIN32) || !defined(__unix__) && !defined(__APPLE__)

static void nn_parallel_for(nn_chunk_fn fn, void *ctx, Py_ssize_t n, int threads,
                            Py_ssize_t grain) {
    (void)threads;
    (void)grain;
    fn(ctx, 0, n);
}

static int nn_pool_workers(void) { return 0; }

#else

#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

static struct {
    pthread_mutex_t busy;  /* held by the one caller using the pool */
    pthread_mutex_t mu;    /* guards everything below */
    pthread_cond_t wake;   /* a new task (gen changed) */
    pthread_cond_t done;   /* pending reached 0 */
    pid_t pid;             /* process whose workers these are */
    int workers;           /* started, numbered 1..workers (the caller is part 0) */
    unsigned long gen;     /* tasks posted */
    unsigned long born;    /* gen when the newest workers were started */
    int parts, pending;
    nn_chunk_fn fn;
    void *ctx;
    Py_ssize_t n, step;
} nn_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
             PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, 0, NULL, NULL, 0, 0};

static void nn_pool_run_part(int part) {
    Py_ssize_t start = part * nn_pool.step, stop = start + nn_pool.step;
    if (stop > nn_pool.n)
        stop = nn_pool.n;
    if (start < stop)
        nn_pool.fn(nn_pool.ctx, start, stop);
}

static void *nn_pool_worker(void *arg) {
    int part = (int)(intptr_t)arg;
    unsigned long seen;
    pthread_mutex_lock(&nn_pool.mu);
    /* not gen: the task this worker was started for may have been posted already */
    seen = nn_pool.born;
    for (;;) {
        while (nn_pool.gen == seen)
            pthread_cond_wait(&nn_pool.wake, &nn_pool.mu);
        seen = nn_pool.gen;
        if (part < nn_pool.parts) {
            /* fn, ctx, n and step stay fixed until this part is counted done */
            pthread_mutex_unlock(&nn_pool.mu);
            nn_pool_run_part(part);
            pthread_mutex_lock(&nn_pool.mu);
            if (--nn_pool.pending == 0)
                pthread_cond_signal(&nn_pool.done);
        }
    }
    return NULL;
}

/* Workers 1..want-1 running in this process; returns how many parts can run (>= 1).
   Called with busy held. */
static int nn_pool_reserve(int want) {
    pthread_attr_t attr;
    pthread_t thread;
    if (nn_pool.pid != getpid()) { /* first use, or a forked child: no workers here */
        pthread_mutex_init(&nn_pool.mu, NULL);
        pthread_cond_init(&nn_pool.wake, NULL);
        pthread_cond_init(&nn_pool.done, NULL);
        nn_pool.workers = 0;
        nn_pool.pid = getpid();
    }
    if (want > NN_POOL_MAX)
        want = NN_POOL_MAX;
    if (nn_pool.workers + 1 >= want)
        return want;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 1 << 16);
    /* Visible to the new threads (pthread_create orders it); not rewritten before they have
       read it, since the next reserve comes after the task they are started for is done. */
    nn_pool.born = nn_pool.gen;
    while (nn_pool.workers + 1 < want) {
        if (pthread_create(&thread, &attr, nn_pool_worker,
                           (void *)(intptr_t)(nn_pool.workers + 1)) != 0)
            break;
        nn_pool.workers++;
    }
    pthread_attr_destroy(&attr);
    return nn_pool.workers + 1;
}

static void nn_parallel_for(nn_chunk_fn fn, void *ctx, Py_ssize_t n, int threads,
                            Py_ssize_t grain) {
    Py_ssize_t parts = grain > 0 ? n / grain : n, step;
    if (parts > threads)
        parts = threads;
    if (parts <= 1 || pthread_mutex_trylock(&nn_pool.busy) != 0) {
        fn(ctx, 0, n);
        return;
    }
    parts = nn_pool_reserve((int)parts);
    if (parts <= 1) {
        pthread_mutex_unlock(&nn_pool.busy);
        fn(ctx, 0, n);
        return;
    }
    step = (n + parts - 1) / parts;
    step = (step + NN_POOL_ALIGN - 1) / NN_POOL_ALIGN * NN_POOL_ALIGN;
    pthread_mutex_lock(&nn_pool.mu);
    nn_pool.fn = fn;
    nn_pool.ctx = ctx;
    nn_pool.n = n;
    nn_pool.step = step;
    nn_pool.parts = (int)parts;
    nn_pool.pending = (int)parts - 1;
    nn_pool.gen++;
    pthread_cond_broadcast(&nn_pool.wake);
    pthread_mutex_unlock(&nn_pool.mu);
    nn_pool_run_part(0);
    pthread_mutex_lock(&nn_pool.mu);
    while (nn_pool.pending > 0)
        pthread_cond_wait(&nn_pool.done, &nn_pool.mu);
    pthread_mutex_unlock(&nn_pool.mu);
    pthread_mutex_unlock(&nn_pool.busy);
}

/* Workers running in this process, read without a lock (a forked child may have inherited
   a held one): a diagnostic for when no pass is running. */
static int nn_pool_workers(void) {
    return nn_pool.pid == getpid() ? nn_pool.workers : 0;
}

#endif
#endif
