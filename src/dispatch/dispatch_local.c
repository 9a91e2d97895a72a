/* The local executor ("local"): a pool of worker processes on this
 * machine, one per running job, supervised by one thread.
 *
 * The supervisor loops every POLL_MS (or at once when woken): it reaps
 * exited workers and settles their jobs, enforces the job timeout and the
 * SIGKILL that follows an unanswered SIGTERM, and fills free slots from
 * the store's queue (so jobs queued by another process, such as
 * `hydra-compose jobs retry`, are picked up too). A worker is spawned per
 * job and exits with it: there is no idle process.
 *
 * Spawning: the child is forked blocked on a pipe; the parent claims the
 * job in the store with batch id "local-<pid>" and only then lets the
 * child exec `self_exe worker JOB_ID`; when the claim is lost the child
 * exits without running anything. Children get PR_SET_PDEATHSIG(SIGKILL)
 * (tied to the supervisor thread, which outlives every child it starts),
 * their own process group (a terminal's Ctrl-C reaches only the server,
 * which then stops them in order), USE_NVENC=1 on a GPU slot and 0 on a
 * CPU slot, stdin from /dev/null, and no descriptor of the server.
 *
 * Invariants:
 *  - only the supervisor thread forks, reaps and fills slots; runs[] is
 *    guarded by mu, and a pid is signalled only under mu while its slot
 *    still holds it, so a reaped (recyclable) pid is never signalled;
 *  - store calls are made without holding mu (the store may be slow);
 *  - a job whose worker is gone is never left processing: final states
 *    are reported through on_final, anything else goes back to the queue
 *    (hc_store_requeue counts the attempt; a shutdown does not). */
#include "dispatch/hc_dispatch.h"
#include "media/hc_media.h"
#include "storage/hc_storage.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define COMP    "executor"
#define POLL_MS 200
/* SIGTERM, then SIGKILL this much later: a canceled render stops within
 * 1 s even when it is stuck in a download or a slow library call. */
#define KILL_AFTER_US 600000
#define LIST_LIMIT    64 /* queued jobs read per page when filling slots */
#define MAX_SLOTS     256

typedef struct run {
    pid_t pid; /* 0: the slot is free */
    bool gpu;
    char job_id[HC_MAX_JOB_ID_LEN + 1];
    int64_t start_us; /* monotonic */
    int64_t term_us;  /* SIGTERM sent at (monotonic), 0 = not */
    bool killed;      /* SIGKILL sent */
    bool timed_out;   /* killed for exceeding job_timeout_s */
} run;

typedef struct local {
    hc_executor *x;
    const hc_config *cfg;
    hc_store *store;
    pthread_t thread;
    pthread_mutex_t mu; /* guards runs, wake, closing, deadline_us */
    pthread_cond_t cv;
    bool wake, closing;
    int64_t deadline_us;
    int cpu_slots, gpu_slots;
    run *runs;                 /* gpu_slots GPU slots, then cpu_slots CPU slots */
    char **env_cpu, **env_gpu; /* children's environments (owned) */
    int devnull;
} local;

/* ---- helpers -------------------------------------------------------------- */

#define log_job(level, job_id, ...) hc_log_write_job((level), COMP, (job_id), __VA_ARGS__)

/* A copy of the current environment without USE_NVENC, plus USE_NVENC=v. */
static char **env_with_nvenc(const char *v) {
    size_t n = 0;
    for (char **e = environ; e && *e; e++)
        n++;
    char **out = hc_xcalloc(n + 2, sizeof *out);
    size_t k = 0;
    for (char **e = environ; e && *e; e++)
        if (strncmp(*e, "USE_NVENC=", 10) != 0) out[k++] = hc_strdup(*e);
    size_t len = strlen(v) + sizeof "USE_NVENC=";
    out[k] = hc_xmalloc(len);
    snprintf(out[k], len, "USE_NVENC=%s", v);
    return out;
}

