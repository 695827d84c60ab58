/* A team of threads for large mini-batches: nnfast's own threads, each calling a
 * single-threaded BLAS on its share of a batch.
 *
 * nn_team_run(fn, ctx, parts) runs fn(ctx, part, parts) for every part in [0, parts), the
 * caller's thread taking part 0 and one worker each of the others, and returns when all
 * are done: a fork and a join, so two calls in a row are two phases with a barrier
 * between. Returns 1 if the parts ran on threads, 0 if they ran one after another on the
 * caller's thread: when another thread is using the team (two training runs at once), when
 * a worker cannot be started, or without POSIX threads (nn_team_available() is 0 then).
 * Either way every part runs once, so a caller whose parts write disjoint data computes the
 * same thing.
 *
 * Workers spin for tens of microseconds after a part (the next phase of a batch usually
 * comes sooner) and then sleep on a condition variable, so they leave the cores to others
 * between training runs. A forked child starts its own workers (threads do not survive
 * fork; one forked while a run held the team runs its parts on its own thread).
 */
#ifndef NNFAST_TEAM_H
#define NNFAST_TEAM_H

#include <Python.h>

typedef void (*nn_part_fn)(void *ctx, int part, int parts);

#define NN_TEAM_MAX 64

#if defined(_WIN32) || !defined(__unix__) && !defined(__APPLE__)

static int nn_team_run(nn_part_fn fn, void *ctx, int parts) {
    for (int p = 0; p < parts; p++)
        fn(ctx, p, parts);
    return 0;
}

static int nn_team_workers(void) { return 0; }

static int nn_team_available(void) { return 0; }

#else

#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#define NN_PAUSE() __builtin_ia32_pause()
#else
#define NN_PAUSE() ((void)0)
#endif

/* Spin iterations (a pause each, ~10-40 ns) before sleeping: ~20-80 microseconds. */
#define NN_TEAM_SPIN 2000

static struct {
    pthread_mutex_t busy;  /* held by the one caller using the team */
    pthread_mutex_t mu;    /* guards the condition variables' waits */
    pthread_cond_t wake;   /* a new task (gen changed) */
    pthread_cond_t done;   /* pending reached 0 */
    pid_t pid;             /* process whose workers these are */
    int workers;           /* started, numbered 1..workers (the caller is part 0) */
    unsigned long gen;     /* tasks posted (atomic) */
    unsigned long born;    /* gen when the newest workers were started */
    int parts;
    int pending;           /* workers not done with the task yet (atomic) */
    nn_part_fn fn;
    void *ctx;
} nn_team = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
             PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, 0, NULL, NULL};

static void *nn_team_worker(void *arg) {
    int part = (int)(intptr_t)arg, spin;
    unsigned long seen, gen;
    pthread_mutex_lock(&nn_team.mu);
    /* not gen: the task this worker was started for may have been posted already */
    seen = nn_team.born;
    pthread_mutex_unlock(&nn_team.mu);
    for (;;) {
        for (spin = 0; spin < NN_TEAM_SPIN; spin++) {
            if (__atomic_load_n(&nn_team.gen, __ATOMIC_ACQUIRE) != seen)
                break;
            NN_PAUSE();
        }
        gen = __atomic_load_n(&nn_team.gen, __ATOMIC_ACQUIRE);
        if (gen == seen) {
            pthread_mutex_lock(&nn_team.mu);
            while ((gen = __atomic_load_n(&nn_team.gen, __ATOMIC_ACQUIRE)) == seen)
                pthread_cond_wait(&nn_team.wake, &nn_team.mu);
            pthread_mutex_unlock(&nn_team.mu);
        }
        seen = gen;
        /* fn, ctx and parts were written before gen (release) and stay fixed until every
           worker, taking a part or not, has counted itself done */
        if (part < nn_team.parts)
            nn_team.fn(nn_team.ctx, part, nn_team.parts);
        if (__atomic_sub_fetch(&nn_team.pending, 1, __ATOMIC_ACQ_REL) == 0) {
            pthread_mutex_lock(&nn_team.mu);
            pthread_cond_signal(&nn_team.done);
            pthread_mutex_unlock(&nn_team.mu);
        }
    }
    return NULL;
}

/* Workers 1..want-1 running in this process; returns how many parts can run (>= 1).
   Called with busy held. */
static int nn_team_reserve(int want) {
    pthread_attr_t attr;
    pthread_t thread;
    if (nn_team.pid != getpid()) { /* first use, or a forked child: no workers here */
        pthread_mutex_init(&nn_team.mu, NULL);
        pthread_cond_init(&nn_team.wake, NULL);
        pthread_cond_init(&nn_team.done, NULL);
        nn_team.workers = 0;
        nn_team.pid = getpid();
    }
    if (want > NN_TEAM_MAX)
        want = NN_TEAM_MAX;
    if (nn_team.workers + 1 >= want)
        return want;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* BLAS kernels run on these threads: give them a full-size stack */
    pthread_attr_setstacksize(&attr, 1 << 23);
    pthread_mutex_lock(&nn_team.mu);
    /* Read by the new threads under mu; not rewritten before they have read it, since the
       next reserve comes after the task they are started for is done. */
    nn_team.born = __atomic_load_n(&nn_team.gen, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&nn_team.mu);
    while (nn_team.workers + 1 < want) {
        if (pthread_create(&thread, &attr, nn_team_worker,
                           (void *)(intptr_t)(nn_team.workers + 1)) != 0)
            break;
        nn_team.workers++;
    }
    pthread_attr_destroy(&attr);
    return nn_team.workers + 1;
}

static int nn_team_run(nn_part_fn fn, void *ctx, int parts) {
    int p, spin;
    if (parts <= 1 || pthread_mutex_trylock(&nn_team.busy) != 0)
        goto serial;
    if (nn_team_reserve(parts) < parts) {
        pthread_mutex_unlock(&nn_team.busy);
        goto serial;
    }
    nn_team.fn = fn;
    nn_team.ctx = ctx;
    nn_team.parts = parts;
    __atomic_store_n(&nn_team.pending, nn_team.workers, __ATOMIC_RELAXED);
    pthread_mutex_lock(&nn_team.mu);
    __atomic_add_fetch(&nn_team.gen, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&nn_team.wake);
    pthread_mutex_unlock(&nn_team.mu);
    fn(ctx, 0, parts);
    for (spin = 0; spin < NN_TEAM_SPIN; spin++) {
        if (__atomic_load_n(&nn_team.pending, __ATOMIC_ACQUIRE) == 0)
            break;
        NN_PAUSE();
    }
    if (__atomic_load_n(&nn_team.pending, __ATOMIC_ACQUIRE) != 0) {
        pthread_mutex_lock(&nn_team.mu);
        while (__atomic_load_n(&nn_team.pending, __ATOMIC_ACQUIRE) != 0)
            pthread_cond_wait(&nn_team.done, &nn_team.mu);
        pthread_mutex_unlock(&nn_team.mu);
    }
    pthread_mutex_unlock(&nn_team.busy);
    return 1;
serial:
    for (p = 0; p < parts; p++)
        fn(ctx, p, parts);
    return 0;
}

/* Whether parts can run on threads here (POSIX threads). */
static int nn_team_available(void) { return 1; }

/* Workers running in this process, read without a lock (a forked child may have inherited
   a held one): a diagnostic for when no team run is going on. */
static int nn_team_workers(void) {
    return nn_team.pid == getpid() ? nn_team.workers : 0;
}

#endif
#endif
