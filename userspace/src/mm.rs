//! `maptest mm --pages N --mode MODE`: the mm operations a process can apply
//! to a `/dev/mapdrv` mapping besides loads and stores (madvise, fork,
//! mremap, splits, GUP through `/proc/PID/mem` and `process_vm_readv`,
//! `read`/`write` of another file into or out of the mapping, core dumps),
//! each checked against the contract and against the kernel's own page
//! accounting.
//!
//! The oracle: before the checks the tool learns the buffer's page frames
//! (`/proc/self/pagemap` of a mapping, as root). Whenever nothing of this
//! process maps the buffer, every one of those frames must have map count 0
//! (`/proc/kpagecount`), and the sum of their reference counts must be the
//! buffer's page count (`MAPDRV_IOC_PAGE_COUNTS`: each page then holds only
//! vmalloc's own reference); while mapped `k` times, map count `k` and one
//! reference more per mapping. A check that leaves a page table entry or a
//! reference behind (a missing `put_page` after a zap, a pin, a fork or a
//! dump) fails naming the page. Every check also requires the driver's
//! `live_mappings` to be back where it started (`.open`/`.close` balanced
//! across fork, splits and mremap), and the buffer to hold exactly what the
//! check wrote.
//!
//! What the kernel decides, and where (Linux 7.2):
//! - `MADV_DONTNEED` zaps the range (`madvise_dontneed_free_valid_vma()`
//!   refuses only `VM_LOCKED|VM_PFNMAP|VM_HUGETLB`); the next access faults
//!   again and the driver serves the same buffer page (not a zero page).
//! - `MADV_POPULATE_READ/WRITE` fault the range in through GUP
//!   (`madvise_populate()`); GUP refuses only `VM_IO|VM_PFNMAP`
//!   (`check_vma_flags()`), and a write populate of a read-only mapping is
//!   `EINVAL`.
//! - `fork` copies the page table entries only of `VM_COPY_ON_FORK` VMAs
//!   (`vma_needs_copy()`, mm/memory.c): fault-around and eager mappings are
//!   `VM_MIXEDMAP` and are copied, one-page-per-fault mappings are not (the
//!   child faults its own); either way both see the same pages.
//!   `MADV_DONTFORK` (`VM_DONTCOPY`) leaves the child without the mapping,
//!   and `MADV_DOFORK` cannot undo it: `madvise_vma_behavior()` refuses it
//!   on `VM_SPECIAL` (the driver's `VM_DONTEXPAND`) with `EINVAL`.
//! - `mlock` returns 0 but leaves the VMA unlocked: `mlock_fixup()` skips
//!   VMAs `vma_supports_mlock()` refuses, `VM_SPECIAL` ones among them (it
//!   still faults the range in), so `MADV_DONTNEED` keeps working.
//! - `mremap` moves and shrinks (`.open` for the new VMA, `.close` for the
//!   old one); growing is `EFAULT` (`vma_to_resize()`: `VM_DONTEXPAND`).
//!   A partial `munmap` or `mprotect` splits the VMA (`__split_vma()` calls
//!   `.open` for the new part).
//! - `vmsplice` of the mapping into a pipe takes a reference on each page
//!   (GUP through `iov_iter_get_pages2()`, fs/splice.c), which the pipe
//!   gives back when read.
//! - `/proc/PID/mem` and `process_vm_readv` copy through GUP
//!   (`access_remote_vm()`, `process_vm_rw_pages()`); a `/proc/PID/mem`
//!   write into the read-only private mapping is refused (`check_vma_flags()`:
//!   a `FOLL_FORCE` write needs a COW mapping, and the driver cleared
//!   `VM_MAYWRITE`), so the buffer is unchanged.
//! - `read()`/`write()` of another file with the mapping as the user buffer
//!   go through `copy_to_user`/`copy_from_user`, which fault like loads and
//!   stores.
//! - A core dump leaves the buffer out: the driver sets `VM_DONTDUMP` in
//!   every mode, so `vma_dump_size()` is 0 and the mapping's program header
//!   has no bytes.

use crate::abi::{MapMode, MapdrvPageCounts, MAPDRV_IOC_PAGE_COUNTS};
use crate::cli::{Expect, Options};
use crate::device::{self, page_size, pipe, Child, Mapping};
use crate::verify::{ensure, expect_errno, finish, io, CheckResult, Checks};
use anyhow::bail;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

const RW: i32 = libc::PROT_READ | libc::PROT_WRITE;

/// The byte the checks keep at offset `at` of the buffer.
fn pattern(at: usize) -> u8 {
    ((at.wrapping_mul(131) >> 3) as u8) ^ 0xa5
}

