/* The SQLite job store ("sqlite:PATH"): the embedded store of the
 * all-in-one deployment, shared by the server, its worker processes and the
 * `jobs` command through one database file.
 *
 * One table, a column per hc_job field (the store's field table,
 * HC_JOB_FIELDS, drives the schema, the statements and the row codec, so
 * they cannot drift apart from each other or from the DynamoDB item).
 * seq is the rowid (INTEGER PRIMARY KEY AUTOINCREMENT: increasing, never
 * reused) and job_id a UNIQUE key. The schema version is PRAGMA
 * user_version.
 *
 * Invariants: every write is one autocommit statement in WAL mode with
 * synchronous=NORMAL, so a write that returned is in the WAL (in the OS's
 * hands) and survives kill -9 of the process; put is a single conditional
 * UPDATE (compare-and-set on status), so concurrent writers in any process
 * cannot both win; it sets only the columns of the fields it is given. Threads share a pool of
 * connections, each used by one thread at a time with its statements prepared once; every statement
 * is reset before its connection returns to the pool, so no read snapshot outlives an operation.
 * SQLITE_* codes are translated here: BUSY/LOCKED
 * -> HC_ETIMEOUT, NOMEM -> HC_ENOMEM, others HC_EIO, keeping SQLite's text
 * and naming the database path. */
#include "store/hc_store.h"
#include "store/store_int.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    SCHEMA_VERSION = 2,
    BUSY_TIMEOUT_MS = 5000,
    MAX_CONNS = 8, /* per store handle; readers run in parallel under WAL */
    SQL_LEN = 4096,
};

enum { N_COLS = HC_JOB_F_COUNT };
#define cols store_fields /* column i is field i */
/* Update statements kept prepared per connection, by field mask: the few
 * masks the transitions use (progress, finish, claim, ...). */
enum { UPDATE_CACHE = 12 };

static const char *sql_type(store_kind k) {
    switch (k) {
    case STORE_K_SEQ:
        return "INTEGER PRIMARY KEY AUTOINCREMENT";
    case STORE_K_INT:
    case STORE_K_I64:
    case STORE_K_TIME:
        return "INTEGER NOT NULL DEFAULT 0";
    case STORE_K_REAL:
        return "REAL NOT NULL DEFAULT 0";
    case STORE_K_STR:
        return "TEXT";
    default:
        return "TEXT NOT NULL DEFAULT ''";
    }
}

/* Append printf output to a bounded SQL buffer. */
static void sql_add(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void sql_add(char *buf, size_t len, const char *fmt, ...) {
    size_t o = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + o, len - o, fmt, ap);
    va_end(ap);
}

/* "c1, c2, ..." of every column. */
static void sql_columns(char *buf, size_t len) {
    for (int i = 0; i < N_COLS; i++)
        sql_add(buf, len, "%s%s", i ? ", " : "", cols[i].column);
}

/* ---- statements ----------------------------------------------------------- */

typedef enum { ST_INSERT, ST_GET, ST_STATUS, ST_COUNT, ST_N } stmt_id;

typedef struct conn {
    sqlite3 *db;
    sqlite3_stmt *st[ST_N];
    struct {
        uint64_t fields; /* 0 = empty */
        sqlite3_stmt *st;
        uint64_t used; /* last use, for eviction */
    } upd[UPDATE_CACHE];
    uint64_t uses;
    struct conn *next;     /* free list */
    struct conn *all_next; /* every connection of the store */
} conn;

typedef struct sq_priv {
    char *path;
    char *sql[ST_N]; /* the statements' text, built once from the column table */
    pthread_mutex_t lock;
    pthread_cond_t freed;
    conn *idle;  /* free list */
    conn *all;   /* every open connection, for close */
    int n_conns; /* opened or being opened */
} sq_priv;