static void env_free(char **env) {
    for (char **e = env; e && *e; e++)
        free(*e);
    free(env);
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void exit_reason(int st, char *buf, size_t len) {
    if (WIFSIGNALED(st))
        snprintf(buf, len, "worker killed by signal %d (%s)", WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
    else if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
        snprintf(buf, len, "worker could not be started (exit status 127)");
    else if (WIFEXITED(st))
        snprintf(buf, len, "worker exited with status %d", WEXITSTATUS(st));
    else
        snprintf(buf, len, "worker ended (status unknown)");
}

/* Re-read a job; true and *job filled if it exists. */
static bool job_get(local *L, const char *job_id, hc_job *job) {
    hc_err err = {0};
    if (hc_store_get(L->store, job_id, job, &err) == 0) return true;
    log_job(HC_LOG_ERROR, job_id, "cannot read the job: %s", err.msg);
    return false;
}

/* A processing job whose worker is gone: the shared rule (requeue
 * counting the attempt, or fail after max_attempts). */
static void requeue(local *L, const char *job_id, const char *reason) {
    hc_executor_requeue(L->x, job_id, reason);
}

static void report_final(local *L, const char *job_id) {
    hc_executor_report_final(L->x, job_id);
}

/* ---- spawning ------------------------------------------------------------- */

/* In the forked child: only async-signal-safe calls until execve. */
static void child_exec(local *L, int go_fd, pid_t parent, char *const argv[], char *const envp[]) {
    /* Die with the server; it may already have died before prctl. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(127);
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &dfl, NULL);
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGHUP, &dfl, NULL);
    sigaction(SIGQUIT, &dfl, NULL);
    if (L->devnull >= 0) dup2(L->devnull, STDIN_FILENO);
    /* No descriptor of the server (sockets, the data-dir lock, the
     * database) may outlive it in a worker. */
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        struct rlimit rl;
        rlim_t max = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
        if (max > 65536) max = 65536;
        for (int fd = 3; fd < (int)max; fd++)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    char go = 0;
    ssize_t r;
    do
        r = read(go_fd, &go, 1);
    while (r < 0 && errno == EINTR);
    if (r != 1 || go != 'g') _exit(127); /* the claim was lost */
    execve(argv[0], argv, envp);
    _exit(127);
}

/* Claim job and start its worker in a free slot of the given kind.
 * Returns 0 when it runs, HC_ECONFLICT when someone else has the job. */
static int start_job(local *L, hc_job *job, bool gpu) {
    int go[2];
    if (pipe2(go, O_CLOEXEC) != 0) {
        log_job(HC_LOG_ERROR, job->job_id, "cannot start a worker: pipe: %s", strerror(errno));
        return HC_EIO;
    }
    char job_id[HC_MAX_JOB_ID_LEN + 1];
    snprintf(job_id, sizeof job_id, "%s", job->job_id);
    /* The public URL on the command line (the server learns its port after
     * its environment is set); "--": a job id may start with '-'. */
    const char *pub = L->cfg->public_url;
    char *argv[] = {(char *)L->x->env.self_exe,
                    "worker",
                    pub ? "--public-url" : "--",
                    pub ? (char *)pub : job_id,
                    pub ? "--" : NULL,
                    pub ? job_id : NULL,
                    NULL};
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        log_job(HC_LOG_ERROR, job_id, "cannot start a worker: fork: %s", strerror(errno));
        close(go[0]);
        close(go[1]);
        return HC_EIO;
    }
    if (pid == 0) {
        /* The write end is the parent's: holding it, the child's read
         * would never see EOF when the claim is lost. */
        close(go[1]);
        child_exec(L, go[0], parent, argv, gpu ? L->env_gpu : L->env_cpu);
    }
    close(go[0]);

    char batch[64];
    snprintf(batch, sizeof batch, "local-%d", (int)pid);
    hc_err err = {0};
    int rc = hc_store_claim(L->store, job, batch, &err);
    if (rc != 0) {
        close(go[1]); /* the child reads EOF and exits */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        if (rc != HC_ECONFLICT) log_job(HC_LOG_ERROR, job_id, "cannot claim the job: %s", err.msg);
        return rc;
    }
    pthread_mutex_lock(&L->mu);
    int lo = gpu ? 0 : L->gpu_slots, hi = gpu ? L->gpu_slots : L->gpu_slots + L->cpu_slots;
    run *slot = NULL;
    for (int i = lo; i < hi && !slot; i++)
        if (L->runs[i].pid == 0) slot = &L->runs[i];
    /* fill() only starts a job for a free slot, and only this thread fills. */
    if (slot) {
        *slot = (run){.pid = pid, .gpu = gpu, .start_us = hc_now_us()};
        snprintf(slot->job_id, sizeof slot->job_id, "%s", job_id);
    }
    pthread_mutex_unlock(&L->mu);
    ssize_t w;
    do
        w = write(go[1], "g", 1);
    while (w < 0 && errno == EINTR);
    close(go[1]);
    log_job(HC_LOG_INFO, job_id, "worker %s started on a %s slot (attempt %d)", batch,
            gpu ? "GPU" : "CPU", job->attempts);
    return 0;
}

/* Start queued jobs in the free slots, in queue order; a job that wants a
 * kind of slot that is busy is passed over for the ones behind it. */
static void fill(local *L) {
    pthread_mutex_lock(&L->mu);
    int gpu_free = 0, cpu_free = 0;
    for (int i = 0; i < L->gpu_slots + L->cpu_slots; i++)
        if (L->runs[i].pid == 0) (*(i < L->gpu_slots ? &gpu_free : &cpu_free))++;
    pthread_mutex_unlock(&L->mu);
    if (gpu_free + cpu_free == 0) return;

    /* Page through the queue while slots are free: jobs waiting for a
     * busy slot kind (GPU) must not hold back those behind them. */
    hc_store_query q = {.status_mask = HC_JOB_MASK(HC_JOB_QUEUED),
                        .order = HC_STORE_ORDER_QUEUE,
                        .limit = LIST_LIMIT};
    char cursor[sizeof((hc_job_list *)0)->next_cursor] = "";
    for (int page = 0; gpu_free + cpu_free > 0 && page < 100; page++) {
        hc_job_list list = {0};
        hc_err err = {0};
        q.cursor = cursor[0] ? cursor : NULL;
        if (hc_store_list(L->store, &q, &list, &err) != 0) {
            HC_ERROR(COMP, "cannot list queued jobs: %s", err.msg);
            return;
        }
        for (int i = 0; i < list.n && gpu_free + cpu_free > 0; i++) {
            int pick = hc_dispatch_pick_slot(list.v[i].hardware, L->gpu_slots, gpu_free, cpu_free);
            if (pick < 0) continue;
            if (start_job(L, &list.v[i], pick == 1) == 0) (*(pick == 1 ? &gpu_free : &cpu_free))--;
        }
        snprintf(cursor, sizeof cursor, "%s", list.next_cursor);
        hc_job_list_fini(&list);
        if (!cursor[0]) break;
    }
}

/* ---- supervision ---------------------------------------------------------- */

/* What a worker killed mid-job leaves: its downloads and render (the work
 * directory), and what an interrupted upload left in the storage (a file
 * storage's ".part" beside the output, which /files would serve). */
static void remove_leftovers(local *L, const hc_job *job) {
    char path[PATH_MAX + 300];
    snprintf(path, sizeof path, "%s/work/job-%s", L->cfg->data_dir, job->job_id);
    hc_remove_tree(path);
    if (!job->output_key || hc_storage_key_check(job->output_key, NULL) != 0) return;
    hc_storage *st = NULL;
    hc_err err = {0};
    if (hc_storage_open(L->cfg->storage, NULL, &st, &err) == 0)
        hc_storage_cleanup(st, job->output_key, &err);
    if (err.code) log_job(HC_LOG_WARN, job->job_id, "leftovers of the upload: %s", err.msg);
    hc_storage_close(st);
}

/* A worker exited with wait status st: settle its job. */
static void settle(local *L, const run *r, int st) {
    hc_job job = {0};
    if (!job_get(L, r->job_id, &job)) return;
    char mine[64];
    snprintf(mine, sizeof mine, "local-%d", (int)r->pid);
    /* Processing under another claim (canceled, retried and started again
     * meanwhile) is not this worker's to settle. */
    if (job.status == HC_JOB_PROCESSING && strcmp(job.batch_job_id, mine) != 0) {
        hc_job_fini(&job);
        return;
    }
    /* A worker that ended any other way than by completing the job may have
     * been killed before cleaning up (and no other worker has the job). */
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) remove_leftovers(L, &job);
    if (job.status == HC_JOB_PROCESSING) {
        char reason[160];
        exit_reason(st, reason, sizeof reason);
        requeue(L, r->job_id, reason);
    } else if (hc_job_status_final(job.status)) {
        char how[160];
        exit_reason(st, how, sizeof how);
        log_job(HC_LOG_INFO, r->job_id, "worker local-%d ended (%s): job %s after %.1f s",
                (int)r->pid, how + strlen("worker "), hc_job_status_names[job.status],
                (hc_now_us() - r->start_us) / 1e6);
        report_final(L, r->job_id);
    }
    hc_job_fini(&job);
}

