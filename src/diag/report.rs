// SPDX-License-Identifier: GPL-2.0

//! The allocation report: what each allocator really returned.
//!
//! At load (unless `report=0`) mapdrv allocates through every wrapper, looks
//! at what came back (address region, zone, physical contiguity, pfns) and
//! logs one line per probe, each ending in `PASS` or `FAIL` against what the
//! API promises, then a summary:
//!
//! ```text
//! mapdrv: report: alloc_pages order=3 size=32KiB gfp=GFP_KERNEL region=direct-map zone=Normal contiguous=yes pages=8 runs=1: PASS
//! ...
//! mapdrv: allocation report: 22 checks, 22 passed, 0 failed
//! ```
//!
//! Raw kernel virtual and physical addresses (and pfns, which are physical
//! addresses too) defeat KASLR, so they are added (`virt=... phys=...
//! pfns=...`) only with `show_addresses=1`. Rust's `{:p}` prints the real
//! pointer, unlike C's hashed `%p`, which is why this must be opt-in.
//!
//! The line format is stable (`key=value` tokens), for tools that parse it.

use crate::diag::fixtures::FailableKmalloc;
use crate::mm::gfp::{Gfp, Zone};
use crate::mm::kmalloc::{KmallocBuf, KMALLOC_MAX_SIZE};
use crate::mm::mempool::Mempool;
use crate::mm::page::{Contents, FreePages, Pages, MAX_ORDER, PAGE_SIZE};
use crate::mm::pfn::{self, PageRef};
use crate::mm::slab::{CtorCache, KmemCache, SlabConstruct, SlabFlags};
use crate::mm::vmalloc::{self, VmallocBuf};
use core::fmt;
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};

/// Where a kernel virtual address lies.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Region {
    /// The direct (linear) map of all RAM: `PAGE_OFFSET + phys`.
    DirectMap,
    /// The vmalloc area, `VMALLOC_START..VMALLOC_END`.
    Vmalloc,
    /// Anything else (module text, fixmap, user space, garbage).
    Other,
}

impl Region {
    /// Classifies `addr`.
    pub(crate) fn of(addr: *const u8) -> Region {
        if PageRef::from_virt(addr).is_some() {
            Region::DirectMap
        // SAFETY: `is_vmalloc_addr()` only compares the address with bounds.
        } else if unsafe { bindings::is_vmalloc_addr(addr.cast()) } {
            Region::Vmalloc
        } else {
            Region::Other
        }
    }
}

impl kernel::fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Region::DirectMap => "direct-map",
            Region::Vmalloc => "vmalloc",
            Region::Other => "other",
        })
    }
}

/// A byte count printed with a binary unit (`32KiB`, `4MiB`, `100B`).
pub(crate) struct Size(pub usize);

impl kernel::fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n >= 1 << 20 && n % (1 << 20) == 0 {
            write!(f, "{}MiB", n >> 20)
        } else if n >= 1 << 10 && n % (1 << 10) == 0 {
            write!(f, "{}KiB", n >> 10)
        } else {
            write!(f, "{}B", n)
        }
    }
}

/// The most runs a report line lists with `pfn_runs=` (a kernel log line
/// holds about a thousand characters).
const LISTED_RUNS: usize = 32;

/// What some pages look like physically.
struct Frames {
    pages: usize,
    runs: usize,
    first: usize,
    last: usize,
    zone: Option<Zone>,
    mixed_zones: bool,
    /// The first [`LISTED_RUNS`] runs: first pfn, length.
    listed: [(usize, usize); LISTED_RUNS],
}

