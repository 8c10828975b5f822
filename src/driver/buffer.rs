// SPDX-License-Identifier: GPL-2.0

//! The buffer behind `/dev/mapdrv`, how `mmap` maps it, and its fault
//! handler (see the [driver documentation](super) for the contract).

use crate::abi;
use crate::mm::page::PAGE_SIZE;
use crate::mm::virt::{Fault, FaultError, VmFault, VmOperations, VmaInfo};
use crate::mm::vmalloc::SharedUserVmalloc;
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};

/// The largest `buffer_pages` accepted: 65536 pages, 256 MiB. vmalloc could
/// give more, but a demo buffer that size would only hide mistakes; loading
/// also fails if the buffer would exceed a quarter of RAM.
pub(crate) const MAX_BUFFER_PAGES: usize = 65536;

/// The most pages one fault may map in [`MapMode::FaultAround`]: a bound on
/// one fault's work, counted in pages whatever their size (one page
/// table's worth with 4 KiB pages, 2 MiB; a quarter of one with 16 KiB
/// pages, whose tables hold 2048 entries). `vm_insert_pages()` crosses
/// page tables as it needs to, so the bound is not the tables'.
pub(crate) const MAX_FAULT_AROUND_PAGES: usize = 512;

/// How `mmap` maps the buffer (module parameters `map_mode` and
/// `fault_around_pages`); see the module documentation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum MapMode {
    /// Nothing at `mmap`, one page per fault: the classic, the default.
    Fault,
    /// Each fault maps the aligned window of this many pages around it.
    FaultAround(usize),
    /// Everything at `mmap` (`remap_vmalloc_range()`), no faults.
    Eager,
}

impl MapMode {
    /// The mode for the module parameters, or `None` for an unknown mode
    /// or a `fault_around_pages` outside 1..=[`MAX_FAULT_AROUND_PAGES`]
    /// (checked whatever the mode). The crate root's parameter check says
    /// which, in one log line.
    pub(crate) fn from_params(mode: u8, fault_around_pages: usize) -> Option<Self> {
        if !(1..=MAX_FAULT_AROUND_PAGES).contains(&fault_around_pages) {
            return None;
        }
        match abi::MapMode::from_raw(mode.into())? {
            abi::MapMode::Fault => Some(MapMode::Fault),
            abi::MapMode::FaultAround => Some(MapMode::FaultAround(fault_around_pages)),
            abi::MapMode::Eager => Some(MapMode::Eager),
        }
    }

    /// The mode's [`abi::MapMode`], as [`MapdrvStats`](crate::abi::MapdrvStats)
    /// reports it.
    pub(crate) fn abi(self) -> abi::MapMode {
        match self {
            MapMode::Fault => abi::MapMode::Fault,
            MapMode::FaultAround(_) => abi::MapMode::FaultAround,
            MapMode::Eager => abi::MapMode::Eager,
        }
    }
}

/// The device's counters (`kernel::sync::atomic`, the kernel's memory
/// model); `Relaxed` is enough, they are statistics.
pub(super) struct Counters {
    pub(super) opens: Atomic<u64>,
    pub(super) open_files: Atomic<u64>,
    pub(super) mmaps: Atomic<u64>,
    pub(super) mmaps_refused: Atomic<u64>,
    pub(super) live_mappings: Atomic<u64>,
    pub(super) faults: Atomic<u64>,
    pub(super) fault_errors: Atomic<u64>,
    pub(super) pages_mapped: Atomic<u64>,
    pub(super) reads: Atomic<u64>,
    pub(super) writes: Atomic<u64>,
    pub(super) bytes_read: Atomic<u64>,
    pub(super) bytes_written: Atomic<u64>,
}

impl Counters {
    /// Every counter at zero.
    pub(super) const fn new() -> Self {
        Counters {
            opens: Atomic::new(0),
            open_files: Atomic::new(0),
            mmaps: Atomic::new(0),
            mmaps_refused: Atomic::new(0),
            live_mappings: Atomic::new(0),
            faults: Atomic::new(0),
            fault_errors: Atomic::new(0),
            pages_mapped: Atomic::new(0),
            reads: Atomic::new(0),
            writes: Atomic::new(0),
            bytes_read: Atomic::new(0),
            bytes_written: Atomic::new(0),
        }
    }
}

/// The shared buffer: owned by the device and by every VMA mapping it
/// (each holds an `Arc`).
///
/// The memory is a [`SharedUserVmalloc`]: reachable from user space
/// through mappings, so the kernel side only copies it to and from user
/// space, never through Rust references.
pub(super) struct Buffer {
    pub(super) mem: SharedUserVmalloc,
    pub(super) counters: Counters,
    pub(super) verbose: u8,
    pub(super) mode: MapMode,
}

