// SPDX-License-Identifier: GPL-2.0

//! `/dev/mapdrv`: a vmalloc buffer mapped into user space one page per fault.
//!
//! C API: a misc device ([`crate::miscdev`]) whose `mmap` installs VMA
//! operations ([`crate::vma`]) whose `.fault` returns `vmalloc_to_page()` of
//! the faulting offset: the classic mapdrv example of lazily mapping a
//! vmalloc buffer, one page per fault.
//!
//! A vmalloc buffer is not physically contiguous (or not promised to be), so
//! it cannot be mapped with one `remap_pfn_range()`. Instead `mmap` maps
//! nothing: it checks the request, marks the VMA and installs the fault
//! handler. Each first touch of a page faults; the handler finds the page
//! behind that offset and hands it (with a reference) to the core, which
//! fills in the one page table entry. Page tables are built lazily, page by
//! page, and every mapping — in any process, at any offset, after `fork` —
//! aliases the same kernel pages.
//!
//! # Contract
//!
//! - One buffer of `buffer_pages` pages (default 10, the classic MAPLEN;
//!   1..=[`MAX_BUFFER_PAGES`], and at most a quarter of RAM), shared by every
//!   opener; it starts as `"ok\0"` followed by zeros.
//! - `mmap`: `MAP_SHARED`, read and/or write, any page offset whose range is
//!   inside the buffer; a range past the end is `EINVAL`; `PROT_EXEC` is
//!   `EINVAL` and `VM_MAYEXEC` is cleared (a later `mprotect(PROT_EXEC)` is
//!   `EACCES`); `MAP_PRIVATE` only read-only (writable is `EINVAL`;
//!   `VM_MAYWRITE` is cleared, so `mprotect(PROT_WRITE)` is `EACCES`);
//!   `VM_DONTEXPAND`, so growing with `mremap` fails.
//! - `read`/`write`/`lseek` on the same bytes: reads at or past the end
//!   return 0, writes there fail with `ENOSPC`; crossing the end is short.
//! - The module is pinned while a file is open or a mapping exists
//!   (`.owner`, see [`crate::miscdev`]).
//! - `MAPDRV_IOC_GET_STATS` ([`crate::abi`]) reports the counters.
//!
//! Log: `verbose=1` (default) logs open, mmap, unmap and close, one line
//! each; `verbose=2` adds one line per fault; `verbose=0` only load/unload.
//!
//! # Map modes
//!
//! The contract's default, `map_mode=0` ([`MapMode::Fault`]), is the
//! classic above: one fault per page. Two opt-in modes exist to measure
//! the classic design against (`maptest bench-fault`); the contract is
//! otherwise the same:
//!
//! - `map_mode=1` ([`MapMode::FaultAround`]): each fault maps the aligned
//!   window of `fault_around_pages` pages around the faulting page (clipped
//!   to the VMA and the buffer) with one `vm_insert_pages()` call
//!   ([`VmFault::map_pages`]): one fault per window instead of per page.
//!   The kernel's own fault-around (`.map_pages`, `fault_around_bytes`)
//!   only serves read faults of page-cache files, so a driver batches
//!   itself. The VMA is `VM_MIXEDMAP`.
//! - `map_mode=2` ([`MapMode::Eager`]): `mmap` maps the whole range at once
//!   with `remap_vmalloc_range()` ([`SharedUserVmalloc::map_to_user`]); there are
//!   no faults. Fast to touch, but `mmap` pays for pages that may never be
//!   used, and every mapping holds page-table memory for all of them.
//!
//! `fault_around_pages` is validated (1..=[`MAX_FAULT_AROUND_PAGES`]) in
//! every mode, so a typo never waits for the day someone sets `map_mode=1`.
//!
//! # Ioctls
//!
//! `MAPDRV_IOC_GET_STATS` is for every opener. `MAPDRV_IOC_EXERCISE` and
//! `MAPDRV_IOC_BENCH` run up to [`crate::abi::MAX_EXERCISE_CYCLES`] /
//! [`crate::abi::MAX_BENCH_ITERATIONS`] allocations in the kernel: they
//! need `CAP_SYS_ADMIN` (`EPERM` otherwise), yield with `cond_resched()`
//! and stop with `EINTR` on a pending signal.