impl Frames {
    fn of<'a>(it: impl Iterator<Item = PageRef<'a>>) -> Frames {
        let mut fr = Frames {
            pages: 0,
            runs: 0,
            first: 0,
            last: 0,
            zone: None,
            mixed_zones: false,
            listed: [(0, 0); LISTED_RUNS],
        };
        for (start, len) in pfn::pfn_runs(it) {
            if fr.runs < LISTED_RUNS {
                fr.listed[fr.runs] = (start.0, len);
            }
            if fr.runs == 0 {
                fr.first = start.0;
            }
            fr.runs += 1;
            fr.pages += len;
            fr.last = start.0 + len - 1;
            // A run can cross a zone boundary: look at both of its ends.
            for pfn in [start.0, fr.last] {
                let Some(z) = pfn::Pfn(pfn).page().map(|p| p.zone()) else {
                    continue;
                };
                match fr.zone {
                    None => fr.zone = Some(z),
                    Some(y) if y != z => fr.mixed_zones = true,
                    _ => {}
                }
            }
        }
        fr
    }

    fn contiguous(&self) -> bool {
        self.runs == 1
    }
}

/// `pfn_runs=0xSTART+LEN,...` for the runs of a scattered buffer (with
/// `...` when there are more than [`LISTED_RUNS`]); nothing for one run.
struct ListedRuns<'a>(&'a Frames);

impl kernel::fmt::Display for ListedRuns<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fr = self.0;
        if fr.runs < 2 {
            return Ok(());
        }
        f.write_str(" pfn_runs=")?;
        for (i, (start, len)) in fr.listed.iter().take(fr.runs).enumerate() {
            write!(f, "{}{:#x}+{}", if i == 0 { "" } else { "," }, start, len)?;
        }
        if fr.runs > LISTED_RUNS {
            f.write_str(",...")?;
        }
        Ok(())
    }
}

/// The physical runs of `pages` ([`pfn::pfn_runs`]) as (first pfn,
/// pages), in the pages' order; `None` if there is no memory for the list.
fn runs_of<'a>(pages: impl Iterator<Item = PageRef<'a>>) -> Option<KVec<(usize, usize)>> {
    let mut runs = KVec::new();
    for (start, len) in pfn::pfn_runs(pages) {
        runs.push((start.0, len), kernel::alloc::flags::GFP_KERNEL)
            .ok()?;
    }
    Some(runs)
}

/// How many physically separate pieces `runs` occupy, whatever order they
/// are mapped in: sorted by address (in place), adjacent runs merged.
/// Sixteen top-order runs mapped in descending order of adjacent blocks are
/// one piece; blocks with gaps between them are as many pieces.
fn pieces(runs: &mut [(usize, usize)]) -> usize {
    heap_sort_by_key(runs, |r| r.0);
    let merged = runs
        .windows(2)
        .filter(|w| w[0].0 + w[0].1 != w[1].0)
        .count();
    merged + usize::from(!runs.is_empty())
}

/// Sorts `v` by `key`, in place, in O(n log n), without `core`'s sort:
/// objtool (7.2) does not know that sort's panic helper never returns and
/// warns that the sort "falls through to next function"; this heap sort
/// only panics through bounds checks, which it knows.
fn heap_sort_by_key<T, K: Ord>(v: &mut [T], key: impl Fn(&T) -> K) {
    // Moves `v[i]` down the max-heap `v[..n]` to its place.
    let sift_down = |v: &mut [T], mut i: usize, n: usize| loop {
        let mut child = 2 * i + 1;
        if child >= n {
            return;
        }
        if child + 1 < n && key(&v[child]) < key(&v[child + 1]) {
            child += 1;
        }
        if key(&v[i]) >= key(&v[child]) {
            return;
        }
        v.swap(i, child);
        i = child;
    };
    for i in (0..v.len() / 2).rev() {
        sift_down(v, i, v.len());
    }
    for end in (1..v.len()).rev() {
        v.swap(0, end);
        sift_down(v, 0, end);
    }
}

/// Counts checks and prints the lines.
struct Report {
    show_addresses: bool,
    checks: usize,
    failed: usize,
}

