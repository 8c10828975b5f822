// SPDX-License-Identifier: GPL-2.0

//! `/dev/mapdrv`'s file operations: `open`, `read`, `write`, `llseek` and
//! `mmap` over the shared [`Buffer`]; the ioctls are in [`super::ioctl`].

use super::buffer::{Buffer, Counters, MapMode, MAX_BUFFER_PAGES};
use crate::abi::{MapdrvPageCounts, MapdrvStats, MAPDRV_ABI_VERSION};
use crate::miscdev::MiscDevice;
use crate::mm::page::PAGE_SIZE;
use crate::mm::pfn;
use crate::mm::virt;
use crate::mm::vmalloc::UserVmalloc;
use kernel::bindings;
use kernel::fs::{file::flags, File, LocalFile};
use kernel::mm::virt::{VmaMixedMap, VmaNew};
use kernel::prelude::*;
use kernel::sync::atomic::Relaxed;
use kernel::sync::Arc;
use kernel::uaccess::UserPtr;

/// The largest buffer this machine takes: [`MAX_BUFFER_PAGES`], and at
/// most a quarter of RAM.
pub(crate) fn max_buffer_pages() -> usize {
    MAX_BUFFER_PAGES.min(pfn::totalram_pages() / 4)
}

/// The misc device's state.
pub(crate) struct MapdrvDevice {
    pub(super) buffer: Arc<Buffer>,
    pub(super) exercise: crate::diag::fixtures::Caches,
}

impl MapdrvDevice {
    /// Allocates the `pages`-page buffer and writes `"ok"` into it.
    /// `EINVAL` for a size outside 1..=[`max_buffer_pages()`] (the crate
    /// root's parameter check logs why first).
    pub(crate) fn new(pages: usize, verbose: u8, mode: MapMode) -> Result<Arc<Self>> {
        if pages == 0 || pages > max_buffer_pages() {
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
                counters: Counters::new(),
                verbose,
                mode,
            },
            GFP_KERNEL,
        )?;
        Ok(Arc::new(
            MapdrvDevice {
                buffer,
                exercise: crate::diag::fixtures::Caches::new()?,
            },
            GFP_KERNEL,
        )?)
    }

    /// The buffer pages' reference counts now (`MAPDRV_IOC_PAGE_COUNTS`):
    /// one pass over the page array, `page_count()` of each.
    pub(super) fn page_counts(&self) -> MapdrvPageCounts {
        let mem = &self.buffer.mem;
        let refs = (0..mem.page_count())
            .filter_map(|i| mem.page(i))
            .map(|p| i64::from(p.info().refcount()))
            .sum::<i64>();
        MapdrvPageCounts {
            pages: mem.page_count() as u64,
            refs: refs.max(0) as u64,
        }
    }

    /// A snapshot of the counters.
    pub(super) fn stats(&self) -> MapdrvStats {
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
            map_mode: self.buffer.mode.abi() as u32,
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
            let mode = match file.flags() & flags::O_ACCMODE {
                flags::O_RDONLY => "read-only",
                flags::O_WRONLY => "write-only",
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
        let shared = vma.flags() & kernel::mm::virt::flags::SHARED != 0;
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
        // The buffer is the device's, shared by every opener: no core dump
        // of one process takes it (eager mode gets the flag from
        // `remap_vmalloc_range()` too; now every mode has it).
        vma.set_dontdump();
        match self.buffer.mode {
            MapMode::Fault => {}
            // `vm_insert_pages()` from the fault handler needs `VM_MIXEDMAP`,
            // and the flag can only be set here (the fault holds the mmap
            // lock for reading). The `&VmaMixedMap` this returns would let
            // `mmap` insert pages now; the fault handler gets its own proof
            // from the VMA it faults in (`VmFault::map_pages` asks
            // `as_mixedmap_vma()`), so this one is not kept.
            MapMode::FaultAround(_) => {
                let _now_mixedmap: &VmaMixedMap = vma.set_mixedmap();
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
        virt::install(vma, self.buffer.clone());
        Ok(())
    }

    fn ioctl(&self, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        super::ioctl::dispatch(self, cmd, arg)
    }
}
