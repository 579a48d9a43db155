# SPDX-License-Identifier: GPL-2.0
#
# The build idiom of every cmakit C directory (tools/cmabench,
# tools/cmatrace, tools/lib, bpf). A Makefile sets TOOL (its directory under
# the build root, e.g. cmatrace or bpf/arm64) and CC if it cross-compiles,
# includes this file, and writes its rules with $(BUILD), $(call msg,...),
# $(Q) and $(LIB_A).
#
#   O=DIR   the build root (default: build/ at the top of the repository);
#           everything a tool makes goes to $(O)/$(TOOL)/, none into the
#           source tree
#   V=1     show the commands; quiet by default, one "  CC      x.o" line
#           per step
#
# Warnings are errors. Every object gets a dependency file (-MMD -MP), so
# editing a header rebuilds what includes it.

CMAKIT_ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/../..)
LIBDIR := $(CMAKIT_ROOT)/tools/lib
O ?= $(CMAKIT_ROOT)/build
override O := $(abspath $(O))
BUILD := $(O)/$(TOOL)

WARNINGS := -Wall -Wextra -Werror
DEPFLAGS = -MMD -MP
# a function of tools/lib that a binary does not call is not linked into it
LIB_CFLAGS := -ffunction-sections -fdata-sections
LDFLAGS += -Wl,--gc-sections

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-7s %s\n' '$(1)' '$(patsubst $(O)/%,%,$(2))';
endif

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:

# tools/lib as a static archive: a binary links only the objects it calls
LIB_SRCS := $(notdir $(wildcard $(LIBDIR)/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/lib/%.o)
LIB_A := $(BUILD)/lib/libcmakit.a

$(BUILD)/lib/%.o: $(LIBDIR)/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LIB_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# the dependency files of every object built so far
-include $(wildcard $(BUILD)/*.d $(BUILD)/*/*.d)