/* Reap every exited worker. Returns how many ended. */
static int reap(local *L) {
    int ended = 0;
    for (int i = 0; i < L->gpu_slots + L->cpu_slots; i++) {
        pthread_mutex_lock(&L->mu);
        run r = L->runs[i];
        int st = 0;
        pid_t w = r.pid ? waitpid(r.pid, &st, WNOHANG) : 0;
        /* ECHILD: reaped by someone else (SIGCHLD ignored); status unknown. */
        bool gone = r.pid && (w == r.pid || (w < 0 && errno == ECHILD));
        if (gone) memset(&L->runs[i], 0, sizeof L->runs[i]);
        pthread_mutex_unlock(&L->mu);
        if (!gone) continue;
        if (w < 0) st = 0xffff; /* neither exited nor signalled */
        settle(L, &r, st);
        ended++;
    }
    return ended;
}

/* Timeouts and SIGKILL after an unanswered SIGTERM. */
static void watch(local *L) {
    int64_t now = hc_now_us(), limit_us = (int64_t)L->cfg->job_timeout_s * 1000000;
    char expired[8][HC_MAX_JOB_ID_LEN + 1];
    pid_t expired_pid[8];
    int n_expired = 0;
    pthread_mutex_lock(&L->mu);
    for (int i = 0; i < L->gpu_slots + L->cpu_slots; i++) {
        run *r = &L->runs[i];
        if (!r->pid) continue;
        if (r->term_us && !r->killed && now - r->term_us >= KILL_AFTER_US) {
            kill(r->pid, SIGKILL);
            r->killed = true;
            log_job(HC_LOG_WARN, r->job_id, "worker local-%d ignored SIGTERM: killed", (int)r->pid);
        }
        if (limit_us > 0 && !r->timed_out && now - r->start_us > limit_us && n_expired < 8) {
            kill(r->pid, SIGKILL);
            r->killed = r->timed_out = true;
            expired_pid[n_expired] = r->pid;
            snprintf(expired[n_expired++], sizeof expired[0], "%s", r->job_id);
        }
    }
    pthread_mutex_unlock(&L->mu);
    /* The worker is dead or dying; write the failure now (the reap that
     * follows finds it final and reports it). A worker that finished just
     * before wins: finish only writes over processing. */
    for (int k = 0; k < n_expired; k++) {
        char mine[64], msg[128];
        snprintf(mine, sizeof mine, "local-%d", (int)expired_pid[k]);
        snprintf(msg, sizeof msg, "render exceeded HC_JOB_TIMEOUT_S=%d s", L->cfg->job_timeout_s);
        hc_executor_fail_claim(L->x, expired[k], mine, HC_ETIMEOUT, msg);
    }
}