impl Report {
    fn line(&mut self, what: fmt::Arguments<'_>, addr: Option<(*const u8, &Frames)>, ok: bool) {
        self.checks += 1;
        if !ok {
            self.failed += 1;
        }
        let verdict = if ok { "PASS" } else { "FAIL" };
        match addr {
            Some((va, fr)) if self.show_addresses => pr_info!(
                "report: {} virt={:p} phys={:#x} pfns={:#x}..{:#x}{}: {}\n",
                what,
                va,
                (fr.first as u64) << bindings::PAGE_SHIFT,
                fr.first,
                fr.last,
                fmt!("{}", ListedRuns(fr)),
                verdict
            ),
            _ => pr_info!("report: {}: {}\n", what, verdict),
        }
    }

    /// A probe whose result is an error, which may be the expected outcome.
    fn refused(&mut self, what: fmt::Arguments<'_>, got: Result<(), Error>, want: Error) {
        let ok = got.err() == Some(want);
        self.checks += 1;
        if !ok {
            self.failed += 1;
        }
        let name = if got.is_ok() { "success" } else { "error" };
        pr_info!(
            "report: {} result={} expected={}: {}\n",
            what,
            got.err().map_or(name, errname),
            errname(want),
            if ok { "PASS" } else { "FAIL" }
        );
    }

    fn failed_alloc(&mut self, what: fmt::Arguments<'_>, e: Error) {
        self.checks += 1;
        self.failed += 1;
        pr_info!("report: {} result={}: FAIL\n", what, errname(e));
    }
}

/// The errno name of the errors an allocator wrapper returns.
fn errname(e: Error) -> &'static str {
    if e == EINVAL {
        "EINVAL"
    } else if e == ENOMEM {
        "ENOMEM"
    } else {
        "error"
    }
}

fn zone_ok(gfp: Gfp, fr: &Frames) -> bool {
    let Some(z) = fr.zone else { return false };
    if fr.mixed_zones {
        return false;
    }
    // The allocator may fall back to lower zones, never to higher ones.
    let rank = |z: Zone| match z {
        Zone::Dma => 0,
        Zone::Dma32 => 1,
        Zone::Normal => 2,
        Zone::Movable => 3,
    };
    rank(z) <= rank(gfp.highest_zone())
}

fn probe_pages(r: &mut Report, gfp: Gfp, order: u32) {
    // Only a zeroed block may be read: the others hold uninitialised bytes.
    let res = if gfp.contains(Gfp::__GFP_ZERO) {
        Pages::alloc_zeroed(gfp, order)
            .map(|b| pages_line(r, gfp, &b, b.as_slice().iter().all(|&x| x == 0)))
    } else {
        Pages::alloc(gfp, order).map(|b| pages_line(r, gfp, &b, true))
    };
    if let Err(e) = res {
        r.failed_alloc(fmt!("alloc_pages order={} gfp={}", order, gfp), e);
    }
}

fn pages_line<S: Contents>(r: &mut Report, gfp: Gfp, block: &Pages<S>, zeroed: bool) {
    let order = block.order();
    let fr = Frames::of(block.pages());
    // GFP_DMA / GFP_DMA32 promise memory below the zone's limit.
    let limit_ok = gfp
        .highest_zone()
        .phys_limit()
        .is_none_or(|lim| block.phys() + block.size() as u64 <= lim);
    let ok = fr.contiguous()
        && fr.pages == 1 << order
        && Region::of(block.as_ptr()) == Region::DirectMap
        && zone_ok(gfp, &fr)
        && zeroed
        && limit_ok;
    r.line(
        fmt!(
            "alloc_pages order={} size={} gfp={} region={} zone={} contiguous={} pages={} runs={}",
            order,
            Size(block.size()),
            gfp,
            Region::of(block.as_ptr()),
            fr.zone.map_or("?", Zone::name),
            if fr.contiguous() { "yes" } else { "no" },
            fr.pages,
            fr.runs
        ),
        Some((block.as_ptr(), &fr)),
        ok,
    );
}

