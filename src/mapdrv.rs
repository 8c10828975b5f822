// SPDX-License-Identifier: GPL-2.0

//! mapdrv: the kernel's memory allocators behind safe Rust abstractions.
//!
//! One file per allocator family, each wrapping the C API it names and
//! carrying its KUnit suite at the bottom:
//!
//! - [`gfp`]: GFP masks and zones;
//! - [`pages`]: `alloc_pages()` / `__get_free_pages()` of any order, pfn /
//!   page / virtual conversions, reserved pages;
//! - [`kmalloc`]: `kmalloc()` / `kzalloc()`;
//! - [`slab`]: typed `kmem_cache`s with constructors;
//! - [`mempool`]: `mempool_t` over slab, kmalloc, pages or a Rust backing;
//! - [`vmalloc`]: `vmalloc()` buffers and their scattered pages;
//! - [`report`]: what each of them really returned, logged at load.
//!
//! `src/helpers.c` holds the one-line C helpers for the APIs that are macros
//! or `static inline` functions.
//!
//! The crate root holds only the module declaration, the module state and
//! its init/exit, like `samples/rust/rust_misc_device.rs`.

use kernel::prelude::*;

pub mod gfp;
mod helpers;
pub mod kmalloc;
pub mod mempool;
pub mod pages;
pub mod report;
pub mod slab;
pub mod vmalloc;

module! {
    type: Mapdrv,
    name: "mapdrv",
    authors: ["mapdrv developers"],
    description: "Kernel memory allocators in safe Rust, and a vmalloc buffer mapped page by page",
    license: "GPL",
    params: {
        report: u8 {
            default: 1,
            description: "Log the allocation report at load (0: off, 1: on)",
        },
        show_addresses: u8 {
            default: 0,
            description: "Print raw kernel virtual and physical addresses in the report (defeats KASLR; demo only)",
        },
    },
}

/// An object of the module's own slab cache: a record of one allocation
/// probe. The cache shows up as `mapdrv_object` in `/proc/slabinfo` for as
/// long as the module is loaded.
pub struct ProbeRecord {
    /// What was probed.
    pub api: &'static str,
    /// Bytes requested.
    pub size: usize,
}

/// The module's state, alive from a successful `init` until unload.
struct Mapdrv {
    /// The module's slab cache; destroyed (and gone from `/proc/slabinfo`)
    /// when the module unloads.
    _objects: slab::KmemCache<ProbeRecord>,
}

impl kernel::Module for Mapdrv {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let report = *module_parameters::report.value();
        let show_addresses = *module_parameters::show_addresses.value();
        if report > 1 || show_addresses > 1 {
            pr_err!(
                "invalid parameters report={} show_addresses={}: each must be 0 or 1\n",
                report,
                show_addresses
            );
            return Err(EINVAL);
        }
        let objects = slab::KmemCache::new(c"mapdrv_object", slab::SlabFlags::NO_MERGE)?;
        pr_info!(
            "loaded (report={}, show_addresses={}); slab cache mapdrv_object ready\n",
            report,
            show_addresses
        );
        if report == 1 {
            let sample = ProbeRecord {
                api: "kmem_cache_alloc",
                size: core::mem::size_of::<ProbeRecord>(),
            };
            report::run(&objects, sample, show_addresses == 1);
        }
        Ok(Mapdrv { _objects: objects })
    }
}

impl Drop for Mapdrv {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
