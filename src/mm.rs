// SPDX-License-Identifier: GPL-2.0

//! The reusable layer: the kernel's memory allocators behind safe Rust
//! types. Copy from here into your own driver.
//!
//! Read it side by side with upstream's `rust/kernel/page.rs`,
//! `rust/kernel/alloc/` and `rust/kernel/mm/virt.rs`; each file wraps the C
//! API it names and carries its KUnit suite at the bottom:
//!
//! - [`owned`]: the owner every byte-addressed allocation below is an
//!   instance of (pointer, size, how to free, what is known of the bytes);
//! - [`gfp`]: GFP masks and zones;
//! - [`pfn`]: pfns, `struct page` and the pfn / page / virtual conversions,
//!   for looking at pages without owning them;
//! - [`page`]: `alloc_pages()` / `__get_free_pages()` of any order,
//!   reserved pages, and the only pages that may be mapped to user space
//!   ([`page::UserPage`]);
//! - [`kmalloc`]: `kmalloc()` / `kzalloc()`;
//! - [`slab`]: typed `kmem_cache`s with constructors;
//! - [`mempool`]: `mempool_t` over slab, kmalloc, pages or a Rust backing;
//! - [`vmalloc`]: `vmalloc()` buffers, and `vmalloc_user()` buffers shared
//!   with user space;
//! - [`virt`]: a `vm_operations_struct` with a safe `.fault` handler.
//!
//! `helpers.c` (declared in [`helpers`]) holds the one-line C helpers for
//! the APIs that are macros or `static inline` functions. Nothing in this
//! tree names the driver or its diagnostics (`scripts/check` enforces it),
//! so the tree can be copied as it is, together with `src/miscdev.rs`.

pub(crate) mod gfp;
pub(crate) mod helpers;
pub(crate) mod kmalloc;
pub(crate) mod mempool;
pub(crate) mod owned;
pub(crate) mod page;
pub(crate) mod pfn;
pub(crate) mod slab;
pub(crate) mod virt;

mod tests;
pub(crate) mod vmalloc;