fn probe_free_pages(r: &mut Report, zeroed: bool, order: u32) {
    // `zeroed=` is checked for `get_zeroed_page()`; a `__get_free_pages()`
    // block holds uninitialised bytes, which are not read (`unknown`).
    let res = if zeroed {
        FreePages::zeroed(Gfp::GFP_KERNEL).map(|fp| {
            let z = fp.as_slice().iter().all(|&b| b == 0);
            free_pages_line(r, "get_zeroed_page", &fp, if z { "yes" } else { "no" }, z)
        })
    } else {
        FreePages::alloc(Gfp::GFP_KERNEL, order)
            .map(|fp| free_pages_line(r, "__get_free_pages", &fp, "unknown", true))
    };
    if let Err(e) = res {
        let api = if zeroed {
            "get_zeroed_page"
        } else {
            "__get_free_pages"
        };
        r.failed_alloc(fmt!("{} order={}", api, order), e);
    }
}

fn free_pages_line<S: Contents>(
    r: &mut Report,
    api: &str,
    fp: &FreePages<S>,
    zeroed: &str,
    ok: bool,
) {
    let first = fp.first().pfn().0;
    let fr = Frames::of((0..1usize << fp.order()).filter_map(|i| pfn::Pfn(first + i).page()));
    let ok = ok && fr.contiguous() && Region::of(fp.as_ptr()) == Region::DirectMap;
    r.line(
        fmt!(
            "{} order={} size={} gfp=GFP_KERNEL region={} zone={} contiguous={} pages={} zeroed={}",
            api,
            fp.order(),
            Size(fp.size()),
            Region::of(fp.as_ptr()),
            fr.zone.map_or("?", Zone::name),
            if fr.contiguous() { "yes" } else { "no" },
            fr.pages,
            zeroed
        ),
        Some((fp.as_ptr(), &fr)),
        ok,
    );
}

fn probe_reserved(r: &mut Report) {
    let total = pfn::totalram_pages();
    match Pages::alloc(Gfp::GFP_KERNEL, 0).and_then(Pages::into_reserved) {
        Ok(rp) => {
            let during = pfn::totalram_pages();
            let flagged = rp.page().is_reserved();
            drop(rp);
            let after = pfn::totalram_pages();
            r.line(
                fmt!(
                    "mark_page_reserved order=0 PG_reserved={} totalram_delta={} after_free_reserved_page_delta={}",
                    if flagged { "yes" } else { "no" },
                    during as isize - total as isize,
                    after as isize - total as isize
                ),
                None,
                flagged && during + 1 == total && after == total,
            );
        }
        Err(e) => r.failed_alloc(fmt!("mark_page_reserved order=0"), e),
    }
}

fn probe_kmalloc(r: &mut Report, len: usize, zero: bool) {
    let api = if zero { "kzalloc" } else { "kmalloc" };
    let res = if zero {
        KmallocBuf::zalloc(len, Gfp::GFP_KERNEL)
            .map(|b| kmalloc_line(r, api, len, &b, b.as_slice().iter().all(|&x| x == 0)))
    } else {
        KmallocBuf::alloc(len, Gfp::GFP_KERNEL).map(|b| kmalloc_line(r, api, len, &b, true))
    };
    if let Err(e) = res {
        r.failed_alloc(fmt!("{} size={}", api, Size(len)), e);
    }
}

fn kmalloc_line<S: Contents>(
    r: &mut Report,
    api: &str,
    len: usize,
    b: &KmallocBuf<S>,
    zero_ok: bool,
) {
    let fr = Frames::of(b.pages());
    let ok = fr.contiguous()
        && b.ksize() >= len
        && Region::of(b.as_ptr()) == Region::DirectMap
        && zero_ok;
    r.line(
        fmt!(
            "{} size={} ksize={} gfp=GFP_KERNEL region={} zone={} contiguous={} pages={} runs={}",
            api,
            Size(len),
            Size(b.ksize()),
            Region::of(b.as_ptr()),
            fr.zone.map_or("?", Zone::name),
            if fr.contiguous() { "yes" } else { "no" },
            fr.pages,
            fr.runs
        ),
        Some((b.as_ptr(), &fr)),
        ok,
    );
}