impl Buffer {
    /// The buffer's size in bytes.
    pub(super) fn size(&self) -> usize {
        self.mem.size()
    }

    /// Maps the aligned window of `n` buffer pages around the fault,
    /// clipped to the VMA and the buffer, in one go. Kept out of line so
    /// that the classic path stays as small as the C reference's
    /// (`bench/mapdrv_cref.c`).
    #[inline(never)]
    fn fault_around<'f>(&'f self, vmf: &'f VmFault, n: usize) -> Result<Fault<'f>, FaultError> {
        let (index, addr) = (vmf.pgoff(), vmf.address());
        let vma = vmf.vma();
        // The buffer pages the VMA shows: `first..last`.
        let first = index - (addr - vma.start()) / PAGE_SIZE;
        let last = (index + (vma.end() - addr) / PAGE_SIZE).min(self.mem.page_count());
        let lo = (index - index % n).max(first);
        let hi = (index - index % n + n).min(last);
        let start = addr - (index - lo) * PAGE_SIZE;
        // `map_while`: should a lookup fail, the window ends there; no
        // later page moves up into its place.
        match vmf.map_pages(start, (lo..hi).map_while(|i| self.mem.page(i))) {
            Ok(mapped) => {
                self.counters
                    .pages_mapped
                    .fetch_add(mapped.inserted() as u64, Relaxed);
                Ok(Fault::Mapped(mapped))
            }
            Err(e) if e == ENOMEM => Err(FaultError::Oom),
            Err(e) => {
                // `EINVAL`: not reachable by construction (the VMA is
                // `VM_MIXEDMAP`, the window is inside it and covers the
                // fault); races are not errors (see `map_pages`).
                self.counters.fault_errors.fetch_add(1, Relaxed);
                pr_err!(
                    "fault-around: mapping pages {}..{} failed ({:?}): SIGBUS\n",
                    lo,
                    hi,
                    e
                );
                Err(FaultError::SigBus)
            }
        }
    }

    /// A fault at buffer page `index`, past the end: counted, logged,
    /// `SIGBUS`. (Unreachable by construction: `mmap` refuses ranges past
    /// the end and `VM_DONTEXPAND` forbids growing.)
    #[cold]
    fn outside(&self, index: usize) -> FaultError {
        self.counters.fault_errors.fetch_add(1, Relaxed);
        pr_warn!(
            "fault: page {} is outside the {}-page buffer: SIGBUS\n",
            index,
            self.mem.page_count()
        );
        FaultError::SigBus
    }

    /// The `verbose=2` line of a fault (out of line: off the fast path).
    #[cold]
    #[inline(never)]
    fn log_fault(&self, vmf: &VmFault, window: bool) {
        pr_info!(
            "fault: page {} of {} ({}) at user address {:#x}, served from the buffer's page array{}\n",
            vmf.pgoff(),
            self.mem.page_count(),
            if vmf.is_write() { "write" } else { "read" },
            vmf.address(),
            if window {
                " with its fault-around window"
            } else {
                ""
            }
        );
    }
}

impl VmOperations for Buffer {
    #[inline]
    fn fault<'f>(&'f self, vmf: &'f VmFault) -> Result<Fault<'f>, FaultError> {
        let index = vmf.pgoff();
        let fault = match self.mode {
            // The window's own lookups find the faulting page too.
            MapMode::FaultAround(n) if index < self.mem.page_count() => {
                self.counters.faults.fetch_add(1, Relaxed);
                self.fault_around(vmf, n)?
            }
            _ => {
                let Some(page) = self.mem.page(index) else {
                    return Err(self.outside(index));
                };
                self.counters.faults.fetch_add(1, Relaxed);
                // Eager mappings have every page mapped: a fault can only
                // come after something zapped entries (e.g.
                // `madvise(MADV_DONTNEED)`); serve it the classic way.
                if self.mode == MapMode::Eager {
                    self.counters.pages_mapped.fetch_add(1, Relaxed);
                }
                Fault::Page(page)
            }
        };
        if self.verbose >= 2 {
            self.log_fault(vmf, matches!(fault, Fault::Mapped(_)));
        }
        Ok(fault)
    }

    fn open(&self, _vma: &VmaInfo) {
        self.counters.live_mappings.fetch_add(1, Relaxed);
    }

    fn close(&self, vma: &VmaInfo) {
        self.counters.live_mappings.fetch_sub(1, Relaxed);
        if self.verbose >= 1 {
            pr_info!(
                "unmap: {} pages of the buffer (from page {}) unmapped, {} mappings left\n",
                (vma.end() - vma.start()) / PAGE_SIZE,
                vma.pgoff(),
                self.counters.live_mappings.load(Relaxed)
            );
        }
    }
}
