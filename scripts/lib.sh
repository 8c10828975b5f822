# shellcheck shell=bash
# Shared helpers for mapdrv's scripts. Source it; do not run it.
#
# Everything that is expensive to produce (toolchain extras, kernel source,
# kernel builds) lives in $MAPDRV_CACHE, outside the clone, so that a fresh
# clone on a machine that already built mapdrv reuses it.

set -euo pipefail

MAPDRV_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MAPDRV_CACHE="${MAPDRV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mapdrv}"
# The tool's cargo build directory is in the cache too: its dependencies
# (clap, serde, ...) are compiled once per machine and toolchain, not once
# per clone and again for `cargo test` and `cargo clippy`. The tool's own
# crate is still built per clone (cargo tells clones apart by their path),
# and cargo locks the directory, so two clones may build at once.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$MAPDRV_CACHE/cargo-target}"
# Kernel series to build and test against (`make ... KVER=7.3`); the Debian
# package name (linux-source-SERIES) and the kernel cache key follow it.
# 7.2 is the default; kernel/series-SERIES.config must exist for a series.
MAPDRV_KSERIES="${MAPDRV_KSERIES:-${KVER:-7.2}}"
# Architecture of the guest (`make ... ARCH=arm64`): x86_64 (the default)
# or arm64, and its page size (`PAGES=16K`; arm64 only). Kernel builds,
# module builds and the tool are kept apart per architecture and page size.
case "${MAPDRV_ARCH:-${ARCH:-x86_64}}" in
x86_64 | x86 | amd64) MAPDRV_ARCH=x86_64 ;;
arm64 | aarch64) MAPDRV_ARCH=arm64 ;;
*) printf 'mapdrv: error: ARCH=%s: mapdrv knows x86_64 and arm64\n' "${MAPDRV_ARCH:-$ARCH}" >&2; exit 1 ;;
esac
MAPDRV_PAGES="${MAPDRV_PAGES:-${PAGES:-4K}}"
case "$MAPDRV_ARCH-$MAPDRV_PAGES" in
x86_64-4K | arm64-4K | arm64-16K) ;;
*) printf 'mapdrv: error: PAGES=%s: %s kernels here have %s pages\n' "$MAPDRV_PAGES" "$MAPDRV_ARCH" \
	"$([ "$MAPDRV_ARCH" = arm64 ] && echo '4K or 16K' || echo 4K)" >&2; exit 1 ;;
esac
export MAPDRV_ARCH MAPDRV_PAGES
# The architecture and page size as one name: x86_64, arm64 or arm64-16k
# (the tour's console blocks use it too).
arch_name() {
	case "$MAPDRV_PAGES" in
	4K) echo "$MAPDRV_ARCH" ;;
	*) echo "$MAPDRV_ARCH-$(echo "$MAPDRV_PAGES" | tr K k)" ;;
	esac
}
# The name part that tells builds of other architectures and page sizes
# apart: empty for x86_64 (4K), "-arm64" or "-arm64-16k".
arch_tag() { [ "$(arch_name)" = x86_64 ] || echo "-$(arch_name)"; }
# The Rust target triple of the tool (a static binary for the guest).
tool_target() {
	case "$MAPDRV_ARCH" in
	x86_64) echo x86_64-unknown-linux-gnu ;;
	arm64) echo aarch64-unknown-linux-gnu ;;
	esac
}
# Build products of this clone (module, tool, initramfs) go here.
MAPDRV_OUT="${MAPDRV_OUT:-$MAPDRV_ROOT/build}"

# usage: the calling script's help, its leading comment block (so the
# help text lives next to the code and cannot be cut short).
usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }

# phase MESSAGE: one progress line, so long steps never run in silence.
phase() { printf '\033[1m==> mapdrv: %s\033[0m\n' "$*" >&2; }
info() { printf 'mapdrv: %s\n' "$*" >&2; }
die() { printf 'mapdrv: error: %s\n' "$*" >&2; exit 1; }

# version_ge A B: true when dotted version A >= B.
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

# kernel_patches: the patches carried on top of Debian's kernel source, in
# the order they apply; kernel_patches_id: a hash of their contents (the
# empty set hashes too, so a tree is always labelled).
kernel_patches() { ls "$MAPDRV_ROOT"/kernel/patches/*.patch 2>/dev/null | LC_ALL=C sort || true; }
kernel_patches_id() { kernel_patches | xargs -r cat | sha256sum | cut -c1-16; }

# The toolchain environment written by scripts/setup-toolchain.
toolchain_env() { echo "$MAPDRV_CACHE/toolchain.env"; }
# Written by setup-toolchain once a non-x86_64 guest's extras are in place.
toolchain_arch_stamp() { echo "$MAPDRV_CACHE/$MAPDRV_ARCH/toolchain-ok"; }

# load_toolchain: import LLVM_SUFFIX, MAPDRV_RUSTC, MAPDRV_BINDGEN, ... and
# define KMAKE_ARGS, the variables every kernel make call needs.
load_toolchain() {
	local env
	env="$(toolchain_env)"
	# An arm64 build needs more than the x86_64 one (the cross linker, the
	# aarch64 standard library, busybox): setup-toolchain marks it done.
	if [ ! -f "$env" ] || { [ "$MAPDRV_ARCH" != x86_64 ] && [ ! -f "$(toolchain_arch_stamp)" ]; }; then
		"$MAPDRV_ROOT/scripts/setup-toolchain"
	fi
	# shellcheck disable=SC1090
	. "$env"
	export LIBCLANG_PATH="$MAPDRV_LIBCLANG_PATH"
	KMAKE_ARGS=(ARCH="$([ "$MAPDRV_ARCH" = x86_64 ] && echo x86 || echo arm64)" LLVM="$MAPDRV_LLVM" RUSTC="$MAPDRV_RUSTC" HOSTRUSTC="$MAPDRV_RUSTC"
		BINDGEN="$MAPDRV_BINDGEN" RUSTFMT="$MAPDRV_RUSTFMT" CLIPPY_DRIVER="$MAPDRV_CLIPPY")
}

# find_cargo: the cargo for the userspace tool: the one on PATH (rustup's,
# typically), else rustup's default location, else Debian's.
find_cargo() {
	local c
	for c in "$(command -v cargo || true)" "$HOME/.cargo/bin/cargo" /usr/bin/cargo; do
		if [ -n "$c" ] && [ -x "$c" ]; then
			echo "$c"
			return 0
		fi
	done
	die "no cargo found: the userspace tool needs a Rust toolchain (rustup, or Debian's cargo)."
}
