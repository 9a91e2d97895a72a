/* Internals shared by the storage's files (not part of its interface). */
#ifndef HC_STORAGE_INT_H
#define HC_STORAGE_INT_H

#include "storage/hc_storage.h"

/* A zeroed storage for backend b with its private state; spec copied.
 * Freed by hc_storage_close (after the backend's close). */
hc_storage *storage_alloc(const hc_storage_backend *b, const char *spec);

/* The storage a fault wrapper wraps; NULL when st is not one. */
const hc_storage *storage_fault_inner(const hc_storage *st);

#endif
