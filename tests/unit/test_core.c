/* Unit tests of src/core: errors, JSON escaping, YUV buffers, random. */
#include "core/hc_core.h"
#include "hc_test.h"

#include <string.h>

HC_TEST(core_err_keeps_first_and_maps_exit_codes) {
    hc_err e = {0};
    CHECK(hc_err_set(&e, HC_EINVAL, "images[%d].url: bad", 2) == HC_EINVAL);
    hc_err_set(&e, HC_EIO, "later");
    CHECK(e.code == HC_EINVAL);
    CHECK(strcmp(e.msg, "images[2].url: bad") == 0);
    hc_err_prefix(&e, "spec.json: ");
    CHECK(strcmp(e.msg, "spec.json: images[2].url: bad") == 0);
    CHECK(hc_err_exit_code(HC_EINVAL) == 2);
    CHECK(hc_err_exit_code(HC_EMEDIA) == 2);
    CHECK(hc_err_exit_code(HC_ENET) == 1);
    CHECK(hc_err_exit_code(HC_OK) == 0);
    CHECK(strcmp(hc_errname(HC_EMEDIA), "MEDIA") == 0);
    CHECK(hc_err_set(NULL, HC_EIO, "x") == HC_EIO);
}

HC_TEST(core_json_escape) {
    char buf[64];
    hc_json_escape(buf, sizeof buf, "a\"b\\c\nd\x01");
    CHECK(strcmp(buf, "a\\\"b\\\\c\\nd\\u0001") == 0);
    hc_json_escape(buf, 5, "abcdefgh");
    CHECK(strlen(buf) == 4);
    /* Well-formed UTF-8 is kept; anything else becomes U+FFFD. */
    hc_json_escape(buf, sizeof buf, "\xed\x95\x9c|\xff|\xc0\xaf");
    CHECK(strcmp(buf, "\xed\x95\x9c|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd") == 0);
}

HC_TEST(core_yuv_alloc_fill_copy) {
    hc_yuv a, b;
    CHECK(hc_yuv_alloc(&a, 3, 4) == HC_EINVAL);
    CHECK(hc_yuv_alloc(&a, 64, 32) == 0);
    CHECK(hc_yuv_alloc(&b, 64, 32) == 0);
    CHECK(a.stride[0] >= 64 && a.stride[1] >= 32);
    hc_yuv_fill(&a, 100, 50, 200);
    hc_yuv_copy(&b, &a);
    CHECK(b.plane[0][31 * b.stride[0] + 63] == 100);
    CHECK(b.plane[1][15 * b.stride[1] + 31] == 50);
    CHECK(b.plane[2][0] == 200);
    hc_yuv_fini(&a);
    hc_yuv_fini(&b);
    hc_yuv_fini(NULL);
}

HC_TEST(core_rand_is_deterministic) {
    uint64_t s1 = 42, s2 = 42;
    for (int i = 0; i < 10; i++)
        CHECK(hc_rand_next(&s1) == hc_rand_next(&s2));
    double u = hc_rand_unit(&s1);
    CHECK(u >= 0 && u < 1);
}