/// What a vmalloc probe does to free memory first.
#[derive(Clone, Copy, PartialEq)]
enum Before {
    /// Nothing: the buffer comes from free memory as it is.
    Nothing,
    /// [`interleave_top_blocks`] for the whole buffer.
    InterleavedBlocks,
}

/// Leaves `n` free blocks of the top order (`MAX_ORDER`: 4 MiB with 4 KiB
/// pages, 32 MiB on arm64 with 16 KiB pages) that are not next to each
/// other: takes `2n` such blocks and gives back every other one, in address
/// order, so that a block still held lies between any two given back: no
/// two of them can ever form one physical piece. The buddy allocator does
/// not merge blocks of the top order and hands the most recently freed one
/// out first, so the next large allocations mostly get these: the state of
/// a machine whose free memory is fragmented at the top order's size.
/// Mostly, not always: whatever asks the buddy allocator next, vmalloc's
/// own page array included (128 KiB for 64 MiB of 4 KiB pages), may cut one
/// of them up (see `docs/06-vmalloc.md`). Returns the blocks still held
/// (freed when dropped) and the first pfn of each block given back. Costs
/// `2n` top-order blocks for a moment (twice the report's 64 MiB probe);
/// takes nothing beyond what is free without reclaim (`__GFP_NORETRY`).
fn interleave_top_blocks(n: usize) -> (KVec<Pages>, KVec<usize>) {
    let gfp = Gfp::GFP_KERNEL | Gfp::__GFP_NOWARN | Gfp::__GFP_NORETRY;
    let mut taken = KVec::new();
    let mut given_back = KVec::new();
    for _ in 0..2 * n {
        let Ok(p) = Pages::alloc(gfp, MAX_ORDER) else {
            break;
        };
        if taken.push(p, kernel::alloc::flags::GFP_KERNEL).is_err() {
            break;
        }
    }
    heap_sort_by_key(&mut taken, |p| p.first().pfn().0);
    let mut i = 0;
    // Dropping an element frees its block: every other one goes back (one
    // whose pfn cannot be recorded is held instead, so every block given
    // back is listed).
    taken.retain(|p| {
        i += 1;
        i % 2 == 0
            || given_back
                .push(p.first().pfn().0, kernel::alloc::flags::GFP_KERNEL)
                .is_err()
    });
    (taken, given_back)
}

/// How many of the top-order blocks starting at `blocks` (first pfns) lie
/// whole in `runs`.
fn blocks_reused(runs: &[(usize, usize)], blocks: &[usize]) -> usize {
    let block = 1usize << MAX_ORDER;
    blocks
        .iter()
        .filter(|&&b| runs.iter().any(|&(s, l)| s <= b && b + block <= s + l))
        .count()
}

/// The report's words for what a probe did first (empty for nothing).
struct After(Before, usize);

impl kernel::fmt::Display for After {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Before::Nothing => Ok(()),
            Before::InterleavedBlocks => f.write_fmt(fmt!(
                " after={}-interleaved-{}-blocks",
                self.1,
                Size(PAGE_SIZE << MAX_ORDER)
            )),
        }
    }
}

/// How many of the blocks given back a buffer reused (nothing for
/// [`Before::Nothing`]).
struct Reused(Before, usize);

impl kernel::fmt::Display for Reused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Before::Nothing => Ok(()),
            Before::InterleavedBlocks => write!(f, " reused={}", self.1),
        }
    }
}

