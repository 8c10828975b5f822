// SPDX-License-Identifier: GPL-2.0

//! mapdrv: the kernel's memory allocators behind safe Rust abstractions.
//!
//! The source tree has three floors, each using only the ones above it:
//!
//! - [`mm`] (`src/mm/`) and [`miscdev`]: the reusable layer, safe wrappers
//!   of the kernel's allocators, of VMA fault handling and of misc devices;
//!   it knows nothing of mapdrv and is the part to copy;
//! - [`diag`] (`src/diag/`): the allocation report logged at load, and the
//!   allocation cycles and microbenchmarks the tests run through ioctls;
//! - [`driver`] (`src/driver/`): `/dev/mapdrv`, a vmalloc buffer mapped
//!   into user space one page per fault, whose ioctls run the diagnostics.
//!
//! [`abi`], beside them, is the user-space interface, one file shared with the `maptest`
//! tool. This crate root holds only the module declaration, the module
//! state and its init/exit, like `samples/rust/rust_misc_device.rs`.

use kernel::prelude::*;

// The user-space ABI is this module's public interface: the tool compiles
// the same file. Everything else is private to the crate.
pub mod abi;
mod diag;
mod driver;
mod miscdev;
mod mm;

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
        buffer_pages: usize {
            default: 10,
            description: "Pages in /dev/mapdrv's vmalloc buffer (1..=65536, at most a quarter of RAM)",
        },
        verbose: u8 {
            default: 1,
            description: "Device log: 0 load/unload only, 1 also open/mmap/unmap/close, 2 also every fault",
        },
        map_mode: u8 {
            default: 0,
            description: "How mmap maps the buffer: 0 one page per fault (the classic), 1 fault-around, 2 eager (remap_vmalloc_range)",
        },
        fault_around_pages: usize {
            default: 16,
            description: "Pages mapped per fault when map_mode=1 (1..=512, checked in every mode)",
        },
    },
}

/// A module parameter's value. `ModuleParamAccess::value()` returns `&T` in
/// Linux 7.2 and `T` in 7.3; both are `Borrow<T>`, so one line reads either.
fn param<T: Copy>(value: impl core::borrow::Borrow<T>) -> T {
    *value.borrow()
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
///
/// Public because Linux 7.3's `#[vtable]` names it: every vtable impl gets
/// `type OwnerModule = crate::LocalModule`, i.e. this type.
#[pin_data(PinnedDrop)]
pub struct Mapdrv {
    /// `/dev/mapdrv`. Deregistered first on unload (fields drop in order).
    #[pin]
    device: miscdev::MiscRegistration<driver::MapdrvDevice>,
    /// The module's slab cache; destroyed (and gone from `/proc/slabinfo`)
    /// when the module unloads.
    _objects: mm::slab::KmemCache<ProbeRecord>,
}

/// The module parameters, read once and validated in one step before
/// anything is allocated: a bad value fails the load with `EINVAL` and one
/// log line that names it and its bounds.
struct Params {
    report: u8,
    show_addresses: u8,
    buffer_pages: usize,
    verbose: u8,
    /// As given (for the load's log line); `mode` is what it means.
    map_mode: u8,
    mode: driver::MapMode,
}

impl Params {
    fn read() -> Result<Self> {
        let report: u8 = param(module_parameters::report.value());
        let show_addresses: u8 = param(module_parameters::show_addresses.value());
        let buffer_pages: usize = param(module_parameters::buffer_pages.value());
        let verbose: u8 = param(module_parameters::verbose.value());
        let map_mode: u8 = param(module_parameters::map_mode.value());
        let fault_around_pages: usize = param(module_parameters::fault_around_pages.value());
        if report > 1 || show_addresses > 1 || verbose > 2 {
            pr_err!(
                "invalid parameters report={} show_addresses={} verbose={}: report and show_addresses are 0 or 1, verbose 0..=2\n",
                report,
                show_addresses,
                verbose
            );
            return Err(EINVAL);
        }
        if !(1..=driver::MAX_FAULT_AROUND_PAGES).contains(&fault_around_pages) {
            pr_err!(
                "fault_around_pages={} is out of range: it must be 1..={}\n",
                fault_around_pages,
                driver::MAX_FAULT_AROUND_PAGES
            );
            return Err(EINVAL);
        }
        let Some(mode) = driver::MapMode::from_params(map_mode, fault_around_pages) else {
            pr_err!(
                "map_mode={} is unknown: 0 (one page per fault), 1 (fault-around) or 2 (eager)\n",
                map_mode
            );
            return Err(EINVAL);
        };
        let most = driver::max_buffer_pages();
        if buffer_pages == 0 || buffer_pages > most {
            pr_err!(
                "buffer_pages={} is out of range: it must be 1..={} and at most a quarter of RAM ({} pages)\n",
                buffer_pages,
                driver::MAX_BUFFER_PAGES,
                most
            );
            return Err(EINVAL);
        }
        Ok(Params {
            report,
            show_addresses,
            buffer_pages,
            verbose,
            map_mode,
            mode,
        })
    }
}

impl kernel::InPlaceModule for Mapdrv {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        // The parameters first, then the state built from them.
        pin_init::pin_init_scope(move || {
            let p = Params::read()?;
            Ok(try_pin_init!(Self {
                _objects: {
                    let objects = mm::slab::KmemCache::new(c"mapdrv_object", mm::slab::SlabFlags::NONE)?;
                    if p.report == 1 {
                        let sample = ProbeRecord {
                            api: "kmem_cache_alloc",
                            size: core::mem::size_of::<ProbeRecord>(),
                        };
                        diag::report::run(&objects, sample, p.show_addresses == 1);
                    }
                    objects
                },
                // SAFETY: the registration is a field of the module's state,
                // which module exit drops (deregistering it) before the module
                // text goes; nothing else holds or leaks it.
                device <- unsafe {
                    miscdev::MiscRegistration::register(
                        c"mapdrv",
                        driver::MapdrvDevice::new(p.buffer_pages, p.verbose, p.mode)?,
                    )
                },
            })
            .pin_chain(move |_| {
                pr_info!(
                    "loaded: /dev/mapdrv with a {}-page vmalloc buffer reading \"ok\" (report={}, show_addresses={}, verbose={}, map_mode={})\n",
                    p.buffer_pages,
                    p.report,
                    p.show_addresses,
                    p.verbose,
                    p.map_mode
                );
                Ok(())
            }))
        })
    }
}

#[pinned_drop]
impl PinnedDrop for Mapdrv {
    fn drop(self: Pin<&mut Self>) {
        pr_info!("unloaded: /dev/mapdrv removed, buffer and slab cache freed\n");
    }
}