/// What every check sees.
struct Mm {
    file: File,
    size: usize,
    ps: usize,
    mode: MapMode,
    /// The page frame of each buffer page.
    pfns: Vec<u64>,
    /// `live_mappings` before the checks.
    live0: u64,
}

impl Mm {
    /// The checks' state for a buffer of `pages` pages in map `mode`, with
    /// `live0` mappings alive before them.
    fn new(file: File, pages: u64, mode: MapMode, live0: u64) -> Mm {
        let ps = page_size();
        Mm {
            file,
            size: pages as usize * ps,
            ps,
            mode,
            pfns: Vec::new(),
            live0,
        }
    }

    fn page_counts(&self) -> Result<MapdrvPageCounts, String> {
        let mut c = MapdrvPageCounts::default();
        // SAFETY: `MAPDRV_IOC_PAGE_COUNTS` writes one `MapdrvPageCounts`.
        unsafe { device::ioctl_struct(&self.file, MAPDRV_IOC_PAGE_COUNTS, &mut c) }
            .map_err(|e| format!("MAPDRV_IOC_PAGE_COUNTS: {e}"))?;
        Ok(c)
    }

    /// Each buffer page's map count (`/proc/kpagecount` at its frame).
    fn map_counts(&self) -> Result<Vec<u64>, String> {
        let f = File::open("/proc/kpagecount").map_err(|e| format!("/proc/kpagecount: {e}"))?;
        self.pfns
            .iter()
            .map(|&pfn| {
                let mut b = [0u8; 8];
                f.read_exact_at(&mut b, pfn * 8)
                    .map_err(|e| format!("/proc/kpagecount at pfn {pfn:#x}: {e}"))?;
                Ok(u64::from_ne_bytes(b))
            })
            .collect()
    }

    /// Every buffer page mapped `want` times, holding its own reference and
    /// one per mapping.
    fn mapped(&self, want: u64) -> CheckResult {
        let counts = self.map_counts()?;
        if let Some((i, c)) = counts.iter().enumerate().find(|(_, &c)| c != want) {
            return Err(format!(
                "page {i} (pfn {:#x}) is mapped {c} times, expected {want}",
                self.pfns[i]
            ));
        }
        let c = self.page_counts()?;
        let refs = c.pages * (1 + want);
        ensure(c.refs == refs, || {
            format!(
                "the buffer's {} pages hold {} references, expected {refs} (each mapped {want} times)",
                c.pages, c.refs
            )
        })
    }

    fn live(&self) -> Result<u64, String> {
        Ok(device::stats(&self.file).map_err(io)?.live_mappings)
    }

    /// `live_mappings` is `n` more than before the checks.
    fn live_is(&self, n: u64) -> CheckResult {
        let live = self.live()?;
        ensure(live == self.live0 + n, || {
            format!("live_mappings is {live}, expected {} + {n}", self.live0)
        })
    }

    /// Nothing of ours maps the buffer, no reference is left over, and the
    /// driver's `.open`/`.close` calls balanced.
    fn settled(&self) -> CheckResult {
        self.mapped(0)?;
        self.live_is(0)
    }

    fn map(&self, prot: i32, flags: i32) -> Result<Mapping, String> {
        Mapping::new(&self.file, self.size, prot, flags, 0).map_err(|e| format!("mmap: {e}"))
    }

    fn buffer(&self) -> Result<Vec<u8>, String> {
        let mut b = vec![0u8; self.size];
        self.file
            .read_exact_at(&mut b, 0)
            .map_err(|e| format!("pread: {e}"))?;
        Ok(b)
    }

    /// The buffer's bytes as `pread` sees them, against [`pattern`].
    fn buffer_is_pattern(&self) -> CheckResult {
        let data = self.buffer()?;
        match data.iter().enumerate().find(|&(i, &b)| b != pattern(i)) {
            Some((i, b)) => Err(format!(
                "buffer byte {i} is {b:#x} after the check, expected {:#x}",
                pattern(i)
            )),
            None => Ok(()),
        }
    }

    fn restore(&self) -> CheckResult {
        let all: Vec<u8> = (0..self.size).map(pattern).collect();
        self.file
            .write_all_at(&all, 0)
            .map_err(|e| format!("pwrite: {e}"))
    }

    /// The pages the check needs, or a failure saying so (a check that
    /// cannot run fails: the test loads enough pages).
    fn need_pages(&self, n: usize) -> CheckResult {
        ensure(self.size / self.ps >= n, || {
            format!(
                "needs a buffer of {n} pages, the module has {}",
                self.size / self.ps
            )
        })
    }
}