/// vmalloc `len` bytes, after `before` was done to free memory.
///
/// What to expect on 7.2: `vm_area_alloc_pages()` asks the buddy allocator
/// for the largest blocks it can get without direct reclaim (up to
/// `MAX_ORDER`, and at most `ilog2(pages left)`), splits them, maps their
/// pages in the order it got them, and only falls back to single pages
/// (the bulk allocator, from the per-CPU lists) when those fail. On an idle
/// machine the top-order blocks it gets are often adjacent and ascending,
/// so a 64 MiB buffer may come out as one run; after
/// [`interleave_top_blocks`] it mostly reuses the blocks given back
/// (`reused=`, of 16 for the report's 64 MiB), each of which is a physical
/// piece of its own, so `pieces=` is at least `reused=`. `pieces=` counts
/// the physical extents whatever the mapping order: adjacent blocks mapped
/// in descending order are many runs but one piece. `runs=` reports
/// what really happened either way.
fn probe_vmalloc(r: &mut Report, len: usize, before: Before) {
    let blocks = len.div_ceil(PAGE_SIZE << MAX_ORDER);
    let (held, given_back) = match before {
        Before::Nothing => (KVec::new(), KVec::new()),
        Before::InterleavedBlocks => interleave_top_blocks(blocks),
    };
    let result = VmallocBuf::alloc(len);
    drop(held);
    match result {
        Ok(v) => {
            let fr = Frames::of(v.pages());
            let ok = v.is_vmalloc_addr()
                && fr.pages == v.page_count()
                && Region::of(v.as_ptr()) == Region::Vmalloc;
            let (pieces, reused) = match runs_of(v.pages()) {
                Some(mut runs) => (pieces(&mut runs), blocks_reused(&runs, &given_back)),
                None => (0, 0),
            };
            let reused = Reused(before, reused);
            r.line(
                fmt!(
                    "vmalloc size={}{} gfp=GFP_KERNEL region={} zone={} contiguous={} pages={} runs={} pieces={}{}",
                    Size(v.size()),
                    After(before, given_back.len()),
                    Region::of(v.as_ptr()),
                    if fr.mixed_zones { "mixed" } else { fr.zone.map_or("?", Zone::name) },
                    if fr.contiguous() { "yes" } else { "no" },
                    fr.pages,
                    fr.runs,
                    pieces,
                    reused
                ),
                Some((v.as_ptr(), &fr)),
                ok,
            );
        }
        Err(e) => r.failed_alloc(fmt!("vmalloc size={}", Size(len)), e),
    }
}

/// The zones' physical ranges (`DMA=0x0..0x1000000(16MiB) DMA32=...`, or
/// `DMA32=empty`), and how much RAM each holds. Not hidden behind
/// `show_addresses`: it is the machine's RAM layout, the same on every
/// boot and world-readable in `/proc/zoneinfo`, not a randomised address.
struct Zones;

impl kernel::fmt::Display for Zones {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, zone) in Zone::ALL.into_iter().enumerate() {
            f.write_str(if i == 0 { "" } else { " " })?;
            match pfn::zone_span(zone) {
                Some(s) => f.write_fmt(fmt!(
                    "{}={:#x}..{:#x}({})",
                    zone,
                    s.start * PAGE_SIZE,
                    s.end * PAGE_SIZE,
                    Size(s.present * PAGE_SIZE)
                ))?,
                None => f.write_fmt(fmt!("{}=empty", zone))?,
            }
        }
        Ok(())
    }
}

/// Logs the memory layout: the architecture, page and block size, limits,
/// free memory, the zones, and with `show_addresses` the regions' kernel
/// addresses.
fn log_layout(show_addresses: bool) {
    let area = vmalloc::vmalloc_area();
    pr_info!(
        "report: layout: page_size={} max_order={} ({} blocks) kmalloc_max={} vmalloc_area={}TiB free_pages={} totalram_pages={}\n",
        PAGE_SIZE,
        MAX_ORDER,
        Size(PAGE_SIZE << MAX_ORDER),
        Size(KMALLOC_MAX_SIZE),
        (area.end - area.start + 1) >> 40,
        pfn::nr_free_pages(),
        pfn::totalram_pages()
    );
    pr_info!(
        "report: layout: arch={} zones: {}\n",
        if cfg!(CONFIG_X86_64) {
            "x86_64"
        } else if cfg!(CONFIG_ARM64) {
            "arm64"
        } else {
            "other"
        },
        Zones
    );
    if show_addresses {
        pr_info!(
            "report: layout: direct_map_start={:#x} vmalloc_start={:#x} vmalloc_end={:#x}\n",
            crate::mm::helpers::page_offset(),
            area.start,
            area.end
        );
    }
}