use crate::abi::{
    map_mode, MapdrvBench, MapdrvExercise, MapdrvStats, MAPDRV_ABI_VERSION, MAPDRV_IOC_BENCH,
    MAPDRV_IOC_EXERCISE, MAPDRV_IOC_GET_STATS, MAPDRV_IOC_GET_STATS_V1, MAPDRV_STATS_V1_SIZE,
};
use crate::miscdev::MiscDevice;
use crate::pages::{self, PAGE_SIZE};
use crate::vma::{self, Fault, FaultError, VmFault, VmOperations};
use crate::vmalloc::{SharedUserVmalloc, UserVmalloc};
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use kernel::bindings;
use kernel::fs::{File, LocalFile};
use kernel::mm::virt::{VmaNew, VmaRef};
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::transmute::{AsBytes, FromBytes};
use kernel::uaccess::{UserPtr, UserSlice};

/// The largest `buffer_pages` accepted: 65536 pages, 256 MiB. vmalloc could
/// give more, but a demo buffer that size would only hide mistakes; loading
/// also fails if the buffer would exceed a quarter of RAM.
pub const MAX_BUFFER_PAGES: usize = 65536;

// SAFETY: `MapdrvStats` is `repr(C)` with only `u32`/`u64` fields and no padding.
unsafe impl AsBytes for MapdrvStats {}
// SAFETY: `repr(C)`, only `u32`/`u64` fields, no padding: any bytes are valid.
unsafe impl FromBytes for MapdrvExercise {}
// SAFETY: as above, and no padding to leak.
unsafe impl AsBytes for MapdrvExercise {}
// SAFETY: `repr(C)`, only `u32`/`u64` fields, no padding: any bytes are valid.
unsafe impl FromBytes for MapdrvBench {}
// SAFETY: as above, and no padding to leak.
unsafe impl AsBytes for MapdrvBench {}

/// The most pages one fault may map in [`MapMode::FaultAround`] (2 MiB,
/// one page table's worth).
pub const MAX_FAULT_AROUND_PAGES: usize = 512;

/// How `mmap` maps the buffer (module parameters `map_mode` and
/// `fault_around_pages`); see the module documentation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MapMode {
    /// Nothing at `mmap`, one page per fault: the classic, the default.
    Fault,
    /// Each fault maps the aligned window of this many pages around it.
    FaultAround(usize),
    /// Everything at `mmap` (`remap_vmalloc_range()`), no faults.
    Eager,
}

impl MapMode {
    /// The mode for the module parameters, or `EINVAL` (with one log
    /// line). `fault_around_pages` is checked whatever the mode.
    pub fn from_params(mode: u8, fault_around_pages: usize) -> Result<Self> {
        if !(1..=MAX_FAULT_AROUND_PAGES).contains(&fault_around_pages) {
            pr_err!(
                "fault_around_pages={} is out of range: it must be 1..={}\n",
                fault_around_pages,
                MAX_FAULT_AROUND_PAGES
            );
            return Err(EINVAL);
        }
        match u32::from(mode) {
            map_mode::FAULT => Ok(MapMode::Fault),
            map_mode::EAGER => Ok(MapMode::Eager),
            map_mode::FAULT_AROUND => Ok(MapMode::FaultAround(fault_around_pages)),
            _ => {
                pr_err!(
                    "map_mode={} is unknown: 0 (one page per fault), 1 (fault-around) or 2 (eager)\n",
                    mode
                );
                Err(EINVAL)
            }
        }
    }

    /// The `map_mode` number, as in [`crate::abi::map_mode`].
    pub fn number(self) -> u32 {
        match self {
            MapMode::Fault => map_mode::FAULT,
            MapMode::FaultAround(_) => map_mode::FAULT_AROUND,
            MapMode::Eager => map_mode::EAGER,
        }
    }
}

/// The device's counters; `Relaxed` is enough, they are statistics.
#[derive(Default)]
struct Counters {
    opens: AtomicU64,
    open_files: AtomicU64,
    mmaps: AtomicU64,
    mmaps_refused: AtomicU64,
    live_mappings: AtomicU64,
    faults: AtomicU64,
    fault_errors: AtomicU64,
    pages_mapped: AtomicU64,
    reads: AtomicU64,
    writes: AtomicU64,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
}