/* Shutdown past the grace period: stop the workers still running and put
 * their jobs back in the queue without counting the attempt. */
static void stop_the_rest(local *L) {
    int n = L->gpu_slots + L->cpu_slots;
    pthread_mutex_lock(&L->mu);
    for (int i = 0; i < n; i++)
        if (L->runs[i].pid && !L->runs[i].term_us) {
            kill(L->runs[i].pid, SIGTERM);
            L->runs[i].term_us = hc_now_us();
        }
    pthread_mutex_unlock(&L->mu);
    int64_t kill_at = hc_now_us() + KILL_AFTER_US;
    for (;;) {
        bool any = false, late = hc_now_us() >= kill_at;
        for (int i = 0; i < n; i++) {
            pthread_mutex_lock(&L->mu);
            run r = L->runs[i];
            int st = 0;
            pid_t w = 0;
            if (r.pid) {
                if (late && !r.killed) {
                    kill(r.pid, SIGKILL);
                    L->runs[i].killed = true;
                }
                w = waitpid(r.pid, &st, late ? 0 : WNOHANG);
            }
            bool gone = r.pid && (w == r.pid || (w < 0 && errno == ECHILD));
            if (gone) memset(&L->runs[i], 0, sizeof L->runs[i]);
            pthread_mutex_unlock(&L->mu);
            if (r.pid && !gone) any = true;
            if (!gone) continue;
            hc_job job = {0};
            if (!job_get(L, r.job_id, &job)) continue;
            if (job.status == HC_JOB_PROCESSING) {
                hc_err err = {0};
                if (hc_store_release(L->store, r.job_id, job.attempt, &err) == 0)
                    log_job(HC_LOG_INFO, r.job_id, "server stopping: job put back in the queue");
                else
                    log_job(HC_LOG_ERROR, r.job_id, "cannot put the job back: %s", err.msg);
            } else if (hc_job_status_final(job.status)) {
                report_final(L, r.job_id);
            }
            hc_job_fini(&job);
        }
        if (!any) break;
        sleep_ms(20);
    }
}

