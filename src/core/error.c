/* Error codes (one X-macro list in hc_core.h) and the caller-passed message.
 * Invariant: hc_err keeps the first error recorded; later ones do not
 * overwrite it, so the message names the root cause. */
#include "core/hc_core.h"

#include <stdio.h>
#include <string.h>

const char *hc_strerror(int code) {
    switch (code) {
    case HC_OK:
        return "ok";
#define HC_ERR_STR_(name, val, cls, str)                                                           \
    case val:                                                                                      \
        return str;
        HC_ERRNO_MAP(HC_ERR_STR_)
#undef HC_ERR_STR_
    }
    return "unknown error";
}

const char *hc_errname(int code) {
    switch (code) {
    case HC_OK:
        return "OK";
#define HC_ERR_NAME_(name, val, cls, str)                                                          \
    case val:                                                                                      \
        return #name;
        HC_ERRNO_MAP(HC_ERR_NAME_)
#undef HC_ERR_NAME_
    }
    return "INTERNAL";
}

int hc_err_exit_code(int code) {
    switch (code) {
    case HC_OK:
        return 0;
#define HC_ERR_CLS_(name, val, cls, str)                                                           \
    case val:                                                                                      \
        return cls;
        HC_ERRNO_MAP(HC_ERR_CLS_)
#undef HC_ERR_CLS_
    }
    return 1;
}

int hc_err_set(hc_err *err, int code, const char *fmt, ...) {
    if (err && err->code == 0) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void hc_err_prefix(hc_err *err, const char *fmt, ...) {
    if (!err || err->code == 0) return;
    char pre[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    size_t pl = strlen(pre), ol = strlen(err->msg);
    if (pl + ol >= sizeof err->msg) ol = sizeof err->msg - 1 - pl;
    memmove(err->msg + pl, err->msg, ol);
    memcpy(err->msg, pre, pl);
    err->msg[pl + ol] = 0;
}

void hc_err_clear(hc_err *err) {
    if (err) {
        err->code = 0;
        err->msg[0] = 0;
    }
}