/// The shared buffer: owned by the device and by every VMA mapping it
/// (each holds an `Arc`).
///
/// The memory is a [`SharedUserVmalloc`]: reachable from user space
/// through mappings, so the kernel side only copies it to and from user
/// space, never through Rust references.
pub struct Buffer {
    mem: SharedUserVmalloc,
    counters: Counters,
    verbose: u8,
    mode: MapMode,
}

impl Buffer {
    fn size(&self) -> usize {
        self.mem.size()
    }
}

impl Buffer {
    /// Maps the aligned window of `n` buffer pages around the fault,
    /// clipped to the VMA and the buffer, in one go. Kept out of line so
    /// that the classic path stays as small as its C original.
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
            "fault: page {} of {} ({}) at user address {:#x}, served by vmalloc_to_page{}\n",
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

    fn open(&self, _vma: &VmaRef) {
        self.counters.live_mappings.fetch_add(1, Relaxed);
    }

    fn close(&self, vma: &VmaRef) {
        self.counters.live_mappings.fetch_sub(1, Relaxed);
        if self.verbose >= 1 {
            pr_info!(
                "unmap: {} pages of the buffer unmapped, {} mappings left\n",
                (vma.end() - vma.start()) / PAGE_SIZE,
                self.counters.live_mappings.load(Relaxed)
            );
        }
    }
}

/// The misc device's state.
pub struct MapdrvDevice {
    buffer: Arc<Buffer>,
    exercise: crate::exercise::Caches,
}

impl MapdrvDevice {
    /// Allocates the `pages`-page buffer and writes `"ok"` into it.
    /// `EINVAL` (with one log line) for a size outside the documented bound.
    pub fn new(pages: usize, verbose: u8, mode: MapMode) -> Result<Arc<Self>> {
        let ram_quarter = pages::totalram_pages() / 4;
        if pages == 0 || pages > MAX_BUFFER_PAGES || pages > ram_quarter {
            pr_err!(
                "buffer_pages={} is out of range: it must be 1..={} and at most a quarter of RAM ({} pages)\n",
                pages,
                MAX_BUFFER_PAGES,
                ram_quarter
            );
            return Err(EINVAL);
        }
        // `vmalloc_user()`: zeroed (nothing of the kernel's leaks to user
        // space) and `VM_USERMAP`, which the eager mode needs.
        let mut mem = UserVmalloc::zalloc(pages * PAGE_SIZE)?;
        // Not shared yet: plain Rust access is fine here.
        mem.as_mut_slice()[..3].copy_from_slice(b"ok\0");
        let buffer = Arc::new(
            Buffer {
                mem: mem.share(),
                counters: Counters::default(),
                verbose,
                mode,
            },
            GFP_KERNEL,
        )?;
        Ok(Arc::new(
            MapdrvDevice {
                buffer,
                exercise: crate::exercise::Caches::new()?,
            },
            GFP_KERNEL,
        )?)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> MapdrvStats {
        let c = &self.buffer.counters;
        MapdrvStats {
            version: MAPDRV_ABI_VERSION,
            size: core::mem::size_of::<MapdrvStats>() as u32,
            buffer_size: self.buffer.size() as u64,
            buffer_pages: self.buffer.mem.page_count() as u64,
            opens: c.opens.load(Relaxed),
            open_files: c.open_files.load(Relaxed),
            mmaps: c.mmaps.load(Relaxed),
            mmaps_refused: c.mmaps_refused.load(Relaxed),
            live_mappings: c.live_mappings.load(Relaxed),
            faults: c.faults.load(Relaxed),
            fault_errors: c.fault_errors.load(Relaxed),
            reads: c.reads.load(Relaxed),
            writes: c.writes.load(Relaxed),
            bytes_read: c.bytes_read.load(Relaxed),
            bytes_written: c.bytes_written.load(Relaxed),
            map_mode: self.buffer.mode.number(),
            fault_around_pages: match self.buffer.mode {
                MapMode::FaultAround(n) => n as u32,
                _ => 0,
            },
            // The classic path maps one page per fault and does not count
            // twice (one atomic per fault, as bench/mapdrv_cref.c).
            pages_mapped: match self.buffer.mode {
                MapMode::Fault => c.faults.load(Relaxed),
                _ => c.pages_mapped.load(Relaxed),
            },
        }
    }

    /// `pos` as a buffer offset, or `None` when it is at or past the end
    /// (or negative).
    fn offset(&self, pos: i64) -> Option<usize> {
        usize::try_from(pos)
            .ok()
            .filter(|&p| p < self.buffer.size())
    }

    fn refuse(&self, why: &str) -> Result {
        self.buffer.counters.mmaps_refused.fetch_add(1, Relaxed);
        if self.buffer.verbose >= 1 {
            pr_info!("mmap refused: {}\n", why);
        }
        Err(EINVAL)
    }
}

#[vtable]
impl MiscDevice for MapdrvDevice {
    fn open(&self, file: &File) -> Result {
        let c = &self.buffer.counters;
        c.opens.fetch_add(1, Relaxed);
        let now = c.open_files.fetch_add(1, Relaxed) + 1;
        if self.buffer.verbose >= 1 {
            let mode = match file.flags() & bindings::O_ACCMODE {
                bindings::O_RDONLY => "read-only",
                bindings::O_WRONLY => "write-only",
                _ => "read-write",
            };
            pr_info!("open: {} ({} files open)\n", mode, now);
        }
        Ok(())
    }

