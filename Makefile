# Hydra Compose Engine: one Makefile, libraries through pkg-config.
#   make            build build/hydra-compose
#   make check      build and run every test (ends on "N passed, N failed")
#   make SAN=address,undefined check    the same under sanitizers (CI)
#   make BUILD=build-x ...               a separate object tree (parallel work)
BUILD   ?= build
SAN     ?=
WERROR  ?=
CC      ?= cc
PKGS    := libavcodec libavformat libavutil libswscale vips libcurl jansson
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wformat=2 -Wvla -Isrc -Itests -pthread -MMD -MP \
           $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lm -pthread
ifneq ($(WERROR),)
CFLAGS  += -Werror
endif
ifneq ($(SAN),)
CFLAGS  += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=$(SAN)
endif

LIB_SRC  := $(sort $(filter-out src/app/%,$(wildcard src/*/*.c)))
APP_SRC  := $(sort $(wildcard src/app/*.c))
TEST_SRC := $(sort $(wildcard tests/*.c tests/unit/*.c tests/golden/*.c tests/integration/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
APP_OBJ  := $(APP_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)

all: $(BUILD)/hydra-compose

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libhc.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/hydra-compose: $(APP_OBJ) $(BUILD)/libhc.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/hc-tests: $(TEST_OBJ) $(BUILD)/libhc.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# T=prefix runs only the tests whose name starts with it.
check: $(BUILD)/hydra-compose $(BUILD)/hc-tests
	HC_BIN=$(abspath $(BUILD)/hydra-compose) $(BUILD)/hc-tests $(T)

format:
	clang-format -i $(LIB_SRC) $(APP_SRC) $(TEST_SRC) $(wildcard src/*/*.h tests/*.h)

clean:
	rm -rf $(BUILD)

.PHONY: all check format clean
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