/// `len` bytes of a mapping from byte `from` against [`pattern`] (`off`:
/// the buffer offset of the mapping's first byte).
fn shows_pattern(m: &Mapping, from: usize, len: usize, off: usize, what: &str) -> CheckResult {
    for i in from..from + len {
        let (got, want) = (m.get(i), pattern(off + i));
        if got != want {
            return Err(format!(
                "{what}: byte {i} reads {got:#x}, expected {want:#x}"
            ));
        }
    }
    Ok(())
}

/// Bytes at a raw address range we own, against [`pattern`].
fn raw_shows_pattern(addr: usize, len: usize, off: usize, what: &str) -> CheckResult {
    for i in 0..len {
        // SAFETY: the caller maps `addr..addr + len` readable for the call.
        let got = unsafe { std::ptr::read_volatile((addr + i) as *const u8) };
        if got != pattern(off + i) {
            return Err(format!(
                "{what}: byte {i} reads {got:#x}, expected {:#x}",
                pattern(off + i)
            ));
        }
    }
    Ok(())
}

/// The frame behind each page of `len` bytes at `addr` (`/proc/self/pagemap`;
/// 0 for a page with no entry).
fn pfns_at(addr: usize, len: usize) -> Result<Vec<u64>, String> {
    let f = File::open("/proc/self/pagemap").map_err(|e| format!("/proc/self/pagemap: {e}"))?;
    let ps = page_size();
    (0..len / ps)
        .map(|i| {
            let mut b = [0u8; 8];
            f.read_exact_at(&mut b, ((addr / ps + i) * 8) as u64)
                .map_err(|e| format!("pagemap: {e}"))?;
            let e = u64::from_ne_bytes(b);
            Ok(if e >> 63 == 1 { e & ((1 << 55) - 1) } else { 0 })
        })
        .collect()
}

