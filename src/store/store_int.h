/* Internals shared by the store backends (not a public interface): the
 * job's field table (from HC_JOB_FIELDS) with the helpers every backend
 * codec uses, and the list cursor format, so every backend pages the same
 * way.
 *
 * Cursors name the last row returned: ORDER_NEWEST "SEQ", ORDER_QUEUE
 * "PRIORITY:SEQ". The next page starts strictly after that row. */
#ifndef HC_STORE_INT_H
#define HC_STORE_INT_H

#include "store/hc_store.h"

#include <jansson.h>

typedef enum {
    STORE_K_SEQ,
    STORE_K_BUF,
    STORE_K_STR,
    STORE_K_INT,
    STORE_K_I64,
    STORE_K_REAL,
    STORE_K_TIME,
    STORE_K_STATUS,
    STORE_K_HW,
    STORE_K_CB,
} store_kind;

typedef struct store_field {
    const char *column; /* SQLite column: the hc_job member's name */
    const char *name;   /* DynamoDB attribute / status JSON name */
    store_kind kind;
    size_t off, size; /* in hc_job */
    bool mutable_;
} store_field;

/* Indexed by hc_job_field. */
extern const store_field store_fields[HC_JOB_F_COUNT];
/* Names of hc_cb_state values as stored ("none", "pending", "delivered",
 * "gave_up"), NULL-terminated. */
extern const char *const store_cb_names[];

/* Copy field f of src into dst (strings duplicated, dst's old one freed). */
void store_field_copy(hc_job *dst, const hc_job *src, hc_job_field f);
/* The enum names table of an enum kind (STATUS, HW, CB); NULL otherwise. */
const char *const *store_kind_names(store_kind k);
/* Index of s in a NULL-terminated names table, or -1. */
int store_name_index(const char *const *names, const char *s);
/* The conflict of an update that wrote nothing although the job exists:
 * HC_ECONFLICT naming the stored status and attempt against the expected. */
int store_conflict(const char *job_id, hc_job_status stored, int stored_attempt,
                   unsigned expect_mask, int expect_attempt, hc_err *err);

typedef struct store_cursor {
    bool set;     /* false: start from the first row */
    int64_t seq;  /* the last row's seq */
    int priority; /* the last row's priority (ORDER_QUEUE) */
} store_cursor;

/* Parse q->cursor for q->order; HC_EINVAL naming the cursor when malformed. */
int store_cursor_parse(const hc_store_query *q, store_cursor *c, hc_err *err);
/* Write the cursor naming job (the last row of a full page) for order. */
void store_cursor_format(hc_store_order order, const hc_job *job, char *buf, size_t len);

/* ---- the DynamoDB codec (store_dynamodb.c), exposed for its unit tests ---- */
/* The item of job (new reference): every field present under its name,
 * created_ms carrying seq, ttl when final. */
json_t *store_ddb_item(const hc_job *job);
/* Decode an item into *out (zeroed first). HC_EIO naming the attribute and
 * `where` (the store spec) when unreadable. */
int store_ddb_job_from_item(json_t *item, hc_job *out, const char *where, hc_err *err);
/* The UpdateItem request of an update (new reference). */
json_t *store_ddb_update_body(const char *table, const char *job_id, uint64_t fields,
                              const hc_job *values, unsigned expect_mask, int expect_attempt);
/* The CreateTable request of DESIGN.md §11 (new reference). */
json_t *store_ddb_create_table_body(const char *table);

/* "queued|processing" for an expect mask, for conflict messages. */
void store_mask_names(unsigned mask, char *buf, size_t len);

#endif