static int busy_count(local *L) {
    int busy = 0;
    for (int i = 0; i < L->gpu_slots + L->cpu_slots; i++)
        busy += L->runs[i].pid != 0;
    return busy;
}

/* Every SWEEP_US: a job processing under one of our ids ("local-<pid>")
 * whose worker we no longer track was lost when settling it failed (a
 * store error while its worker exited): settle it again. */
#define SWEEP_US 10000000
static void sweep(local *L) {
    hc_store_query q = {.status_mask = HC_JOB_MASK(HC_JOB_PROCESSING),
                        .order = HC_STORE_ORDER_NEWEST,
                        .limit = 1000};
    hc_job_list list = {0};
    hc_err err = {0};
    if (hc_store_list(L->store, &q, &list, &err) != 0) return;
    for (int i = 0; i < list.n; i++) {
        const hc_job *j = &list.v[i];
        if (strncmp(j->batch_job_id, "local-", 6) != 0) continue;
        pid_t pid = (pid_t)atoi(j->batch_job_id + 6);
        bool tracked = false;
        pthread_mutex_lock(&L->mu);
        for (int k = 0; k < L->gpu_slots + L->cpu_slots; k++)
            tracked |= L->runs[k].pid == pid;
        pthread_mutex_unlock(&L->mu);
        if (!tracked) requeue(L, j->job_id, "worker lost (its exit could not be recorded)");
    }
    hc_job_list_fini(&list);
}

static void *supervise(void *arg) {
    local *L = arg;
    int64_t next_sweep = hc_now_us() + SWEEP_US;
    for (;;) {
        reap(L);
        watch(L);
        /* Only this thread claims and starts jobs, so an untracked claim
         * of ours cannot be in flight here. */
        if (hc_now_us() >= next_sweep) {
            sweep(L);
            next_sweep = hc_now_us() + SWEEP_US;
        }
        pthread_mutex_lock(&L->mu);
        bool closing = L->closing;
        int64_t deadline = L->deadline_us;
        int busy = busy_count(L);
        pthread_mutex_unlock(&L->mu);
        if (closing && (busy == 0 || hc_now_us() >= deadline)) break;
        if (!closing) fill(L);

        pthread_mutex_lock(&L->mu);
        if (!L->wake && L->closing == closing) {
            int64_t wait_us = POLL_MS * 1000;
            if (closing && deadline - hc_now_us() < wait_us) wait_us = deadline - hc_now_us();
            if (wait_us > 0) {
                struct timespec ts;
                hc_cond_deadline(&ts, wait_us);
                pthread_cond_timedwait(&L->cv, &L->mu, &ts);
            }
        }
        L->wake = false;
        pthread_mutex_unlock(&L->mu);
    }
    stop_the_rest(L);
    return NULL;
}

/* ---- the backend ---------------------------------------------------------- */

/* Jobs left processing belong to a dead server or worker: only one server
 * runs on a data directory (it holds a lock), so nothing runs them now. */
static void recover(local *L) {
    char cursor[64] = "";
    int n = 0;
    for (;;) {
        hc_store_query q = {.status_mask = HC_JOB_MASK(HC_JOB_PROCESSING),
                            .order = HC_STORE_ORDER_NEWEST,
                            .limit = 100,
                            .cursor = cursor[0] ? cursor : NULL};
        hc_job_list list = {0};
        hc_err err = {0};
        if (hc_store_list(L->store, &q, &list, &err) != 0) {
            HC_ERROR(COMP, "cannot list jobs left processing: %s", err.msg);
            return;
        }
        for (int i = 0; i < list.n; i++, n++)
            requeue(L, list.v[i].job_id, "worker died (server restarted)");
        snprintf(cursor, sizeof cursor, "%s", list.next_cursor);
        hc_job_list_fini(&list);
        if (!cursor[0]) break;
    }
    if (n) HC_INFO(COMP, "recovered %d job(s) left processing by a previous server", n);
}

