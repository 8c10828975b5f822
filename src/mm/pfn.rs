// SPDX-License-Identifier: GPL-2.0

//! Looking at pages without owning them: page frame numbers, `struct page`
//! and the conversions between pfns, pages and direct-map addresses.
//!
//! C API: `pfn_valid()`, `page_to_pfn()` / `pfn_to_page()`,
//! `virt_to_page()` / `page_address()`, `virt_to_pfn()` / `pfn_to_virt()`,
//! `page_zonenum()`, `page_count()`, `PageReserved()` (`include/linux/mm.h`),
//! and the global counters `NR_FREE_PAGES` and `totalram_pages()`.
//!
//! A [`PageRef`] proves a `struct page` exists, nothing more: it cannot be
//! used to reach the page's memory or to map it. Owning pages is
//! [`crate::mm::page`]'s business.

use crate::mm::gfp::Zone;
use crate::mm::helpers::*;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::ffi::c_ulong;

#[cfg(CONFIG_HIGHMEM)]
compile_error!("mapdrv assumes every page has a direct-map address (no CONFIG_HIGHMEM)");
#[cfg(CONFIG_MEMORY_HOTREMOVE)]
compile_error!(
    "mapdrv's PageRef<'static> assumes struct pages are never removed (no CONFIG_MEMORY_HOTREMOVE)"
);

/// The physically contiguous runs of some pages, in the order given: each
/// item is a run's first frame and its length in pages. A vmalloc buffer
/// whose pages happen to be adjacent is one run; `count()` is how
/// scattered it is.
pub(crate) struct PfnRuns<I> {
    pages: I,
    /// The run being extended: first pfn, length.
    current: Option<(usize, usize)>,
}

/// The runs of `pages` (see [`PfnRuns`]).
pub(crate) fn pfn_runs<'a, I: Iterator<Item = PageRef<'a>>>(pages: I) -> PfnRuns<I> {
    PfnRuns {
        pages,
        current: None,
    }
}

impl<'a, I: Iterator<Item = PageRef<'a>>> Iterator for PfnRuns<I> {
    type Item = (Pfn, usize);

    fn next(&mut self) -> Option<(Pfn, usize)> {
        for p in self.pages.by_ref() {
            let pfn = p.pfn().0;
            match self.current {
                Some((start, len)) if start + len == pfn => self.current = Some((start, len + 1)),
                Some((start, len)) => {
                    self.current = Some((pfn, 1));
                    return Some((Pfn(start), len));
                }
                None => self.current = Some((pfn, 1)),
            }
        }
        self.current.take().map(|(start, len)| (Pfn(start), len))
    }
}

/// A page frame number: a physical address divided by `PAGE_SIZE`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) struct Pfn(pub usize);

impl Pfn {
    /// Whether a `struct page` exists for this frame (`pfn_valid()`).
    #[inline]
    pub(crate) fn is_valid(self) -> bool {
        // SAFETY: `pfn_valid()` accepts any value.
        unsafe { mapdrv_pfn_valid(self.0 as c_ulong) }
    }

    /// The physical address of the frame's first byte.
    #[inline]
    pub(crate) fn phys(self) -> u64 {
        (self.0 as u64) << bindings::PAGE_SHIFT
    }

    /// The frame's `struct page` (`pfn_to_page()`), if the frame is valid.
    pub(crate) fn page(self) -> Option<PageRef<'static>> {
        if !self.is_valid() {
            return None;
        }
        // SAFETY: `pfn_valid()` holds, which is `pfn_to_page()`'s precondition.
        let ptr = unsafe { mapdrv_pfn_to_page(self.0 as c_ulong) };
        // SAFETY: `pfn_to_page()` of a valid pfn is a valid `struct page`,
        // and struct pages are never freed on this configuration (no memory
        // hot-remove, checked above).
        NonNull::new(ptr).map(|p| unsafe { PageRef::from_raw(p) })
    }

    /// The frame's address in the direct map (`pfn_to_virt()`), if valid.
    pub(crate) fn to_virt(self) -> Option<NonNull<u8>> {
        if !self.is_valid() {
            return None;
        }
        // SAFETY: `pfn_to_kaddr()` is arithmetic; the pfn is valid, so the
        // result lies in the direct map.
        NonNull::new(unsafe { mapdrv_pfn_to_virt(self.0 as c_ulong) }.cast())
    }

    /// The pfn behind a direct-map address (`virt_to_pfn()`), or `None` for
    /// any other address (vmalloc area, user space, garbage).
    pub(crate) fn from_virt(addr: *const u8) -> Option<Pfn> {
        PageRef::from_virt(addr).map(|p| p.pfn())
    }
}

/// A shared view of one `struct page`: its metadata, not its memory.
///
/// It does not own the page or a reference to it; it only proves the
/// `struct page` exists for `'a` (on this configuration `struct page`s are
/// never freed, hence `PageRef<'static>` from any valid pfn or direct-map
/// address). It is for inspection: pfn, zone, flags, reference count. It
/// can never be handed to user space: that takes a [`crate::mm::page::UserPage`], which only
/// an owner of a suitable page can produce. Use [`crate::mm::page::Pages`] or [`crate::mm::page::FreePages`]
/// to own memory.
///
/// # Invariants
///
/// `ptr` points to a valid `struct page` for the lifetime `'a`.
#[derive(Clone, Copy)]
pub(crate) struct PageRef<'a> {
    ptr: NonNull<bindings::page>,
    _life: PhantomData<&'a bindings::page>,
}