static void build_sql(sq_priv *p) {
    char buf[SQL_LEN];
    /* INSERT: every column but seq; a taken id inserts nothing. */
    buf[0] = 0;
    sql_add(buf, sizeof buf, "INSERT INTO jobs (");
    for (int i = 1; i < N_COLS; i++)
        sql_add(buf, sizeof buf, "%s%s", i > 1 ? ", " : "", cols[i].column);
    sql_add(buf, sizeof buf, ") VALUES (");
    for (int i = 1; i < N_COLS; i++)
        sql_add(buf, sizeof buf, "%s?", i > 1 ? ", " : "");
    sql_add(buf, sizeof buf, ") ON CONFLICT(job_id) DO NOTHING");
    p->sql[ST_INSERT] = hc_strdup(buf);

    buf[0] = 0;
    sql_add(buf, sizeof buf, "SELECT ");
    sql_columns(buf, sizeof buf);
    sql_add(buf, sizeof buf, " FROM jobs WHERE job_id = ?");
    p->sql[ST_GET] = hc_strdup(buf);

    p->sql[ST_STATUS] = hc_strdup("SELECT status, attempt FROM jobs WHERE job_id = ?");
    p->sql[ST_COUNT] = hc_strdup("SELECT status, COUNT(*) FROM jobs GROUP BY status");
}

/* ---- errors --------------------------------------------------------------- */

static int code_of(int src) {
    switch (src & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return HC_ETIMEOUT;
    case SQLITE_NOMEM:
        return HC_ENOMEM;
    default:
        return HC_EIO;
    }
}

/* Translate a SQLite failure of `what`, keeping SQLite's own text. */
static int sq_fail(const sq_priv *p, sqlite3 *db, int src, const char *what, hc_err *err) {
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(src);
    return hc_err_set(err, code_of(src), "store sqlite:%s: %s: %s", p->path, what, msg);
}

/* ---- connections ---------------------------------------------------------- */

static void conn_close(conn *c) {
    if (!c) return;
    for (int i = 0; i < ST_N; i++)
        sqlite3_finalize(c->st[i]);
    for (int i = 0; i < UPDATE_CACHE; i++)
        sqlite3_finalize(c->upd[i].st);
    sqlite3_close(c->db);
    free(c);
}

static int exec(const sq_priv *p, sqlite3 *db, const char *sql, hc_err *err) {
    int src = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return src == SQLITE_OK ? 0 : sq_fail(p, db, src, sql, err);
}

/* Read one integer PRAGMA. */
static int pragma_int(const sq_priv *p, sqlite3 *db, const char *sql, int *out, hc_err *err) {
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (src == SQLITE_OK) src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        src = SQLITE_OK;
    }
    int rc = src == SQLITE_OK ? 0 : sq_fail(p, db, src, sql, err);
    sqlite3_finalize(st);
    return rc;
}

/* Create the schema if the file has none; refuse a newer one. Runs in an
 * IMMEDIATE transaction so processes opening a new file at once agree. */