    fn release(&self) {
        let left = self.buffer.counters.open_files.fetch_sub(1, Relaxed) - 1;
        if self.buffer.verbose >= 1 {
            pr_info!(
                "close: {} files open, {} mappings alive\n",
                left,
                self.buffer.counters.live_mappings.load(Relaxed)
            );
        }
    }

    fn read(&self, _file: &LocalFile, buf: UserPtr, len: usize, pos: &mut i64) -> Result<usize> {
        if len == 0 {
            return Ok(0);
        }
        let Some(start) = self.offset(*pos) else {
            return Ok(0);
        };
        let done = self.buffer.mem.copy_to_user(start, buf, len)?;
        *pos += done as i64;
        self.buffer.counters.reads.fetch_add(1, Relaxed);
        self.buffer
            .counters
            .bytes_read
            .fetch_add(done as u64, Relaxed);
        Ok(done)
    }

    fn write(&self, _file: &LocalFile, buf: UserPtr, len: usize, pos: &mut i64) -> Result<usize> {
        if len == 0 {
            return Ok(0);
        }
        let Some(start) = self.offset(*pos) else {
            return Err(ENOSPC);
        };
        let done = self.buffer.mem.copy_from_user(start, buf, len)?;
        *pos += done as i64;
        self.buffer.counters.writes.fetch_add(1, Relaxed);
        self.buffer
            .counters
            .bytes_written
            .fetch_add(done as u64, Relaxed);
        Ok(done)
    }

    fn llseek(&self, file: &LocalFile, offset: i64, whence: i32) -> Result<i64> {
        // SAFETY: `file` is valid for the call; `fixed_size_llseek()`
        // updates `f_pos` under the file's own rules.
        let r = unsafe {
            bindings::fixed_size_llseek(file.as_ptr(), offset, whence, self.buffer.size() as i64)
        };
        if r < 0 {
            Err(Error::from_errno(r as i32))
        } else {
            Ok(r)
        }
    }

