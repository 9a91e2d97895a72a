/* Internals shared by the store backends (not a public interface): the
 * list cursor format, so every backend pages the same way.
 *
 * Cursors name the last row returned: ORDER_NEWEST "SEQ", ORDER_QUEUE
 * "PRIORITY:SEQ". The next page starts strictly after that row. */
#ifndef HC_STORE_INT_H
#define HC_STORE_INT_H

#include "store/hc_store.h"

typedef struct store_cursor {
    bool set;     /* false: start from the first row */
    int64_t seq;  /* the last row's seq */
    int priority; /* the last row's priority (ORDER_QUEUE) */
} store_cursor;

/* Parse q->cursor for q->order; HC_EINVAL naming the cursor when malformed. */
int store_cursor_parse(const hc_store_query *q, store_cursor *c, hc_err *err);
/* Write the cursor naming job (the last row of a full page) for order. */
void store_cursor_format(hc_store_order order, const hc_job *job, char *buf, size_t len);

/* "queued|processing" for an expect mask, for conflict messages. */
void store_mask_names(unsigned mask, char *buf, size_t len);

#endif
