# SPDX-License-Identifier: GPL-2.0
#
# mapdrv's front door. The two commands that matter:
#   make run    build everything (toolchain, kernel, module, tool), boot the
#               guest, load the module, show its log, run the tool
#   make test   the same builds, then every test; ends with "N passed, N failed"
#
# ARCH=arm64 (PAGES=16K) builds and boots for arm64 (with 16 KiB pages).
# The kernel build is cached outside the clone ($(MAPDRV_CACHE)); KDIR=/path
# to your own Rust-enabled kernel build skips building one. Kbuild (the file
# `Kbuild`) describes the module itself; this Makefile only drives scripts/.

SHELL := /bin/bash
export KDIR KVER ARCH PAGES
SCRIPTS := $(CURDIR)/scripts

.PHONY: all module modules kernel tool toolchain run test mutants bench fault-profile docs check fmt clippy \
	shell modules_install rust-analyzer clean help

all: module tool ## build the module (and the kernel, if needed) and the tool

module modules: ## build mapdrv.ko against the kernel (build/staging holds it installed)
	@$(SCRIPTS)/build-module >/dev/null

modules_install: ## install mapdrv.ko the kernel's way: under $(INSTALL_MOD_PATH)/lib/modules/<release>/ (KDIR's release), then depmod
	@$(SCRIPTS)/build-module --install >/dev/null

kernel: ## build (or reuse) the Rust-enabled kernel; prints its directory
	@$(SCRIPTS)/build-kernel

tool: ## build the static userspace tool build/maptest
	@$(SCRIPTS)/build-tool >/dev/null

toolchain: ## install/check the toolchain (apt as root, bindgen via cargo)
	@$(SCRIPTS)/setup-toolchain

run: ## the main job: build, boot, load mapdrv, show its log, run maptest
	@$(SCRIPTS)/run

test: ## build, then run every test; ends with "N passed, N failed"
	@$(SCRIPTS)/test

mutants: ## prove the suite: run it against the deliberate bugs of tests/mutants.toml (~30 min)
	@$(SCRIPTS)/mutants

bench: ## benchmarks: wrappers vs raw C, fault path vs C/eager/anon; table, JSON, SVG
	@$(SCRIPTS)/bench

fault-profile: ## where a page fault's time goes: function profiler over the fault path, per map mode
	@$(SCRIPTS)/fault-profile

docs: ## re-run the guided tour's commands (docs/) in the guest, rewrite their output
	@$(SCRIPTS)/docs --update

check: ## rustfmt + kernel CLIPPY=1 build + cargo clippy -D warnings
	@$(SCRIPTS)/check

fmt: ## reformat the module (kernel rustfmt config) and the tool
	@. $(SCRIPTS)/lib.sh && load_toolchain && \
		"$$MAPDRV_RUSTFMT" --config-path "$$($(SCRIPTS)/fetch-kernel)/.rustfmt.toml" --edition 2021 src/mapdrv.rs
	@cd userspace && cargo fmt

clippy: ## build the module with the kernel's CLIPPY=1
	@$(SCRIPTS)/build-module --clippy >/dev/null

shell: ## interactive shell in the QEMU guest (module installed, not loaded)
	@$(SCRIPTS)/vm --shell

rust-analyzer: ## write rust-project.json (kernel crate + src/) for editors
	@$(SCRIPTS)/rust-analyzer

clean: ## remove this clone's build products (the kernel cache stays)
	rm -rf build userspace/target rust-project.json

help: ## list the targets
	@echo "mapdrv targets:"
	@grep -E '^[a-z_ -]+:.*## ' $(MAKEFILE_LIST) | \
		sed -E 's/^([a-z_ -]+):.*## (.*)/  \1|\2/' | awk -F'|' '{printf "  %-22s %s\n", $$1, $$2}'
	@echo "Variables: KVER=7.2|7.3 (kernel series to build and test against, default 7.2),"
	@echo "           KDIR=/path/to/own/rust-enabled/build, MAPDRV_CACHE=dir (default ~/.cache/mapdrv),"
	@echo "           INSTALL_MOD_PATH=dir (modules_install: install under dir instead of /)"