    fn mmap(&self, _file: &File, vma: &VmaNew) -> Result {
        let len = vma.end() - vma.start();
        // SAFETY: the VMA is in initial setup: nobody else accesses it.
        let pgoff = unsafe { (*vma.as_ptr()).vm_pgoff };
        let shared = vma.flags() & bindings::VM_SHARED != 0;
        if vma.executable() {
            return self.refuse("PROT_EXEC is not allowed");
        }
        let end = pgoff
            .checked_mul(PAGE_SIZE)
            .and_then(|off| off.checked_add(len));
        if end.is_none_or(|end| end > self.buffer.size()) {
            return self.refuse("the range runs past the end of the buffer");
        }
        if !shared && vma.writable() {
            return self
                .refuse("a writable MAP_PRIVATE mapping would copy-on-write away from the buffer");
        }
        // Make the refusals stick: no later mprotect(PROT_EXEC), and no
        // mprotect(PROT_WRITE) on a private mapping (both then fail EACCES).
        vma.try_clear_mayexec()?;
        if !shared {
            vma.try_clear_maywrite()?;
        }
        // Growing with mremap would reach past the buffer.
        vma.set_dontexpand();
        match self.buffer.mode {
            MapMode::Fault => {}
            // `vm_insert_pages()` from the fault handler needs it.
            MapMode::FaultAround(_) => {
                vma.set_mixedmap();
            }
            MapMode::Eager => {
                self.buffer.mem.map_to_user(vma, pgoff)?;
                self.buffer
                    .counters
                    .pages_mapped
                    .fetch_add((len / PAGE_SIZE) as u64, Relaxed);
            }
        }
        let c = &self.buffer.counters;
        c.mmaps.fetch_add(1, Relaxed);
        let live = c.live_mappings.fetch_add(1, Relaxed) + 1;
        if self.buffer.verbose >= 1 {
            pr_info!(
                "mmap: pages {}..{} of {}, {} {}, {} ({} mappings)\n",
                pgoff,
                pgoff + len / PAGE_SIZE,
                self.buffer.mem.page_count(),
                if shared { "MAP_SHARED" } else { "MAP_PRIVATE" },
                if vma.writable() {
                    "read-write"
                } else {
                    "read-only"
                },
                match self.buffer.mode {
                    MapMode::Fault => "nothing mapped yet",
                    MapMode::FaultAround(_) => "nothing mapped yet, fault-around",
                    MapMode::Eager => "all pages mapped now (eager)",
                },
                live
            );
        }
        vma::install(vma, self.buffer.clone());
        Ok(())
    }

    fn ioctl(&self, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        match cmd {
            MAPDRV_IOC_GET_STATS | MAPDRV_IOC_GET_STATS_V1 => {
                let mut stats = self.stats();
                // A version 1 caller gets the prefix it knows, labelled as
                // what it is: version 1, `size` the bytes copied.
                let len = if cmd == MAPDRV_IOC_GET_STATS_V1 {
                    stats.version = 1;
                    stats.size = MAPDRV_STATS_V1_SIZE as u32;
                    MAPDRV_STATS_V1_SIZE
                } else {
                    core::mem::size_of::<MapdrvStats>()
                };
                let mut out = UserSlice::new(UserPtr::from_addr(arg), len).writer();
                out.write_slice(&stats.as_bytes()[..len])?;
                Ok(0)
            }
            MAPDRV_IOC_EXERCISE => {
                require_sys_admin()?;
                let len = core::mem::size_of::<MapdrvExercise>();
                let (mut input, mut output) =
                    UserSlice::new(UserPtr::from_addr(arg), len).reader_writer();
                let mut req: MapdrvExercise = input.read()?;
                req.ok = 0;
                req.enomem = 0;
                req.other = 0;
                req.reserve_served = 0;
                crate::exercise::run(&self.exercise, &mut req)?;
                output.write(&req)?;
                Ok(0)
            }
            MAPDRV_IOC_BENCH => {
                require_sys_admin()?;
                let len = core::mem::size_of::<MapdrvBench>();
                let (mut input, mut output) =
                    UserSlice::new(UserPtr::from_addr(arg), len).reader_writer();
                let mut req: MapdrvBench = input.read()?;
                let fx = self.exercise.bench_fixtures();
                req.ns = crate::bench::run(&fx, req.case, req.raw, req.iterations)?;
                output.write(&req)?;
                Ok(0)
            }
            _ => Err(ENOTTY),
        }
    }
}

/// `EPERM` unless the caller has `CAP_SYS_ADMIN`: the exercise and benchmark
/// ioctls spend up to seconds of kernel time allocating memory.
fn require_sys_admin() -> Result {
    // SAFETY: `capable()` checks the current task's credentials; any
    // process context may call it.
    if unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as i32) } {
        Ok(())
    } else {
        Err(EPERM)
    }
}