static int ensure_schema(const sq_priv *p, sqlite3 *db, hc_err *err) {
    int version = 0;
    int rc = pragma_int(p, db, "PRAGMA user_version", &version, err);
    if (rc || version == SCHEMA_VERSION) goto done;
    if ((rc = exec(p, db, "BEGIN IMMEDIATE", err))) goto done;
    if ((rc = pragma_int(p, db, "PRAGMA user_version", &version, err))) goto rollback;
    if (version > SCHEMA_VERSION) {
        rc = hc_err_set(err, HC_EIO,
                        "store sqlite:%s: schema version %d is newer than this build's (%d)",
                        p->path, version, SCHEMA_VERSION);
        goto rollback;
    }
    if (version == 0) {
        char sql[SQL_LEN] = "CREATE TABLE IF NOT EXISTS jobs (";
        for (int i = 0; i < N_COLS; i++)
            sql_add(sql, sizeof sql, "%s%s %s", i ? ", " : "", cols[i].column,
                    i == HC_JOB_F_JOB_ID ? "TEXT NOT NULL UNIQUE" : sql_type(cols[i].kind));
        sql_add(sql, sizeof sql, ")");
        if ((rc = exec(p, db, sql, err)) ||
            (rc = exec(p, db,
                       "CREATE INDEX IF NOT EXISTS jobs_queue ON jobs (status, priority DESC, seq)",
                       err)) ||
            (rc = exec(p, db,
                       "CREATE INDEX IF NOT EXISTS jobs_callbacks ON jobs (cb_state, "
                       "cb_next_us)",
                       err)) ||
            /* listings by status, newest first (GET /jobs?status=) */
            (rc = exec(p, db, "CREATE INDEX IF NOT EXISTS jobs_status_seq ON jobs (status, seq)",
                       err)))
            goto rollback;
    } else if (version == 1) {
        /* Version 2 added the attempt token (every job so far was claimed
         * as often as it was tried) and the callback's delivery time. */
        if ((rc = exec(p, db, "ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0",
                       err)) ||
            (rc = exec(p, db, "UPDATE jobs SET attempt = attempts", err)) ||
            (rc = exec(p, db,
                       "ALTER TABLE jobs ADD COLUMN cb_delivered_us INTEGER NOT NULL DEFAULT 0",
                       err)))
            goto rollback;
    }
    if (version < SCHEMA_VERSION) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", SCHEMA_VERSION);
        if ((rc = exec(p, db, pragma, err))) goto rollback;
    }
    rc = exec(p, db, "COMMIT", err);
    if (rc) goto rollback;
    goto done;
rollback:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
done:
    return rc;
}

/* Put the file in WAL mode, which is what makes synchronous=NORMAL safe
 * against kill -9. The mode is persistent in the file, but switching needs
 * a moment of exclusive access and SQLite answers BUSY at once rather than
 * calling the busy handler, so processes opening a new file together retry
 * here for up to the busy timeout. */
static int use_wal(const sq_priv *p, sqlite3 *db, hc_err *err) {
    int rc = 0;
    char mode[16] = "";
    int64_t deadline = hc_now_us() + BUSY_TIMEOUT_MS * 1000LL;
    for (int attempt = 0;; attempt++) {
        sqlite3_stmt *st = NULL;
        int src = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
        if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
            snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(st, 0));
            src = SQLITE_OK;
        }
        if (src != SQLITE_OK && (src & 0xff) == SQLITE_BUSY && hc_now_us() < deadline) {
            sqlite3_finalize(st);
            usleep(1000u << (attempt < 4 ? attempt : 4)); /* 1, 2, 4, 8, 16 ms */
            continue;
        }
        if (src != SQLITE_OK) rc = sq_fail(p, db, src, "PRAGMA journal_mode = WAL", err);
        sqlite3_finalize(st);
        break;
    }
    if (rc == 0 && strcmp(mode, "wal") != 0)
        rc = hc_err_set(err, HC_EIO, "store sqlite:%s: cannot use WAL mode (journal_mode is %s)",
                        p->path, mode);
    return rc;
}

