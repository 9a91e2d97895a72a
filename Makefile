# Hydra Compose Engine: one Makefile, libraries through pkg-config.
#   make            build build/hydra-compose
#   make check      build under AddressSanitizer + UndefinedBehaviorSanitizer (in
#                   build/san) and run every test; ends on "N passed, N failed"
#   make test       the same tests on the plain optimised build (faster)
#   make test T=render                   only the tests whose name starts so
#   make BUILD=build-x SAN=thread test   any build tree, any sanitizer
BUILD   ?= build
SAN     ?=
WERROR  ?=
CC      ?= cc
PKGS    := libavcodec libavformat libavutil libswscale vips libcurl jansson libass libswresample libebur128 aubio \
           libmicrohttpd sqlite3 libcrypto
CFLAGS  ?= -O2 -g
override CFLAGS += -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wvla -Isrc -Itests -pthread -MMD -MP \
           $(shell pkg-config --cflags $(PKGS))
override LDLIBS += $(shell pkg-config --libs $(PKGS)) -lm -pthread
ifneq ($(WERROR),)
override CFLAGS += -Werror
endif
ifneq ($(SAN),)
override CFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
override LDFLAGS += -fsanitize=$(SAN)
endif

LIB_SRC  := $(sort $(filter-out src/app/%,$(wildcard src/*/*.c)))
APP_SRC  := $(sort $(wildcard src/app/*.c))
TEST_SRC := $(sort $(wildcard tests/*.c tests/unit/*.c tests/contract/*.c tests/golden/*.c tests/integration/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
APP_OBJ  := $(APP_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)

all: $(BUILD)/hydra-compose

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The compositor's loops are written for the vectoriser.
$(BUILD)/src/render/%.o: override CFLAGS += -O3

$(BUILD)/libhc.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/hydra-compose: $(APP_OBJ) $(BUILD)/libhc.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/hc-tests: $(TEST_OBJ) $(BUILD)/libhc.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# T=prefix runs only the tests whose name starts with it.
export ASAN_OPTIONS ?= detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=0
export LSAN_OPTIONS ?= suppressions=$(abspath tests/lsan.supp):print_suppressions=0
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

check:
	+$(MAKE) BUILD=build/san SAN=address,undefined test

test: $(BUILD)/hydra-compose $(BUILD)/hc-tests
	HC_BIN=$(abspath $(BUILD)/hydra-compose) $(BUILD)/hc-tests $(T)

# Rewrite tests/golden/frames.txt from the current code (after an intended
# change to composed pixels; say why in the commit).
golden-update: $(BUILD)/hc-tests
	scripts/golden-update.sh $(BUILD)

format:
	clang-format -i $(LIB_SRC) $(APP_SRC) $(TEST_SRC) $(wildcard src/*/*.h tests/*.h)

clean:
	rm -rf $(BUILD)

.PHONY: all check test golden-update format clean
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