impl PageRef<'_> {
    /// Wraps a raw `struct page` pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid `struct page` for the chosen lifetime.
    #[inline]
    pub(crate) unsafe fn from_raw(ptr: NonNull<bindings::page>) -> Self {
        // INVARIANT: guaranteed by the caller.
        PageRef {
            ptr,
            _life: PhantomData,
        }
    }

    /// The page behind a direct-map address (`virt_to_page()`), or `None` if
    /// `addr` is not in the direct map (`virt_addr_valid()` is false), e.g. a
    /// vmalloc address: use [`crate::mm::vmalloc::VmallocBuf`] for those.
    pub(crate) fn from_virt(addr: *const u8) -> Option<PageRef<'static>> {
        // SAFETY: `virt_addr_valid()` accepts any address.
        if !unsafe { mapdrv_virt_addr_valid(addr.cast()) } {
            return None;
        }
        // SAFETY: `virt_addr_valid()` holds, which `virt_to_page()` requires.
        let ptr = unsafe { mapdrv_virt_to_page(addr.cast()) };
        // SAFETY: a valid direct-map address has a valid `struct page`, never freed here.
        NonNull::new(ptr).map(|p| unsafe { PageRef::from_raw(p) })
    }

    /// The raw `struct page` pointer.
    #[inline]
    pub(crate) fn as_ptr(&self) -> *mut bindings::page {
        self.ptr.as_ptr()
    }

    /// The page frame number (`page_to_pfn()`).
    #[inline]
    pub(crate) fn pfn(&self) -> Pfn {
        // SAFETY: by the type invariant `ptr` is a valid `struct page`.
        Pfn(unsafe { mapdrv_page_to_pfn(self.ptr.as_ptr()) } as usize)
    }

    /// The physical address of the page.
    #[inline]
    pub(crate) fn phys(&self) -> u64 {
        self.pfn().phys()
    }

    /// The page's address in the direct map (`page_address()`).
    #[inline]
    pub(crate) fn direct_map_addr(&self) -> *mut u8 {
        // SAFETY: by the type invariant `ptr` is a valid `struct page`.
        unsafe { mapdrv_page_address(self.ptr.as_ptr()) }.cast()
    }

    /// The zone the page belongs to (`page_zonenum()`).
    pub(crate) fn zone(&self) -> Zone {
        // SAFETY: by the type invariant `ptr` is a valid `struct page`.
        let raw = unsafe { mapdrv_page_zonenum(self.ptr.as_ptr()) };
        // `page_zonenum()` only returns zones this kernel was built with.
        Zone::from_raw(raw as u32).unwrap_or(Zone::Normal)
    }

    /// The page's reference count (`page_count()`); 0 for a free page or the
    /// tail of a non-compound block.
    #[inline]
    pub(crate) fn refcount(&self) -> i32 {
        // SAFETY: by the type invariant `ptr` is a valid `struct page`.
        unsafe { mapdrv_page_count(self.ptr.as_ptr()) }
    }

    /// Whether `PG_reserved` is set (`PageReserved()`).
    #[inline]
    pub(crate) fn is_reserved(&self) -> bool {
        // SAFETY: by the type invariant `ptr` is a valid `struct page`.
        unsafe { mapdrv_page_reserved(self.ptr.as_ptr()) }
    }
}

/// Pages the buddy allocator currently holds free (`NR_FREE_PAGES`).
pub(crate) fn nr_free_pages() -> usize {
    // SAFETY: reads a global counter.
    unsafe { mapdrv_nr_free_pages() as usize }
}

/// Where `zone` lies in physical memory on the first node: its page frames
/// `start..end` and how many of them are present (RAM, not holes), or
/// `None` if the zone is empty. This is `/proc/zoneinfo`'s
/// `start_pfn`/`spanned`/`present`: the boundaries the architecture drew at
/// boot (`arch_zone_limits_init()`), which differ between x86-64 and arm64.
pub(crate) fn zone_span(zone: Zone) -> Option<ZoneSpan> {
    let (mut start, mut end): (c_ulong, c_ulong) = (0, 0);
    // SAFETY: `start` and `end` are writable locals; any zone number is
    // accepted (out of range gives 0).
    let present = unsafe { mapdrv_zone_span(zone.to_raw() as i32, &mut start, &mut end) };
    // `c_ulong` is `usize` in the kernel's `ffi`.
    (present != 0).then_some(ZoneSpan {
        start,
        end,
        present,
    })
}

/// A zone's page frames (see [`zone_span`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ZoneSpan {
    /// Its first page frame.
    pub(crate) start: usize,
    /// One past its last page frame.
    pub(crate) end: usize,
    /// Page frames in `start..end` that are RAM.
    pub(crate) present: usize,
}

/// Pages the kernel manages (`totalram_pages()`).
pub(crate) fn totalram_pages() -> usize {
    // SAFETY: reads a global counter.
    unsafe { mapdrv_totalram_pages() as usize }
}