/* Open one connection: pragmas, schema (first connection only), statements. */
static int conn_open(sq_priv *p, bool first, conn **out, hc_err *err) {
    int rc = 0;
    conn *c = hc_xcalloc(1, sizeof *c);
    /* NOMUTEX: a connection is only ever used by one thread at a time (the
     * pool hands it out), so SQLite's own per-connection mutex is waste. */
    int src = sqlite3_open_v2(
        p->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (src != SQLITE_OK) {
        rc = sq_fail(p, c->db, src, "open (its directory must exist and be writable)", err);
        goto done;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    if ((rc = use_wal(p, c->db, err))) goto done;
    if ((rc = exec(p, c->db, "PRAGMA synchronous = NORMAL", err))) goto done;
    if (first && (rc = ensure_schema(p, c->db, err))) goto done;
    for (int i = 0; i < ST_N; i++) {
        src = sqlite3_prepare_v3(c->db, p->sql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i], NULL);
        if (src != SQLITE_OK) {
            rc = sq_fail(p, c->db, src, "prepare", err);
            goto done;
        }
    }
done:
    if (rc) {
        conn_close(c);
        c = NULL;
    }
    *out = c;
    return rc;
}

/* A connection for this thread's exclusive use until release(). */
static int acquire(sq_priv *p, conn **out, hc_err *err) {
    pthread_mutex_lock(&p->lock);
    while (!p->idle && p->n_conns >= MAX_CONNS)
        pthread_cond_wait(&p->freed, &p->lock);
    conn *c = p->idle;
    if (c) {
        p->idle = c->next;
        pthread_mutex_unlock(&p->lock);
        *out = c;
        return 0;
    }
    /* Open a new one outside the lock (it does file I/O); count it now so
     * no more than MAX_CONNS are ever opened. */
    p->n_conns++;
    pthread_mutex_unlock(&p->lock);
    int rc = conn_open(p, false, &c, err);
    pthread_mutex_lock(&p->lock);
    if (rc) {
        p->n_conns--;
        pthread_cond_signal(&p->freed);
    } else {
        c->all_next = p->all;
        p->all = c;
    }
    pthread_mutex_unlock(&p->lock);
    *out = c;
    return rc;
}

static void release(sq_priv *p, conn *c) {
    if (!c) return;
    for (int i = 0; i < ST_N; i++)
        sqlite3_reset(c->st[i]);
    for (int i = 0; i < UPDATE_CACHE; i++)
        if (c->upd[i].st) sqlite3_reset(c->upd[i].st);
    pthread_mutex_lock(&p->lock);
    c->next = p->idle;
    p->idle = c;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}

/* ---- the row codec -------------------------------------------------------- */

static int bind_text(sqlite3_stmt *st, int idx, const char *s) {
    return s ? sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, idx);
}

/* Bind column col of job at parameter idx (borrowed: job outlives the step). */
static int bind_col(sqlite3_stmt *st, int idx, const store_field *col, const hc_job *job) {
    const char *base = (const char *)job + col->off;
    switch (col->kind) {
    case STORE_K_SEQ:
    case STORE_K_I64:
    case STORE_K_TIME:
        return sqlite3_bind_int64(st, idx, *(const int64_t *)(const void *)base);
    case STORE_K_INT:
        return sqlite3_bind_int(st, idx, *(const int *)(const void *)base);
    case STORE_K_REAL:
        return sqlite3_bind_double(st, idx, *(const double *)(const void *)base);
    case STORE_K_BUF:
        return bind_text(st, idx, base);
    case STORE_K_STR:
        return bind_text(st, idx, *(char *const *)(const void *)base);
    case STORE_K_STATUS:
    case STORE_K_HW:
    case STORE_K_CB:
        return bind_text(st, idx, store_kind_names(col->kind)[*(const int *)(const void *)base]);
    }
    return SQLITE_MISUSE;
}

/* Decode the current row (columns in table order) into job (zeroed first). */
static int decode_row(const sq_priv *p, sqlite3_stmt *st, hc_job *job, hc_err *err) {
    memset(job, 0, sizeof *job);
    for (int i = 0; i < N_COLS; i++) {
        const store_field *col = &cols[i];
        char *base = (char *)job + col->off;
        const char *text = (const char *)sqlite3_column_text(st, i);
        int idx;
        switch (col->kind) {
        case STORE_K_SEQ:
        case STORE_K_I64:
        case STORE_K_TIME:
            *(int64_t *)(void *)base = sqlite3_column_int64(st, i);
            break;
        case STORE_K_INT:
            *(int *)(void *)base = sqlite3_column_int(st, i);
            break;
        case STORE_K_REAL:
            *(double *)(void *)base = sqlite3_column_double(st, i);
            break;
        case STORE_K_BUF:
            snprintf(base, col->size, "%s", text ? text : "");
            break;
        case STORE_K_STR:
            *(char **)(void *)base = text ? hc_strdup(text) : NULL;
            break;
        case STORE_K_STATUS:
        case STORE_K_HW:
        case STORE_K_CB:
            idx = store_name_index(store_kind_names(col->kind), text);
            if (idx < 0) {
                hc_job_fini(job);
                return hc_err_set(err, HC_EIO, "store sqlite:%s: job row has an unknown %s \"%s\"",
                                  p->path, col->column, text ? text : "(null)");
            }
            *(int *)(void *)base = idx;
            break;
        }
    }
    return 0;
}