/// One object of the module's own slab cache.
fn probe_cache<T>(r: &mut Report, cache: &KmemCache<T>, sample: T) {
    match cache.alloc(sample, Gfp::GFP_KERNEL) {
        Ok(obj) => {
            let va = obj.as_ptr().cast::<u8>();
            let fr = Frames::of(PageRef::from_virt(va).into_iter());
            r.line(
                fmt!(
                    "kmem_cache_alloc cache={:?} object_size={} region={} zone={}",
                    cache.name(),
                    cache.object_size(),
                    Region::of(va),
                    fr.zone.map_or("?", Zone::name)
                ),
                Some((va, &fr)),
                Region::of(va) == Region::DirectMap,
            );
        }
        Err(e) => r.failed_alloc(fmt!("kmem_cache_alloc cache={:?}", cache.name()), e),
    }
}

/// What [`probe_ctor_cache`]'s objects are constructed to.
const CONSTRUCTED: u64 = 0x6d61_7064_7276; // "mapdrv"

/// Constructor calls so far, for [`probe_ctor_cache`] (the report runs once per load).
static CTOR_CALLS: Atomic<usize> = Atomic::new(0);

/// An object whose slab constructor counts its calls.
struct Counted(u64);

impl SlabConstruct for Counted {
    fn construct() -> Self {
        CTOR_CALLS.fetch_add(1, Relaxed);
        Counted(CONSTRUCTED)
    }
}

/// A cache with a constructor ([`CtorCache`]): SLUB runs the constructor
/// for every slot of a slab when it makes the slab (`setup_object()` from
/// `allocate_slab()`, mm/slub.c), not at each allocation, and a freed
/// object goes back in its constructed state. So the first allocation from
/// a fresh cache runs it once per object of the first slab (more than
/// once), and allocating again after a free runs it no more.
fn probe_ctor_cache(r: &mut Report) {
    const NAME: &CStr = c"mapdrv_report_ctor";
    let cache = match CtorCache::<Counted>::new(NAME, SlabFlags::NONE) {
        Ok(cache) => cache,
        Err(e) => return r.failed_alloc(fmt!("kmem_cache_create cache={:?} ctor", NAME), e),
    };
    let start = CTOR_CALLS.load(Relaxed);
    let first = match cache.alloc_constructed(Gfp::GFP_KERNEL) {
        Ok(obj) => obj,
        Err(e) => return r.failed_alloc(fmt!("kmem_cache_alloc cache={:?}", NAME), e),
    };
    let slab = CTOR_CALLS.load(Relaxed) - start;
    let mut constructed = first.0 == CONSTRUCTED;
    drop(first);
    let again = match cache.alloc_constructed(Gfp::GFP_KERNEL) {
        Ok(obj) => obj,
        Err(e) => return r.failed_alloc(fmt!("kmem_cache_alloc cache={:?} again", NAME), e),
    };
    let more = CTOR_CALLS.load(Relaxed) - start - slab;
    constructed &= again.0 == CONSTRUCTED;
    drop(again);
    r.line(
        fmt!(
            "kmem_cache_create ctor cache={:?} first_alloc_ctor_calls={} realloc_ctor_calls={} constructed={}",
            NAME,
            slab,
            more,
            if constructed { "yes" } else { "no" }
        ),
        None,
        slab > 1 && more == 0 && constructed,
    );
}

/// A mempool whose backing fails: the reserve still serves `min_nr`.
fn probe_mempool(r: &mut Report) {
    let backing = match FailableKmalloc::new(256) {
        Ok(backing) => backing,
        Err(e) => return r.failed_alloc(fmt!("mempool backing size=256"), e),
    };
    let pool = match Mempool::with_backing(4, &backing) {
        Ok(pool) => pool,
        Err(e) => return r.failed_alloc(fmt!("mempool_create min_nr=4"), e),
    };
    backing.set_failing(true);
    let mut served = 0;
    let mut held = KVec::new();
    // Ask for one more than the reserve holds: the fifth must fail.
    for _ in 0..5 {
        let Ok(e) = pool.alloc(Gfp::GFP_NOWAIT) else {
            break;
        };
        served += 1;
        if held.push(e, kernel::alloc::flags::GFP_KERNEL).is_err() {
            break;
        }
    }
    drop(held);
    backing.set_failing(false);
    r.line(
        fmt!(
            "mempool_alloc min_nr=4 element=256B backing=failing served_from_reserve={} reserve_after_free={}",
            served,
            pool.reserve()
        ),
        None,
        served == 4 && pool.reserve() == 4,
    );
}

