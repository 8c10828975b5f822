// SPDX-License-Identifier: GPL-2.0

//! mapdrv: the kernel's memory allocators behind safe Rust abstractions.
//!
//! The crate root holds only the module declaration, the module state and
//! its init/exit, like `samples/rust/rust_misc_device.rs`. Each allocator
//! family lives in its own file, with its KUnit suite at the bottom.

use kernel::prelude::*;

pub mod gfp;
mod helpers;
pub mod kmalloc;
pub mod mempool;
pub mod pages;
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

/// The module's state, alive from a successful `init` until unload.
struct Mapdrv;

impl kernel::Module for Mapdrv {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!(
            "loaded (report={}, show_addresses={})\n",
            *module_parameters::report.value(),
            *module_parameters::show_addresses.value()
        );
        Ok(Mapdrv)
    }
}

impl Drop for Mapdrv {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