static int local_open(hc_executor *x, const hc_executor_env *env, hc_err *err) {
    local *L = hc_executor_priv(x);
    const hc_config *cfg = env->cfg;
    if (!env->self_exe || !*env->self_exe)
        return hc_err_set(err, HC_EINVAL, "executor local: no worker binary (self_exe)");
    L->x = x;
    L->cfg = cfg;
    L->store = env->store;
    L->cpu_slots = cfg->workers < 0 ? 0 : cfg->workers > MAX_SLOTS ? MAX_SLOTS : cfg->workers;
    bool nvenc_forbidden = cfg->use_nvenc && strcmp(cfg->use_nvenc, "0") == 0;
    if (nvenc_forbidden) {
        L->gpu_slots = 0;
    } else if (cfg->gpu_slots >= 0) {
        L->gpu_slots = cfg->gpu_slots > MAX_SLOTS ? MAX_SLOTS : cfg->gpu_slots;
    } else {
        hc_err perr = {0};
        L->gpu_slots = hc_nvenc_probe(&perr) == 0 ? 1 : 0;
        if (!L->gpu_slots) HC_INFO(COMP, "no GPU slot: NVENC is not usable (%s)", perr.msg);
    }
    L->runs = hc_xcalloc((size_t)(L->gpu_slots + L->cpu_slots) + 1, sizeof *L->runs);
    L->env_cpu = env_with_nvenc("0");
    L->env_gpu = env_with_nvenc("1");
    L->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pthread_mutex_init(&L->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&L->cv, &ca);
    pthread_condattr_destroy(&ca);

    recover(L);
    int rc = pthread_create(&L->thread, NULL, supervise, L);
    if (rc != 0) {
        hc_err_set(err, HC_EINTERNAL, "executor local: cannot start its thread: %s", strerror(rc));
        pthread_cond_destroy(&L->cv);
        pthread_mutex_destroy(&L->mu);
        if (L->devnull >= 0) close(L->devnull);
        env_free(L->env_cpu);
        env_free(L->env_gpu);
        free(L->runs);
        return HC_EINTERNAL;
    }
    HC_INFO(COMP, "local executor: %d CPU slot(s), %d GPU slot(s), worker %s", L->cpu_slots,
            L->gpu_slots, env->self_exe);
    return 0;
}

static void local_close(hc_executor *x, int64_t deadline_us) {
    local *L = hc_executor_priv(x);
    pthread_mutex_lock(&L->mu);
    L->closing = true;
    L->deadline_us = deadline_us;
    pthread_cond_signal(&L->cv);
    pthread_mutex_unlock(&L->mu);
    pthread_join(L->thread, NULL);
    pthread_cond_destroy(&L->cv);
    pthread_mutex_destroy(&L->mu);
    if (L->devnull >= 0) close(L->devnull);
    env_free(L->env_cpu);
    env_free(L->env_gpu);
    free(L->runs);
}

static void local_wake(hc_executor *x) {
    local *L = hc_executor_priv(x);
    pthread_mutex_lock(&L->mu);
    L->wake = true;
    pthread_cond_signal(&L->cv);
    pthread_mutex_unlock(&L->mu);
}

static int local_stop(hc_executor *x, const char *job_id) {
    local *L = hc_executor_priv(x);
    int rc = HC_ENOTFOUND;
    pthread_mutex_lock(&L->mu);
    for (int i = 0; i < L->gpu_slots + L->cpu_slots; i++) {
        run *r = &L->runs[i];
        if (!r->pid || strcmp(r->job_id, job_id) != 0) continue;
        /* The worker cancels its render and exits; the supervisor sends
         * SIGKILL if it is still there KILL_AFTER_US later. */
        if (!r->term_us) {
            kill(r->pid, SIGTERM);
            r->term_us = hc_now_us();
        }
        rc = 0;
        break;
    }
    L->wake = true; /* reap promptly */
    pthread_cond_signal(&L->cv);
    pthread_mutex_unlock(&L->mu);
    return rc;
}

static void local_stats(hc_executor *x, hc_executor_stats *out) {
    local *L = hc_executor_priv(x);
    pthread_mutex_lock(&L->mu);
    out->cpu_slots = L->cpu_slots;
    out->gpu_slots = L->gpu_slots;
    for (int i = 0; i < L->gpu_slots + L->cpu_slots; i++)
        if (L->runs[i].pid) (*(i < L->gpu_slots ? &out->gpu_running : &out->cpu_running))++;
    pthread_mutex_unlock(&L->mu);
}

const hc_executor_backend hc_executor_local = {
    .name = "local",
    .priv_size = sizeof(local),
    .open = local_open,
    .close = local_close,
    .wake = local_wake,
    .stop = local_stop,
    .stats = local_stats,
};