/* ---- operations ----------------------------------------------------------- */

static void sq_close(hc_store *s) {
    sq_priv *p = hc_store_priv(s);
    while (p->all) {
        conn *c = p->all;
        p->all = c->all_next;
        conn_close(c);
    }
    for (int i = 0; i < ST_N; i++)
        free(p->sql[i]);
    free(p->path);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->freed);
}

static int sq_open(hc_store *s, const char *arg, hc_err *err) {
    sq_priv *p = hc_store_priv(s);
    if (!arg || !*arg)
        return hc_err_set(err, HC_EINVAL, "store: sqlite needs a path (sqlite:PATH)");
    /* Connections are handed between threads, which a single-thread build
     * of the library does not allow. */
    if (!sqlite3_threadsafe())
        return hc_err_set(err, HC_EUNSUPPORTED,
                          "store sqlite:%s: libsqlite3 was built without thread support", arg);
    p->path = hc_strdup(arg);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->freed, NULL);
    build_sql(p);
    /* The first connection checks the file and the schema now, so a bad
     * path fails at open rather than at the first request. */
    conn *c = NULL;
    int rc = conn_open(p, true, &c, err);
    if (rc) {
        sq_close(s);
        return rc;
    }
    p->n_conns = 1;
    p->all = p->idle = c;
    return 0;
}

static int sq_get_locked(sq_priv *p, conn *c, const char *job_id, hc_job *out, hc_err *err) {
    sqlite3_stmt *st = c->st[ST_GET];
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
    int src = sqlite3_step(st);
    int rc = 0;
    if (src == SQLITE_ROW)
        rc = decode_row(p, st, out, err);
    else if (src == SQLITE_DONE)
        rc = hc_err_set(err, HC_ENOTFOUND, "job %s: not found", job_id);
    else
        rc = sq_fail(p, c->db, src, "get", err);
    sqlite3_reset(st);
    return rc;
}

static int sq_create(hc_store *s, hc_job *job, hc_job *existing, hc_err *err) {
    sq_priv *p = hc_store_priv(s);
    conn *c = NULL;
    int rc = acquire(p, &c, err);
    if (rc) goto done;
    int64_t now = hc_wall_us();
    hc_job row = *job; /* a shallow view with the store's times: job changes on success only */
    if (!row.created_us) row.created_us = now;
    row.updated_us = now;
    sqlite3_stmt *st = c->st[ST_INSERT];
    int src = SQLITE_OK;
    for (int i = 1; i < N_COLS && src == SQLITE_OK; i++)
        src = bind_col(st, i, &cols[i], &row);
    if (src == SQLITE_OK) src = sqlite3_step(st);
    if (src != SQLITE_DONE) {
        rc = sq_fail(p, c->db, src, "create", err);
        goto done;
    }
    if (sqlite3_changes(c->db) == 0) {
        /* The id is taken; rows are never deleted, so it is there to read. */
        rc = HC_EEXISTS;
        if (existing) {
            rc = sq_get_locked(p, c, job->job_id, existing, err);
            if (rc == 0) rc = HC_EEXISTS;
        }
        hc_err_set(err, HC_EEXISTS, "job %s: already exists", job->job_id);
        goto done;
    }
    job->seq = sqlite3_last_insert_rowid(c->db);
    job->created_us = row.created_us;
    job->updated_us = row.updated_us;
done:
    if (c) sqlite3_reset(c->st[ST_INSERT]);
    release(p, c);
    return rc;
}

