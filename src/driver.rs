// SPDX-License-Identifier: GPL-2.0

//! The driver: `/dev/mapdrv`, a vmalloc buffer mapped into user space one
//! page per fault.
//!
//! C API: a misc device ([`crate::miscdev`]) whose `mmap` installs VMA
//! operations ([`crate::mm::virt`]) whose `.fault` returns `vmalloc_to_page()` of
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
//!   `VM_DONTEXPAND`, so growing with `mremap` fails (`EFAULT`), and
//!   `VM_DONTDUMP`: the buffer is the device's, no core dump takes it.
//!   Every other mm operation a process can apply (madvise, fork, mremap,
//!   splits, GUP) works on the same pages: see the README's contract table
//!   and `maptest mm`.
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
//!
//! # Files
//!
//! - [`buffer`]: the shared buffer, its map modes and its fault handler;
//! - [`device`]: the misc device's file operations (`open`, `read`,
//!   `write`, `llseek`, `mmap`);
//! - [`ioctl`]: the ioctls of [`crate::abi`].
//!
//! Everything here is built on the reusable layer ([`crate::mm`],
//! [`crate::miscdev`]); nothing there knows this driver.

mod buffer;
mod device;
mod ioctl;

pub(crate) use buffer::{MapMode, MAX_BUFFER_PAGES, MAX_FAULT_AROUND_PAGES};
pub(crate) use device::{max_buffer_pages, MapdrvDevice};
