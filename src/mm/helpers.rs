// SPDX-License-Identifier: GPL-2.0

//! The C helpers in `src/mm/helpers.c`, declared in `src/mm/helpers.h`.
//!
//! Each wraps one kernel macro or `static inline` function that bindgen
//! cannot expose. The safety contract of each is the contract of the C API
//! it calls; the safe wrappers in the family modules uphold them.

/// The declarations bindgen generated from `helpers.h` (see `Kbuild`):
/// `extern "C"` functions named as in C, with the header's comments as
/// their docs. Only the functions: every type is the kernel's
/// (`--blocklist-type '.*'`), so `struct page *` is `*mut bindings::page`.
#[allow(
    unreachable_pub,        // bindgen writes `pub`; re-exported as `pub(crate)` below.
    improper_ctypes,        // `struct page` holds a bindgen helper type C never sees by value.
    clippy::missing_safety_doc,
    clippy::doc_markdown
)]
mod generated {
    use kernel::bindings::*;
    use kernel::ffi;
    include!(concat!(env!("MAPDRV_GENERATED"), "/helpers_generated.rs"));
}

pub(crate) use generated::*;

/// `PAGE_OFFSET`: where the direct map starts (randomised by KASLR).
pub(crate) fn page_offset() -> usize {
    // SAFETY: reads a boot-time constant.
    unsafe { mapdrv_page_offset() as usize }
}