static int sq_get(hc_store *s, const char *job_id, hc_job *out, hc_err *err) {
    sq_priv *p = hc_store_priv(s);
    conn *c = NULL;
    int rc = acquire(p, &c, err);
    if (rc == 0) rc = sq_get_locked(p, c, job_id, out, err);
    release(p, c);
    return rc;
}

/* The prepared UPDATE for a field mask: the fields' columns, then job_id,
 * the expected statuses as ",queued,processing," and the expected attempt
 * (-1 = any) twice. Borrowed from c's cache. */
static int update_stmt(const sq_priv *p, conn *c, uint64_t fields, sqlite3_stmt **out,
                       hc_err *err) {
    int slot = 0;
    c->uses++;
    for (int i = 0; i < UPDATE_CACHE; i++) {
        if (c->upd[i].st && c->upd[i].fields == fields) {
            c->upd[i].used = c->uses;
            *out = c->upd[i].st;
            return 0;
        }
        if (c->upd[i].used < c->upd[slot].used) slot = i;
    }
    char sql[SQL_LEN] = "UPDATE jobs SET ";
    int n = 0;
    for (int f = 0; f < N_COLS; f++)
        if ((fields >> f) & 1)
            sql_add(sql, sizeof sql, "%s%s = ?", n++ ? ", " : "", cols[f].column);
    sql_add(sql, sizeof sql,
            " WHERE job_id = ? AND instr(?, ',' || status || ',') > 0 AND (? < 0 OR attempt = ?)");
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (src != SQLITE_OK) return sq_fail(p, c->db, src, "prepare update", err);
    sqlite3_finalize(c->upd[slot].st);
    c->upd[slot].st = st;
    c->upd[slot].fields = fields;
    c->upd[slot].used = c->uses;
    *out = st;
    return 0;
}

static int sq_update(hc_store *s, const char *job_id, uint64_t fields, const hc_job *values,
                     unsigned expect_mask, int expect_attempt, hc_err *err) {
    sq_priv *p = hc_store_priv(s);
    conn *c = NULL;
    sqlite3_stmt *st = NULL;
    int rc = acquire(p, &c, err);
    if (rc) goto done;
    char expect[80] = ",";
    for (int i = 0; i < HC_JOB_STATUS_COUNT; i++)
        if (expect_mask & HC_JOB_MASK(i))
            sql_add(expect, sizeof expect, "%s,", hc_job_status_names[i]);
    if ((rc = update_stmt(p, c, fields, &st, err))) goto done;
    int src = SQLITE_OK, idx = 1;
    for (int f = 0; f < N_COLS && src == SQLITE_OK; f++)
        if ((fields >> f) & 1) src = bind_col(st, idx++, &cols[f], values);
    if (src == SQLITE_OK) src = sqlite3_bind_text(st, idx++, job_id, -1, SQLITE_STATIC);
    if (src == SQLITE_OK) src = sqlite3_bind_text(st, idx++, expect, -1, SQLITE_STATIC);
    if (src == SQLITE_OK) src = sqlite3_bind_int(st, idx++, expect_attempt);
    if (src == SQLITE_OK) src = sqlite3_bind_int(st, idx++, expect_attempt);
    if (src == SQLITE_OK) src = sqlite3_step(st);
    if (src != SQLITE_DONE) {
        rc = sq_fail(p, c->db, src, "update", err);
        goto done;
    }
    if (sqlite3_changes(c->db) == 1) goto done;
    /* Nothing written: an unknown id, or a status or attempt not expected. */
    st = c->st[ST_STATUS];
    sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src == SQLITE_DONE) {
        rc = hc_err_set(err, HC_ENOTFOUND, "job %s: not found", job_id);
    } else if (src == SQLITE_ROW) {
        int now = store_name_index(hc_job_status_names, (const char *)sqlite3_column_text(st, 0));
        rc = store_conflict(job_id, (hc_job_status)now, sqlite3_column_int(st, 1), expect_mask,
                            expect_attempt, err);
    } else {
        rc = sq_fail(p, c->db, src, "update", err);
    }