/// Runs every probe and logs one line each, then the summary
/// (`allocation report: N checks, N passed, N failed`).
pub(crate) fn run<T>(cache: &KmemCache<T>, sample: T, show_addresses: bool) {
    let mut r = Report {
        show_addresses,
        checks: 0,
        failed: 0,
    };
    log_layout(show_addresses);

    probe_pages(&mut r, Gfp::GFP_KERNEL, 0);
    probe_pages(&mut r, Gfp::GFP_KERNEL, 3);
    probe_pages(&mut r, Gfp::GFP_KERNEL | Gfp::__GFP_NOWARN, MAX_ORDER);
    probe_pages(&mut r, Gfp::GFP_KERNEL | Gfp::__GFP_ZERO, 1);
    probe_pages(&mut r, Gfp::GFP_KERNEL | Gfp::GFP_DMA, 0);
    probe_pages(&mut r, Gfp::GFP_KERNEL | Gfp::GFP_DMA32, 2);
    probe_pages(&mut r, Gfp::GFP_HIGHUSER_MOVABLE, 0);
    probe_pages(&mut r, Gfp::GFP_ATOMIC, 0);
    r.refused(
        fmt!("alloc_pages order={} gfp=GFP_KERNEL", MAX_ORDER + 1),
        Pages::alloc(Gfp::GFP_KERNEL, MAX_ORDER + 1).map(drop),
        EINVAL,
    );
    probe_free_pages(&mut r, false, 2);
    probe_free_pages(&mut r, true, 0);
    probe_reserved(&mut r);

    probe_kmalloc(&mut r, 100, false);
    probe_kmalloc(&mut r, 4096, true);
    probe_kmalloc(&mut r, 64 << 10, false);
    r.refused(
        fmt!("kmalloc size={} gfp=GFP_KERNEL", Size(64 << 20)),
        KmallocBuf::alloc(64 << 20, Gfp::GFP_KERNEL).map(drop),
        EINVAL,
    );
    probe_cache(&mut r, cache, sample);
    probe_ctor_cache(&mut r);
    probe_mempool(&mut r);

    probe_vmalloc(&mut r, 16 * PAGE_SIZE, Before::Nothing);
    probe_vmalloc(&mut r, 64 << 20, Before::Nothing);
    probe_vmalloc(&mut r, 64 << 20, Before::InterleavedBlocks);

    pr_info!(
        "allocation report: {} checks, {} passed, {} failed\n",
        r.checks,
        r.checks - r.failed,
        r.failed
    );
}

#[kunit_tests(mapdrv_report)]
mod tests {
    use super::*;
    use kernel::alloc::flags::GFP_KERNEL;

    /// The report's own sort orders any input, keeps every element, and
    /// copes with the empty and one-element cases.
    #[test]
    fn heap_sort_sorts() -> Result {
        for n in [0usize, 1, 2, 3, 200] {
            let mut v = KVec::new();
            let mut x: u64 = 12345 + n as u64;
            let mut before = [0usize; 50];
            for _ in 0..n {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let e = (x >> 33) as usize % 50;
                before[e] += 1;
                v.push(e, GFP_KERNEL)?;
            }
            heap_sort_by_key(&mut v, |&e| e);
            assert!(v.windows(2).all(|w| w[0] <= w[1]));
            let mut after = [0usize; 50];
            for &e in v.iter() {
                after[e] += 1;
            }
            assert!(before == after);
        }
        Ok(())
    }
}