fn madvise(addr: usize, len: usize, advice: i32) -> std::io::Result<()> {
    // SAFETY: advice on a range of a mapping we own; none of these advices
    // changes what may be accessed (DONTNEED refaults the buffer).
    if unsafe { libc::madvise(addr as *mut _, len, advice) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn madvise_ok(m: &Mapping, len: usize, advice: i32, name: &str) -> CheckResult {
    madvise(m.addr(), len, advice).map_err(|e| format!("madvise({name}): {e}"))
}

/// Whether any of `len` bytes at `addr` is mapped (`mincore` fails with
/// `ENOMEM` on an unmapped range).
fn any_mapped(addr: usize, len: usize) -> bool {
    let ps = page_size();
    (0..len / ps).any(|i| {
        let mut v = 0u8;
        // SAFETY: one page, one byte of result; mincore only reports.
        unsafe { libc::mincore((addr + i * ps) as *mut _, ps, &mut v) == 0 }
    })
}

/// A raw mapped range this check owns (`munmap` on drop).
struct Range {
    addr: usize,
    len: usize,
}

impl Drop for Range {
    fn drop(&mut self) {
        // SAFETY: unmaps a range this check mapped (holes are fine).
        unsafe { libc::munmap(self.addr as *mut _, self.len) };
    }
}

/// Takes over the mapping's range as a raw [`Range`].
fn into_range(m: Mapping, len: usize) -> Range {
    let r = Range {
        addr: m.addr(),
        len,
    };
    std::mem::forget(m);
    r
}

type Check = (&'static str, fn(&Mm) -> CheckResult);

const CHECKS: &[Check] = &[
    ("a full shared mapping maps each buffer page once, one reference each", |mm| {
        let m = mm.map(RW, libc::MAP_SHARED)?;
        shows_pattern(&m, 0, mm.size, 0, "the mapping")?;
        mm.mapped(1)?;
        mm.live_is(1)?;
        let at = pfns_at(m.addr(), mm.size)?;
        ensure(at == mm.pfns, || format!("the mapping shows frames {at:x?}, the buffer's are {:x?}", mm.pfns))
    }),
    ("MADV_DONTNEED zaps a shared mapping; the next access refaults the same page, stores kept", |mm| {
        let m = mm.map(RW, libc::MAP_SHARED)?;
        shows_pattern(&m, 0, mm.size, 0, "before")?;
        let last = mm.size - 1;
        m.set(last, !pattern(last));
        madvise_ok(&m, mm.size, libc::MADV_DONTNEED, "MADV_DONTNEED")?;
        let res = m.resident().map_err(io)?;
        ensure(res.iter().all(|&r| !r), || format!("resident after the zap: {res:?}"))?;
        mm.mapped(0)?;
        let got = m.get(last);
        m.set(last, pattern(last));
        ensure(got == !pattern(last), || format!("the store before the zap is lost: {got:#x}"))?;
        shows_pattern(&m, 0, mm.size, 0, "after the refault")?;
        let at = pfns_at(m.addr(), mm.size)?;
        ensure(at == mm.pfns, || format!("refaulted to frames {at:x?}, the buffer's are {:x?}", mm.pfns))
    }),
    ("MADV_DONTNEED on a read-only private mapping refaults the buffer page, not a zero page", |mm| {
        let m = mm.map(libc::PROT_READ, libc::MAP_PRIVATE)?;
        shows_pattern(&m, 0, mm.size, 0, "before")?;
        madvise_ok(&m, mm.size, libc::MADV_DONTNEED, "MADV_DONTNEED")?;
        mm.mapped(0)?;
        shows_pattern(&m, 0, mm.size, 0, "after the refault")
    }),
    ("a mapping at a page offset zapped with MADV_DONTNEED refaults the pages at that offset", |mm| {
        mm.need_pages(2)?;
        let len = mm.size - mm.ps;
        let m = Mapping::new(&mm.file, len, RW, libc::MAP_SHARED, mm.ps).map_err(|e| format!("mmap at page 1: {e}"))?;
        shows_pattern(&m, 0, len, mm.ps, "before")?;
        madvise_ok(&m, len, libc::MADV_DONTNEED, "MADV_DONTNEED")?;
        shows_pattern(&m, 0, len, mm.ps, "after the refault")?;
        let at = pfns_at(m.addr(), len)?;
        ensure(at[..] == mm.pfns[1..], || format!("frames {at:x?} at page offset 1, the buffer's are {:x?}", mm.pfns))
    }),
    ("mlock succeeds but does not lock the mapping (VM_SPECIAL); MADV_DONTNEED still zaps it", |mm| {
        let m = mm.map(libc::PROT_READ, libc::MAP_SHARED)?;
        // SAFETY: mlock of our own mapping; it only faults the range in.
        if unsafe { libc::mlock(m.addr() as *const _, mm.size) } != 0 {
            return Err(format!("mlock: {}", std::io::Error::last_os_error()));
        }
        let locked = device::smaps_field(m.addr(), "Locked:").map_err(io)?;
        ensure(locked == 0, || format!("smaps says {locked} kB locked"))?;
        mm.mapped(1)?;
        madvise_ok(&m, mm.size, libc::MADV_DONTNEED, "MADV_DONTNEED after mlock")?;
        mm.mapped(0)?;
        shows_pattern(&m, 0, mm.size, 0, "after the refault")
    }),
    ("MADV_POPULATE_READ maps every page without a touch", |mm| {
        let m = mm.map(libc::PROT_READ, libc::MAP_SHARED)?;
        madvise_ok(&m, mm.size, libc::MADV_POPULATE_READ, "MADV_POPULATE_READ")?;
        mm.mapped(1)?;
        shows_pattern(&m, 0, mm.size, 0, "after populate")
    }),
    ("MADV_POPULATE_WRITE maps a shared read-write mapping, and is EINVAL on a read-only one", |mm| {
        let m = mm.map(RW, libc::MAP_SHARED)?;
        madvise_ok(&m, mm.size, libc::MADV_POPULATE_WRITE, "MADV_POPULATE_WRITE")?;
        mm.mapped(1)?;
        drop(m);
        let ro = mm.map(libc::PROT_READ, libc::MAP_SHARED)?;
        expect_errno(madvise(ro.addr(), mm.size, libc::MADV_POPULATE_WRITE), libc::EINVAL, "MADV_POPULATE_WRITE")
    }),
    ("fork: the child shares the pages (entries copied unless one page per fault), stores cross both ways", |mm| {
        let m = mm.map(RW, libc::MAP_SHARED)?;
        shows_pattern(&m, 0, mm.size, 0, "before fork")?;
        let (rd, wr) = pipe()?;
        let last = mm.size - 1;
        let in_child = || {
            let mut b = [0u8; 1];
            if (&rd).read_exact(&mut b).is_err() || m.get(0) != !pattern(0) {
                return 3;
            }
            m.set(last, !pattern(last));
            0
        };
        // SAFETY: `maptest` is single-threaded (it starts no thread).
        let child = unsafe { Child::spawn(in_child) }?;
        drop(rd);
        // Before the child touches anything: copied entries or none.
        let copied = if mm.mode == MapMode::Fault { 1 } else { 2 };
        let counts = mm.mapped(copied);
        m.set(0, !pattern(0));
        let _ = (&wr).write_all(b"g");
        let done = child.succeeded("the child saw the parent's store");
        counts?;
        done?;
        let got = m.get(last);
        m.set(0, pattern(0));
        m.set(last, pattern(last));
        ensure(got == !pattern(last), || format!("the child's store is not seen: {got:#x}"))?;
        mm.mapped(1)
    }),
    ("MADV_DONTFORK leaves the child without the mapping; MADV_DOFORK is EINVAL (VM_SPECIAL)", |mm| {
        let m = mm.map(libc::PROT_READ, libc::MAP_SHARED)?;
        shows_pattern(&m, 0, mm.size, 0, "before fork")?;
        madvise_ok(&m, mm.size, libc::MADV_DONTFORK, "MADV_DONTFORK")?;
        let (addr, size) = (m.addr(), mm.size);
        // SAFETY: `maptest` is single-threaded (it starts no thread).
        let child = unsafe { Child::spawn(|| i32::from(any_mapped(addr, size))) }?;
        child.succeeded("the child has no mapping there")?;
        mm.mapped(1)?;
        mm.live_is(1)?;
        expect_errno(madvise(m.addr(), mm.size, libc::MADV_DOFORK), libc::EINVAL, "MADV_DOFORK")
    }),
    ("mremap moves the mapping: the same pages at the new address, nothing at the old", |mm| {
        let m = mm.map(RW, libc::MAP_SHARED)?;
        shows_pattern(&m, 0, mm.size, 0, "before")?;
        let old = m.addr();
        // A free range to move to: reserved, then replaced by the move.
        let hole = Mapping::anonymous(mm.size).map_err(io)?;
        let to = into_range(hole, mm.size);
        // SAFETY: moves our mapping over our reserved range.
        let p = unsafe {
            libc::mremap(old as *mut _, mm.size, mm.size, libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED, to.addr as *mut libc::c_void)
        };
        if p == libc::MAP_FAILED {
            return Err(format!("mremap: {}", std::io::Error::last_os_error()));
        }
        std::mem::forget(m);
        ensure(p as usize == to.addr, || format!("moved to {p:?}, not {:#x}", to.addr))?;
        ensure(!any_mapped(old, mm.size), || "the old range is still mapped".into())?;
        raw_shows_pattern(to.addr, mm.size, 0, "at the new address")?;
        mm.mapped(1)?;
        mm.live_is(1)?;
        let at = pfns_at(to.addr, mm.size)?;
        ensure(at == mm.pfns, || format!("the new address shows frames {at:x?}, the buffer's are {:x?}", mm.pfns))
    }),
    ("mremap cannot grow the mapping (VM_DONTEXPAND): EFAULT", |mm| {
        let mut m = mm.map(libc::PROT_READ, libc::MAP_SHARED)?;
        expect_errno(m.remap(mm.size + mm.ps), libc::EFAULT, "mremap to a larger size")?;
        shows_pattern(&m, 0, mm.size, 0, "after the refused grow")
    }),
    ("mremap shrinks the mapping: the head stays, the tail goes", |mm| {
        mm.need_pages(2)?;
        let mut m = mm.map(RW, libc::MAP_SHARED)?;
        shows_pattern(&m, 0, mm.size, 0, "before")?;
        m.remap(mm.ps).map_err(|e| format!("mremap to one page: {e}"))?;
        shows_pattern(&m, 0, mm.ps, 0, "the head")?;
        ensure(!any_mapped(m.addr() + mm.ps, mm.size - mm.ps), || "the tail is still mapped".into())?;
        mm.live_is(1)
    }),
    ("munmap of a middle page splits the mapping in two; both halves work", |mm| {
        mm.need_pages(3)?;
        let m = mm.map(RW, libc::MAP_SHARED)?;
        shows_pattern(&m, 0, mm.size, 0, "before")?;
        let r = into_range(m, mm.size);
        // SAFETY: unmaps the second page of our own mapping.
        if unsafe { libc::munmap((r.addr + mm.ps) as *mut _, mm.ps) } != 0 {
            return Err(format!("munmap: {}", std::io::Error::last_os_error()));
        }
        mm.live_is(2)?;
        ensure(!any_mapped(r.addr + mm.ps, mm.ps), || "the middle is still mapped".into())?;
        raw_shows_pattern(r.addr, mm.ps, 0, "the first half")?;
        raw_shows_pattern(r.addr + 2 * mm.ps, mm.size - 2 * mm.ps, 2 * mm.ps, "the second half")
    }),
    ("mprotect of a middle page splits the mapping in three; stores outside it still land", |mm| {
        mm.need_pages(3)?;
        let m = mm.map(RW, libc::MAP_SHARED)?;
        // SAFETY: a read-only middle page of our own mapping.
        if unsafe { libc::mprotect((m.addr() + mm.ps) as *mut _, mm.ps, libc::PROT_READ) } != 0 {
            return Err(format!("mprotect: {}", std::io::Error::last_os_error()));
        }
        mm.live_is(3)?;
        let last = mm.size - 1;
        m.set(0, !pattern(0));
        m.set(last, !pattern(last));
        let b = mm.buffer()?;
        m.set(0, pattern(0));
        m.set(last, pattern(last));
        ensure(b[0] == !pattern(0) && b[last] == !pattern(last), || "a store next to the read-only page did not reach the buffer".into())?;
        shows_pattern(&m, mm.ps, mm.ps, 0, "the read-only page")
    }),
    ("/proc/self/mem reads the mapping's bytes (GUP, FOLL_FORCE) and writes through a shared one", |mm| {
        let m = mm.map(RW, libc::MAP_SHARED)?;
        let mem = std::fs::OpenOptions::new().read(true).write(true).open("/proc/self/mem").map_err(|e| format!("/proc/self/mem: {e}"))?;
        let mut b = vec![0u8; mm.size];
        mem.read_exact_at(&mut b, m.addr() as u64).map_err(|e| format!("read of /proc/self/mem: {e}"))?;
        if let Some(i) = (0..mm.size).find(|&i| b[i] != pattern(i)) {
            return Err(format!("/proc/self/mem byte {i} is {:#x}, expected {:#x}", b[i], pattern(i)));
        }
        mm.mapped(1)?;
        mem.write_all_at(&[!pattern(5)], (m.addr() + 5) as u64).map_err(|e| format!("write of /proc/self/mem: {e}"))?;
        let got = mm.buffer()?[5];
        m.set(5, pattern(5));
        ensure(got == !pattern(5), || format!("the write through /proc/self/mem left {got:#x} in the buffer"))
    }),
    ("a /proc/self/mem write into the read-only private mapping is refused; the buffer is unchanged", |mm| {
        let m = mm.map(libc::PROT_READ, libc::MAP_PRIVATE)?;
        let mem = std::fs::OpenOptions::new().write(true).open("/proc/self/mem").map_err(|e| format!("/proc/self/mem: {e}"))?;
        expect_errno(mem.write_at(&[!pattern(7)], (m.addr() + 7) as u64), libc::EIO, "the write")?;
        shows_pattern(&m, 0, mm.size, 0, "the private mapping")
    }),
    ("vmsplice of the mapping into a pipe holds one reference per page until the pipe is read", |mm| {
        let m = mm.map(libc::PROT_READ, libc::MAP_SHARED)?;
        shows_pattern(&m, 0, mm.size, 0, "before")?;
        let (rd, wr) = pipe()?;
        let len = mm.size.min(16 * mm.ps); // a pipe holds 16 pages by default
        let iov = libc::iovec { iov_base: m.addr() as *mut _, iov_len: len };
        // SAFETY: one iovec over our readable mapping; the pipe takes page
        // references (GUP), not the bytes.
        let n = unsafe { libc::vmsplice(wr.as_raw_fd(), &iov, 1, 0) };
        ensure(n == len as isize, || format!("vmsplice returned {n}"))?;
        let held = (len / mm.ps) as u64;
        let c = mm.page_counts()?;
        let want = c.pages * 2 + held;
        ensure(c.refs == want, || format!("with {held} pages in the pipe the buffer holds {} references, expected {want}", c.refs))?;
        let mut out = vec![0u8; len];
        (&rd).read_exact(&mut out).map_err(|e| format!("read of the pipe: {e}"))?;
        if let Some(i) = (0..len).find(|&i| out[i] != pattern(i)) {
            return Err(format!("the pipe gave {:#x} at byte {i}, expected {:#x}", out[i], pattern(i)));
        }
        mm.mapped(1)
    }),
    ("process_vm_readv from another process copies the mapping's bytes", |mm| {
        let m = mm.map(libc::PROT_READ, libc::MAP_SHARED)?;
        // SAFETY: getpid has no preconditions.
        let parent = unsafe { libc::getpid() };
        let (addr, size) = (m.addr(), mm.size);
        let in_child = || {
            let mut b = vec![0u8; size];
            let local = libc::iovec { iov_base: b.as_mut_ptr().cast(), iov_len: size };
            let remote = libc::iovec { iov_base: addr as *mut _, iov_len: size };
            // SAFETY: one local buffer of `size` bytes, one remote range.
            let n = unsafe { libc::process_vm_readv(parent, &local, 1, &remote, 1, 0) };
            i32::from(n != size as isize || (0..size).any(|i| b[i] != pattern(i)))
        };
        // SAFETY: `maptest` is single-threaded (it starts no thread).
        let child = unsafe { Child::spawn(in_child) }?;
        child.succeeded("the child read the parent's mapping")
    }),
    ("read() of another file into the mapping lands in the buffer; write() from it copies the buffer", |mm| {
        let m = mm.map(RW, libc::MAP_SHARED)?;
        let path = std::env::temp_dir().join(format!("maptest-mm-{}", std::process::id()));
        let mut f = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let _ = std::fs::remove_file(&path);
        // write(): the whole mapping out to the file.
        // SAFETY: the mapping is `size` readable bytes.
        let n = unsafe { libc::write(f.as_raw_fd(), m.addr() as *const _, mm.size) };
        ensure(n == mm.size as isize, || format!("write() of the mapping returned {n}"))?;
        let mut out = vec![0u8; mm.size];
        f.read_exact_at(&mut out, 0).map_err(|e| format!("pread: {e}"))?;
        if let Some(i) = (0..mm.size).find(|&i| out[i] != pattern(i)) {
            return Err(format!("write() copied {:#x} at byte {i}, expected {:#x}", out[i], pattern(i)));
        }
        // read(): one page of the complement back into the mapping.
        let flipped: Vec<u8> = (0..mm.ps).map(|i| !pattern(i)).collect();
        f.write_all_at(&flipped, 0).map_err(|e| format!("pwrite: {e}"))?;
        f.flush().map_err(|e| format!("flush: {e}"))?;
        // SAFETY: reads one page into the writable mapping.
        let n = unsafe { libc::pread(f.as_raw_fd(), m.addr() as *mut _, mm.ps, 0) };
        let b = mm.buffer()?;
        for i in 0..mm.ps {
            m.set(i, pattern(i));
        }
        ensure(n == mm.ps as isize, || format!("read() into the mapping returned {n}"))?;
        ensure(b[..mm.ps] == flipped[..], || "read() into the mapping did not reach the buffer".into())
    }),
    ("a core dump of a process with the mapping leaves the buffer out (VM_DONTDUMP in every mode)", |mm| {
        let pattern_path = "/proc/sys/kernel/core_pattern";
        let saved = std::fs::read_to_string(pattern_path).map_err(|e| format!("{pattern_path}: {e}"))?;
        let dir = std::env::temp_dir();
        std::fs::write(pattern_path, format!("{}/maptest-core.%p", dir.display())).map_err(|e| format!("{pattern_path}: {e}"))?;
        let (rd, wr) = pipe()?;
        let m = mm.map(RW, libc::MAP_SHARED)?;
        let (addr, size) = (m.addr(), mm.size);
        let in_child = || {
            let unlimited = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
            // SAFETY: raises our own core limit.
            unsafe { libc::setrlimit(libc::RLIMIT_CORE, &unlimited) };
            // Dump shared file mappings too (bit 3), so only VM_DONTDUMP keeps it out.
            let _ = std::fs::write("/proc/self/coredump_filter", "0x3f");
            for i in (0..size).step_by(page_size()) {
                let _ = m.get(i);
            }
            drop(rd);
            // SAFETY: ends the child with SIGABRT, which dumps core.
            unsafe { libc::abort() }
        };
        // SAFETY: `maptest` is single-threaded (it starts no thread).
        let child = unsafe { Child::spawn(in_child) }?;
        drop(wr);
        drop(m);
        let pid = child.0;
        let status = child.wait();
        let _ = std::fs::write(pattern_path, saved.trim_end());
        let status = status?;
        ensure(libc::WIFSIGNALED(status) && libc::WCOREDUMP(status), || format!("the child ended with status {status:#x}, no core"))?;
        let core = dir.join(format!("maptest-core.{pid}"));
        let bytes = std::fs::read(&core).map_err(|e| format!("{}: {e}", core.display()));
        let _ = std::fs::remove_file(&core);
        let filesz = load_filesz(&bytes?, addr as u64).ok_or("the core has no program header for the mapping")?;
        ensure(filesz == 0, || format!("the core holds {filesz} bytes of the mapping"))
    }),
];

/// The file size of the `PT_LOAD` program header at `vaddr` in an ELF64
/// core file.
fn load_filesz(core: &[u8], vaddr: u64) -> Option<u64> {
    let u16_at = |o: usize| Some(u16::from_le_bytes(core.get(o..o + 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(core.get(o..o + 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(core.get(o..o + 8)?.try_into().ok()?));
    if core.get(..4)? != b"\x7fELF" || *core.get(4)? != 2 {
        return None;
    }
    let phoff = u64_at(0x20)? as usize;
    let (phentsize, phnum) = (u16_at(0x36)? as usize, u16_at(0x38)? as usize);
    (0..phnum).find_map(|i| {
        let ph = phoff + i * phentsize;
        (u32_at(ph)? == 1 && u64_at(ph + 0x10)? == vaddr)
            .then(|| u64_at(ph + 0x20))
            .flatten()
    })
}

/// `maptest pages`: the buffer's pages through the life of two mappings,
/// one line per step: each page's map count, and the references they hold.
pub fn pages(opts: &Options) -> anyhow::Result<()> {
    let file = device::open(&opts.device, true)?;
    let s = device::stats(&file)?;
    let mode = MapMode::from_raw(s.map_mode)
        .ok_or_else(|| anyhow::anyhow!("unknown map mode {}", s.map_mode))?;
    let mut mm = Mm::new(file, s.buffer_pages, mode, s.live_mappings);
    let (ps, size) = (mm.ps, mm.size);
    {
        let m = mm
            .map(libc::PROT_READ, libc::MAP_SHARED)
            .map_err(anyhow::Error::msg)?;
        for p in 0..s.buffer_pages as usize {
            let _ = m.get(p * ps);
        }
        mm.pfns = pfns_at(m.addr(), size).map_err(anyhow::Error::msg)?;
    }
    if mm.pfns.contains(&0) {
        bail!("/proc/self/pagemap shows no frame for a buffer page (run as root)");
    }
    let show = |what: &str| -> anyhow::Result<()> {
        let counts = mm.map_counts().map_err(anyhow::Error::msg)?;
        let refs = mm.page_counts().map_err(anyhow::Error::msg)?;
        let counts: Vec<String> = counts.iter().map(u64::to_string).collect();
        println!(
            "{what:<28} map counts {}  references {}",
            counts.join(" "),
            refs.refs
        );
        Ok(())
    };
    println!(
        "{} pages; references: the sum of their page_count()s",
        s.buffer_pages
    );
    show("nothing mapped")?;
    let a = mm
        .map(libc::PROT_READ, libc::MAP_SHARED)
        .map_err(anyhow::Error::msg)?;
    show("mapped, not touched")?;
    let _ = a.get(0);
    show("page 0 touched")?;
    for p in 0..s.buffer_pages as usize {
        let _ = a.get(p * ps);
    }
    show("every page touched")?;
    let b = mm
        .map(libc::PROT_READ, libc::MAP_SHARED)
        .map_err(anyhow::Error::msg)?;
    for p in 0..s.buffer_pages as usize {
        let _ = b.get(p * ps);
    }
    show("a second mapping, touched")?;
    drop(a);
    show("the first one unmapped")?;
    drop(b);
    show("both unmapped")
}

/// `maptest mm`.
pub fn run(opts: &Options, expect: Expect) -> anyhow::Result<bool> {
    let (Some(pages), Some(mode)) = (expect.pages, expect.mode) else {
        bail!("maptest mm needs --pages and --mode (what the test loaded)");
    };
    let file = device::open(&opts.device, true)?;
    let s = device::stats(&file)?;
    if s.buffer_pages != u64::from(pages) || s.map_mode != mode as u32 {
        bail!(
            "the module runs {} pages in map mode {}, the test loaded {pages} in {}",
            s.buffer_pages,
            s.map_mode,
            mode.name()
        );
    }
    let mut mm = Mm::new(file, u64::from(pages), mode, s.live_mappings);
    let (ps, size) = (mm.ps, mm.size);
    mm.restore().map_err(anyhow::Error::msg)?;
    {
        let m = mm
            .map(libc::PROT_READ, libc::MAP_SHARED)
            .map_err(anyhow::Error::msg)?;
        for p in 0..pages as usize {
            let _ = m.get(p * ps);
        }
        mm.pfns = pfns_at(m.addr(), size).map_err(anyhow::Error::msg)?;
    }
    if mm.pfns.contains(&0) {
        bail!(
            "/proc/self/pagemap shows no frame for a buffer page (run as root): {:x?}",
            mm.pfns
        );
    }
    let mut c = Checks::new(opts.json);
    c.check(
        "before the checks: no buffer page is mapped, each holds only its own reference",
        || mm.settled(),
    );
    for (name, f) in CHECKS {
        c.check(&format!("{name} ({})", mode.name()), || {
            let r = f(&mm);
            // Whatever the check found, the accounting and the bytes must be back.
            let settled = mm.settled();
            let bytes = mm.buffer_is_pattern();
            mm.restore()?;
            r.and(settled).and(bytes)
        });
    }
    Ok(finish(&c, opts, size))
}