done:
    release(p, c);
    return rc;
}

static int sq_list(hc_store *s, const hc_store_query *q, hc_job_list *out, hc_err *err) {
    sq_priv *p = hc_store_priv(s);
    store_cursor cur;
    conn *c = NULL;
    sqlite3_stmt *st = NULL;
    int cap = 0;
    int rc = store_cursor_parse(q, &cur, err);
    if (rc) goto done;
    char sql[SQL_LEN] = "SELECT ";
    sql_columns(sql, sizeof sql);
    sql_add(sql, sizeof sql, " FROM jobs WHERE 1");
    /* Statuses as literals from our own table, so the queue index applies. */
    if (q->status_mask) {
        sql_add(sql, sizeof sql, " AND status IN (");
        int n = 0;
        for (int i = 0; i < HC_JOB_STATUS_COUNT; i++)
            if (q->status_mask & HC_JOB_MASK(i))
                sql_add(sql, sizeof sql, "%s'%s'", n++ ? ", " : "", hc_job_status_names[i]);
        sql_add(sql, sizeof sql, ")");
    }
    if (q->callbacks_due)
        sql_add(sql, sizeof sql, " AND cb_state = 'pending' AND cb_next_us <= ?1");
    if (cur.set && q->order == HC_STORE_ORDER_NEWEST) sql_add(sql, sizeof sql, " AND seq < ?2");
    if (cur.set && q->order == HC_STORE_ORDER_QUEUE)
        sql_add(sql, sizeof sql, " AND (priority < ?3 OR (priority = ?3 AND seq > ?2))");
    sql_add(sql, sizeof sql,
            q->order == HC_STORE_ORDER_QUEUE ? " ORDER BY priority DESC, seq ASC"
                                             : " ORDER BY seq DESC");
    sql_add(sql, sizeof sql, " LIMIT ?4");
    if ((rc = acquire(p, &c, err))) goto done;
    int src = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    if (src != SQLITE_OK) {
        rc = sq_fail(p, c->db, src, "list", err);
        goto done;
    }
    /* Unused numbered parameters are harmless to bind. */
    sqlite3_bind_int64(st, 1, q->now_us);
    sqlite3_bind_int64(st, 2, cur.seq);
    sqlite3_bind_int(st, 3, cur.priority);
    sqlite3_bind_int(st, 4, q->limit);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n == cap) {
            cap = cap ? 2 * cap : 16;
            hc_job *v = realloc(out->v, (size_t)cap * sizeof *v);
            if (!v) abort();
            out->v = v;
        }
        if ((rc = decode_row(p, st, &out->v[out->n], err))) goto done;
        out->n++;
    }
    if (src != SQLITE_DONE) {
        rc = sq_fail(p, c->db, src, "list", err);
        goto done;
    }
    if (out->n == q->limit)
        store_cursor_format(q->order, &out->v[out->n - 1], out->next_cursor,
                            sizeof out->next_cursor);
done:
    sqlite3_finalize(st);
    release(p, c);
    return rc;
}

static int sq_count(hc_store *s, int64_t counts[HC_JOB_STATUS_COUNT], hc_err *err) {
    sq_priv *p = hc_store_priv(s);
    conn *c = NULL;
    int rc = acquire(p, &c, err);
    if (rc) goto done;
    sqlite3_stmt *st = c->st[ST_COUNT];
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        int i = store_name_index(hc_job_status_names, (const char *)sqlite3_column_text(st, 0));
        if (i >= 0) counts[i] = sqlite3_column_int64(st, 1);
    }
    if (src != SQLITE_DONE) rc = sq_fail(p, c->db, src, "count", err);
done:
    release(p, c);
    return rc;
}

const hc_store_backend hc_store_sqlite = {
    .name = "sqlite",
    .priv_size = sizeof(sq_priv),
    .open = sq_open,
    .close = sq_close,
    .create = sq_create,
    .get = sq_get,
    .update = sq_update,
    .list = sq_list,
    .count = sq_count,
};
