// SPDX-License-Identifier: GPL-2.0

//! Pages from the buddy allocator, of any order, owned: blocks from
//! `alloc_pages()` and `__get_free_pages()`, reserved pages, and the only
//! pages that may be mapped to user space. Looking at pages without owning
//! them (pfns, `struct page`, conversions) is [`crate::mm::pfn`].
//!
//! C API: `alloc_pages()` / `__free_pages()`, `__get_free_pages()` /
//! `get_zeroed_page()` / `free_pages()` (`include/linux/gfp.h`),
//! `mark_page_reserved()` / `free_reserved_page()` (`include/linux/mm.h`).
//!
//! The buddy allocator hands out blocks of `2^order` physically contiguous
//! pages, `order` from 0 to `MAX_PAGE_ORDER` (10 with 4 KiB pages: 4 MiB; 11 on
//! arm64 with 16 KiB pages: 32 MiB). There
//! are two faces to the same allocator: `alloc_pages()` returns the first
//! `struct page` of the block, `__get_free_pages()` the block's address in
//! the direct map. [`Pages`] and [`FreePages`] own one block each and give
//! it back on `Drop`, with the same order, to the matching free function.
//!
//! `upstream kernel::page::Page` covers order 0 and deliberately exposes no
//! direct-map address (it supports `HIGHMEM`); mapdrv targets x86-64, where
//! every page is in the direct map, and says so at compile time.
//!
//! # Examples
//!
//! ```no_run
//! use crate::mm::{gfp::Gfp, page::Pages};
//! let block = Pages::alloc_zeroed(Gfp::GFP_KERNEL, 3)?; // 8 pages, 32 KiB
//! assert_eq!(block.page_count(), 8);
//! assert!(block.as_slice().iter().all(|&b| b == 0));    // `Pages<Init>`: u8 views
//! let mut raw = Pages::alloc(Gfp::GFP_KERNEL, 0)?;        // `Pages<Uninit>`:
//! let _: &mut [core::mem::MaybeUninit<u8>] = raw.as_uninit_mut(); // no u8 view
//! let filled = raw.fill(0xff);                            // now `Pages<Init>`
//! let first = block.pfn();
//! assert!(block.pages().enumerate().all(|(i, p)| p.pfn().0 == first.0 + i));
//! // Dropping `block` calls `__free_pages(page, 3)`.
//! ```

use crate::mm::gfp::{Gfp, Zone};
use crate::mm::helpers::*;
use crate::mm::owned::{uninit_bytes_mut, Owned, Release};
pub(crate) use crate::mm::owned::{Contents, Init, Uninit};
use crate::mm::pfn::{PageRef, Pfn};
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::ffi::c_ulong;
use kernel::prelude::*;

/// The largest order the buddy allocator serves (`MAX_PAGE_ORDER`).
pub(crate) const MAX_ORDER: u32 = bindings::MAX_PAGE_ORDER;

/// The size of a page in bytes: the `kernel` crate's.
pub(crate) use kernel::page::PAGE_SIZE;

fn check_order(order: u32) -> Result {
    if order > MAX_ORDER {
        return Err(EINVAL);
    }
    Ok(())
}

/// An owned block of `2^order` physically contiguous pages from
/// `alloc_pages()`, given back by `Drop` with `__free_pages(page, order)`.
///
/// `S` says what is known of the contents: [`Pages::alloc`] gives
/// `Pages<Uninit>` (views are `MaybeUninit<u8>`), [`Pages::alloc_zeroed`]
/// and [`Pages::fill`] give `Pages<Init>` (views are `u8`).
///
/// The block is kernel-private memory: nothing here maps it into user space
/// (see [`UserPage`] for what may be), so `&self`/`&mut self` views are
/// sound.
///
/// # Invariants
///
/// `first` is the first `struct page` of a block of `2^order` pages that
/// `alloc_pages(_, order)` returned and that this value owns exclusively;
/// `order <= MAX_ORDER`. If `S` is [`Init`], every byte of the block has
/// been written.
pub(crate) struct Pages<S: Contents = Uninit> {
    first: NonNull<bindings::page>,
    order: u32,
    _contents: PhantomData<S>,
}

// SAFETY: a block of pages is plain memory owned by this value; it can be
// used and freed from any thread.
unsafe impl<S: Contents> Send for Pages<S> {}
// SAFETY: shared references only read metadata or the memory, which
// `&self` methods never write.
unsafe impl<S: Contents> Sync for Pages<S> {}

impl Pages<Uninit> {
    /// Allocates `2^order` contiguous pages with `alloc_pages(gfp, order)`.
    ///
    /// Returns `EINVAL` for `order > MAX_ORDER` (the buddy allocator stops
    /// at `MAX_PAGE_ORDER`) or a
    /// zone combination `gfp_zone()` rejects, before calling the allocator,
    /// and `ENOMEM` when the allocator fails. The contents are [`Uninit`]
    /// even if `gfp` has `__GFP_ZERO`; use [`Pages::alloc_zeroed`] to get
    /// byte views.
    pub(crate) fn alloc(gfp: Gfp, order: u32) -> Result<Self> {
        check_order(order)?;
        let raw = gfp.for_pages()?;
        // SAFETY: `order <= MAX_PAGE_ORDER` and the zone bits are valid;
        // depending on `gfp` the call may sleep, which the caller chose.
        let page = unsafe { bindings::alloc_pages(raw, order) };
        let first = NonNull::new(page).ok_or(ENOMEM)?;
        // INVARIANT: a non-NULL `alloc_pages()` result is a block of
        // `2^order` pages now owned by us; `order` was checked; `Uninit`
        // claims nothing about the contents.
        Ok(Pages {
            first,
            order,
            _contents: PhantomData,
        })
    }
}

impl Pages<Uninit> {
    /// Fills the block with `byte`; from then on it has `u8` views.
    pub(crate) fn fill(mut self, byte: u8) -> Pages<Init> {
        for b in self.as_uninit_mut() {
            b.write(byte);
        }
        // SAFETY: every byte was just written.
        unsafe { self.assume_init() }
    }

    /// The block's memory as possibly uninitialised bytes, writable. Only
    /// while nothing is known of the contents: on an [`Init`] block it would
    /// let safe code write `MaybeUninit::uninit()` over bytes that
    /// [`Pages::as_slice`] then reads as `u8` (the conversion
    /// `&mut [u8]` to `&mut [MaybeUninit<u8>]` that core keeps `unsafe`).
    pub(crate) fn as_uninit_mut(&mut self) -> &mut [MaybeUninit<u8>] {
        // SAFETY: the block is `size()` bytes of direct-mapped memory owned
        // by `self`; `&mut self` makes the access unique.
        unsafe { uninit_bytes_mut(self.as_ptr(), self.size()) }
    }
}

impl Pages<Init> {
    /// `alloc_pages(gfp | __GFP_ZERO, order)`: like [`Pages::alloc`], with
    /// every byte zeroed by the allocator.
    pub(crate) fn alloc_zeroed(gfp: Gfp, order: u32) -> Result<Self> {
        let block = Pages::alloc(gfp | Gfp::__GFP_ZERO, order)?;
        // SAFETY: `__GFP_ZERO` made the allocator zero every byte.
        Ok(unsafe { block.assume_init() })
    }

    /// The block's memory.
    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: the block is `size()` bytes of direct-mapped memory owned
        // by `self`, all written (`Init`), and `&self` excludes writers.
        unsafe { core::slice::from_raw_parts(self.as_ptr(), self.size()) }
    }
}

impl<S: Contents> Pages<S> {
    /// The same block, known to be initialised.
    ///
    /// # Safety
    ///
    /// Every byte of the block must have been written.
    unsafe fn assume_init(self) -> Pages<Init> {
        let this = core::mem::ManuallyDrop::new(self);
        // INVARIANT: the same owned block; initialised per the caller.
        Pages {
            first: this.first,
            order: this.order,
            _contents: PhantomData,
        }
    }

    /// The order of the block.
    #[inline]
    pub(crate) fn order(&self) -> u32 {
        self.order
    }

    /// How many pages the block has (`2^order`).
    #[inline]
    pub(crate) fn page_count(&self) -> usize {
        1 << self.order
    }

    /// The size of the block in bytes.
    #[inline]
    pub(crate) fn size(&self) -> usize {
        PAGE_SIZE << self.order
    }

    /// The first page, for inspection.
    #[inline]
    pub(crate) fn first(&self) -> PageRef<'_> {
        // SAFETY: by the type invariant `first` is valid while we own it.
        unsafe { PageRef::from_raw(self.first) }
    }

    /// The first page's frame number; the block is `pfn()..pfn() + page_count()`.
    #[inline]
    pub(crate) fn pfn(&self) -> Pfn {
        self.first().pfn()
    }

    /// The physical address of the block.
    #[inline]
    pub(crate) fn phys(&self) -> u64 {
        self.first().phys()
    }

    /// The zone of the block (a buddy block never straddles zones).
    #[inline]
    pub(crate) fn zone(&self) -> Zone {
        self.first().zone()
    }

    /// The pages of the block, in order, for inspection. Without
    /// `__GFP_COMP` only the first carries the block's reference count; the
    /// others are tail pages with a count of 0, which is why none of these
    /// can be turned into a [`UserPage`].
    pub(crate) fn pages(&self) -> impl Iterator<Item = PageRef<'_>> + '_ {
        let first = self.pfn().0;
        (0..self.page_count()).map(move |i| {
            // SAFETY: every pfn of an owned block is valid, and its
            // `struct page` lives at least as long as the block.
            unsafe {
                PageRef::from_raw(NonNull::new_unchecked(mapdrv_pfn_to_page(
                    (first + i) as c_ulong,
                )))
            }
        })
    }

    /// The block's address in the direct map.
    #[inline]
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.first().direct_map_addr()
    }

    /// Marks an order-0 page reserved (`mark_page_reserved()`), see
    /// [`ReservedPage`]. Returns `EINVAL` (and `self` is freed) for a block
    /// of higher order: `free_reserved_page()` frees single pages.
    pub(crate) fn into_reserved(self) -> Result<ReservedPage> {
        if self.order != 0 {
            return Err(EINVAL);
        }
        let page = core::mem::ManuallyDrop::new(self).first;
        // SAFETY: we own `page` (order 0) and hand ownership to the
        // `ReservedPage`, which frees it with `free_reserved_page()`.
        unsafe { mapdrv_mark_page_reserved(page.as_ptr()) };
        // INVARIANT: `page` is owned and was marked reserved just now.
        Ok(ReservedPage { page })
    }
}

impl<S: Contents> Drop for Pages<S> {
    fn drop(&mut self) {
        // SAFETY: by the type invariant we own this block of this order,
        // and this is the only place it is freed.
        unsafe { bindings::__free_pages(self.first.as_ptr(), self.order) };
    }
}

/// Gives a `__get_free_pages()` block of this order back with
/// `free_pages(addr, order)`.
pub(crate) struct FreePagesOrder(u32);

// SAFETY: `FreePages`' constructors hand `Owned` only blocks that
// `__get_free_pages(_, order)` or (order 0) `get_zeroed_page()` returned,
// which `free_pages(addr, order)` frees from any thread and context.
unsafe impl Release for FreePagesOrder {
    #[inline]
    unsafe fn release(&self, ptr: NonNull<u8>, _size: usize) {
        // SAFETY: such a block being dropped (the trait's contract).
        unsafe { bindings::free_pages(ptr.as_ptr() as usize as c_ulong, self.0) };
    }
}

/// An owned block from `__get_free_pages()` / `get_zeroed_page()`, known by
/// its direct-map address, given back by `Drop` with `free_pages(addr, order)`.
///
/// As for [`Pages`], `S` says whether the contents are known
/// ([`FreePages::zeroed`]: [`Init`]) or not ([`FreePages::alloc`]: [`Uninit`]).
pub(crate) type FreePages<S = Uninit> = Owned<FreePagesOrder, S>;

impl FreePages<Uninit> {
    /// `__get_free_pages(gfp, order)`: `EINVAL` for `order > MAX_ORDER` or
    /// an invalid zone combination, `ENOMEM` on failure.
    pub(crate) fn alloc(gfp: Gfp, order: u32) -> Result<Self> {
        check_order(order)?;
        let raw = gfp.for_pages()?;
        // SAFETY: `order` and the zone bits are valid; sleeping is the
        // caller's choice via `gfp`.
        let addr = unsafe { mapdrv_get_free_pages(raw, order) };
        let addr = NonNull::new(addr as *mut u8).ok_or(ENOMEM)?;
        // SAFETY: a non-zero result is a direct-mapped block of this order
        // that we own, freed by `free_pages(addr, order)`.
        Ok(unsafe { Owned::from_raw(addr, PAGE_SIZE << order, FreePagesOrder(order)) })
    }
}

impl FreePages<Init> {
    /// `get_zeroed_page(gfp)`: one zeroed page.
    pub(crate) fn zeroed(gfp: Gfp) -> Result<Self> {
        let raw = gfp.for_pages()?;
        // SAFETY: valid zone bits; sleeping is the caller's choice via `gfp`.
        let addr = unsafe { mapdrv_get_zeroed_page(raw) };
        let addr = NonNull::new(addr as *mut u8).ok_or(ENOMEM)?;
        // SAFETY: a non-zero result is an owned, zeroed order-0 block in
        // the direct map, freed by `free_pages(addr, 0)`.
        Ok(unsafe { Owned::from_raw(addr, PAGE_SIZE, FreePagesOrder(0)) })
    }
}

impl<S: Contents> FreePages<S> {
    /// The order of the block.
    #[inline]
    pub(crate) fn order(&self) -> u32 {
        self.release().0
    }

    /// The first page (`virt_to_page(addr)`), for inspection.
    pub(crate) fn first(&self) -> PageRef<'_> {
        // SAFETY: `as_ptr()` is the direct-map address of a page we own, so
        // `virt_to_page()` is valid for it and the page outlives `&self`.
        unsafe {
            PageRef::from_raw(NonNull::new_unchecked(mapdrv_virt_to_page(
                self.as_ptr().cast(),
            )))
        }
    }
}

/// An order-0 page taken out of the allocator's accounting with
/// `mark_page_reserved()`; `Drop` hands it back with `free_reserved_page()`.
///
/// Ownership, exactly: the value owns the page as [`Pages`] did, but while
/// it lives the page has `PG_reserved` set and is not counted in the zone's
/// managed pages nor in `totalram_pages()` (the pair exists to hand
/// boot-time, init or balloon memory to the buddy allocator).
/// `free_reserved_page()` clears `PG_reserved`, *resets* the reference
/// count to one (`init_page_count()`), frees the page and counts it again.
/// The page must not be freed any other way, and no one else may hold a
/// reference when `Drop` runs: this is why this type offers only a
/// [`PageRef`] (inspection), never a [`UserPage`] that a mapping could keep.
///
/// # Invariants
///
/// `page` is an order-0 page this value owns, marked with
/// `mark_page_reserved()`, with no reference held by anyone else.
pub(crate) struct ReservedPage {
    page: NonNull<bindings::page>,
}

// SAFETY: an owned page; nothing ties it to a thread.
unsafe impl Send for ReservedPage {}
// SAFETY: `&self` methods only read metadata.
unsafe impl Sync for ReservedPage {}

impl ReservedPage {
    /// The page, for inspection.
    #[inline]
    pub(crate) fn page(&self) -> PageRef<'_> {
        // SAFETY: by the type invariant `page` is valid while we own it.
        unsafe { PageRef::from_raw(self.page) }
    }
}

impl Drop for ReservedPage {
    fn drop(&mut self) {
        // SAFETY: by the type invariant we own a page marked with
        // `mark_page_reserved()` that nobody else references, which is what
        // `free_reserved_page()` (it resets the count) requires.
        unsafe { mapdrv_free_reserved_page(self.page.as_ptr()) };
    }
}

/// A page that may be handed to user space: mapped by a fault handler
/// ([`crate::mm::virt::Fault::Page`]) or batch-inserted
/// ([`crate::mm::virt::VmFault::map_pages`]).
///
/// Installing a page in a user page table takes a reference on it
/// (`get_page()`), and from then on the mapping, not the allocator, decides
/// when it is freed. That is only sound for pages whose lifetime *is* their
/// reference count; so a `UserPage` cannot be made from a pfn, an address,
/// a [`PageRef`] or any allocation of this crate except the one built to be
/// shared with user space ([`crate::mm::vmalloc::SharedUserVmalloc::page`]).
/// Excluded on purpose: slab pages (their objects have other owners; the
/// core rejects them with `page_has_type()`), tail pages of non-compound
/// blocks (reference count 0: `get_page()` would `VM_BUG_ON` or resurrect
/// a page the block's `__free_pages()` frees), reserved pages
/// (`free_reserved_page()` resets the count under the mapping) and
/// kernel-private blocks that offer `&[u8]` views ([`Pages`]).
///
/// # Invariants
///
/// `ptr` is an order-0, non-compound page that is not a slab, typed,
/// anonymous or reserved page, whose reference count is at least one for
/// `'a`: a reference owned by an allocation that outlives `'a`. Its memory
/// is never behind a Rust reference (it may be written by user space at any
/// time).
#[derive(Clone, Copy)]
pub(crate) struct UserPage<'a> {
    ptr: NonNull<bindings::page>,
    _owner: PhantomData<&'a ()>,
}

impl<'a> UserPage<'a> {
    /// Wraps a page that satisfies the type's invariants.
    ///
    /// # Safety
    ///
    /// `ptr` must satisfy every clause of the `# Invariants` section for `'a`.
    #[inline]
    pub(crate) unsafe fn from_raw(ptr: NonNull<bindings::page>) -> Self {
        // INVARIANT: guaranteed by the caller.
        UserPage {
            ptr,
            _owner: PhantomData,
        }
    }

    /// The raw `struct page` pointer.
    #[inline]
    pub(crate) fn as_ptr(&self) -> *mut bindings::page {
        self.ptr.as_ptr()
    }

    /// The same page, for inspection.
    #[inline]
    pub(crate) fn info(&self) -> PageRef<'a> {
        // SAFETY: by the type invariant the page is valid for `'a`.
        unsafe { PageRef::from_raw(self.ptr) }
    }
}

#[kunit_tests(mapdrv_pages)]
mod tests {
    use super::*;
    use crate::mm::pfn::{nr_free_pages, totalram_pages};

    /// Every order from 0 to MAX_ORDER allocates a block of the right size
    /// whose pfns are consecutive and naturally aligned (buddy blocks are).
    #[test]
    fn every_order_is_contiguous_and_aligned() -> Result {
        for order in 0..=MAX_ORDER {
            let block = Pages::alloc(Gfp::GFP_KERNEL | Gfp::__GFP_NOWARN, order)?;
            assert_eq!(block.page_count(), 1 << order);
            assert_eq!(block.size(), PAGE_SIZE << order);
            let first = block.pfn().0;
            assert_eq!(first % (1 << order), 0);
            let mut n = 0;
            for (i, p) in block.pages().enumerate() {
                assert_eq!(p.pfn().0, first + i);
                n += 1;
            }
            assert_eq!(n, 1 << order);
        }
        Ok(())
    }

    /// The sizes mapdrv derives from `bindings` are those of the kernel's
    /// configuration, as the test knows it: 4 KiB pages and
    /// `MAX_PAGE_ORDER` 10, or on arm64 with 16 KiB pages 16 KiB and 11
    /// (`ARCH_FORCE_MAX_ORDER`, arch/arm64/Kconfig); kmalloc's limit is one
    /// top-order block (`KMALLOC_SHIFT_MAX`, include/linux/slab.h).
    #[test]
    fn page_size_and_top_order_follow_the_config() {
        let (size, order) = if cfg!(CONFIG_ARM64_16K_PAGES) {
            (16384, 11)
        } else {
            (4096, 10)
        };
        assert_eq!(PAGE_SIZE, size);
        assert_eq!(1 << bindings::PAGE_SHIFT, size);
        assert_eq!(MAX_ORDER, order);
        assert_eq!(crate::mm::kmalloc::KMALLOC_MAX_SIZE, size << order);
    }

    /// An order above MAX_PAGE_ORDER is refused with EINVAL, by us.
    #[test]
    fn order_above_max_is_einval() {
        assert_eq!(
            Pages::alloc(Gfp::GFP_KERNEL, MAX_ORDER + 1).err(),
            Some(EINVAL)
        );
        assert_eq!(
            FreePages::alloc(Gfp::GFP_KERNEL, MAX_ORDER + 1).err(),
            Some(EINVAL)
        );
        assert_eq!(Pages::alloc(Gfp::GFP_KERNEL, u32::MAX).err(), Some(EINVAL));
    }

    /// `__GFP_ZERO` and `get_zeroed_page()` give zeroed memory, even when
    /// the page was dirty when it was last freed.
    #[test]
    fn zeroed_allocations_are_zero() -> Result {
        let dirty = Pages::alloc(Gfp::GFP_KERNEL, 2)?.fill(0x5a);
        assert!(dirty.as_slice().iter().all(|&b| b == 0x5a));
        drop(dirty);
        let z = Pages::alloc_zeroed(Gfp::GFP_KERNEL, 2)?;
        assert!(z.as_slice().iter().all(|&b| b == 0));
        let zp = FreePages::zeroed(Gfp::GFP_KERNEL)?;
        assert_eq!(zp.size(), PAGE_SIZE);
        assert!(zp.as_slice().iter().all(|&b| b == 0));
        Ok(())
    }

    /// pfn -> page -> pfn, page -> virt -> page and virt -> pfn -> virt all
    /// round-trip, for every page of a block.
    #[test]
    fn conversions_round_trip() -> Result {
        let block = Pages::alloc(Gfp::GFP_KERNEL, 2)?;
        for (i, p) in block.pages().enumerate() {
            let pfn = p.pfn();
            assert!(pfn.is_valid());
            let back = pfn.page().ok_or(EINVAL)?;
            assert_eq!(back.as_ptr(), p.as_ptr());
            let va = p.direct_map_addr();
            assert_eq!(va, block.as_ptr().wrapping_add(i * PAGE_SIZE));
            assert_eq!(PageRef::from_virt(va).map(|q| q.as_ptr()), Some(p.as_ptr()));
            assert_eq!(Pfn::from_virt(va), Some(pfn));
            assert_eq!(pfn.to_virt().map(|v| v.as_ptr()), Some(va));
            assert_eq!(p.phys(), (pfn.0 as u64) << bindings::PAGE_SHIFT);
        }
        Ok(())
    }

    /// The address form and the page form describe the same memory.
    #[test]
    fn get_free_pages_matches_its_page() -> Result {
        let mut fp = FreePages::alloc(Gfp::GFP_KERNEL, 1)?;
        assert_eq!(fp.size(), 2 * PAGE_SIZE);
        let page = fp.first();
        assert_eq!(page.direct_map_addr(), fp.as_ptr());
        assert_eq!(page.refcount(), 1);
        fp.as_uninit_mut()[PAGE_SIZE].write(7);
        // SAFETY: this byte was written just above.
        assert_eq!(unsafe { fp.as_uninit()[PAGE_SIZE].assume_init() }, 7);
        Ok(())
    }

    /// Zone modifiers that `gfp_zone()` has no zone for are refused with
    /// `EINVAL` before the allocator (which would `VM_BUG_ON` on a
    /// `DEBUG_VM` kernel), by every page-allocator entry point.
    #[test]
    fn invalid_zone_mix_is_einval() {
        let bad = [
            Gfp::GFP_KERNEL | Gfp::GFP_DMA | Gfp::GFP_DMA32,
            Gfp::GFP_HIGHUSER | Gfp::GFP_DMA32,
            Gfp::GFP_HIGHUSER_MOVABLE | Gfp::GFP_DMA,
        ];
        for gfp in bad {
            assert_eq!(Pages::alloc(gfp, 0).err(), Some(EINVAL));
            assert_eq!(Pages::alloc_zeroed(gfp, 2).err(), Some(EINVAL));
            assert_eq!(FreePages::alloc(gfp, 0).err(), Some(EINVAL));
            assert_eq!(FreePages::zeroed(gfp).err(), Some(EINVAL));
        }
    }

    /// `GFP_DMA` pages come from ZONE_DMA (below 16 MiB on x86, 4 GiB on
    /// arm64: `Zone::phys_limit`) and `GFP_DMA32` pages from ZONE_DMA32 or
    /// below (below 4 GiB).
    #[test]
    fn zone_modifiers_are_honoured() -> Result {
        let dma = Pages::alloc(Gfp::GFP_KERNEL | Gfp::GFP_DMA, 0)?;
        assert_eq!(dma.zone(), Zone::Dma);
        let dma_limit: u64 = if cfg!(CONFIG_X86) { 16 << 20 } else { 4 << 30 };
        assert!(dma.phys() < dma_limit);
        // The page lies in ZONE_DMA's span as the zone itself records it,
        // and that span ends within the architecture's limit.
        let span = crate::mm::pfn::zone_span(Zone::Dma).ok_or(EINVAL)?;
        let ps = PAGE_SIZE as u64;
        assert!(span.start as u64 * ps <= dma.phys() && dma.phys() < span.end as u64 * ps);
        assert!(span.end as u64 * ps <= dma_limit);
        assert!(span.present <= span.end - span.start);
        for order in [0, 4] {
            let d32 = Pages::alloc(Gfp::GFP_KERNEL | Gfp::GFP_DMA32, order)?;
            assert!(matches!(d32.zone(), Zone::Dma | Zone::Dma32));
            assert!(d32.phys() + d32.size() as u64 <= 4 << 30);
        }
        let normal = Pages::alloc(Gfp::GFP_KERNEL, 0)?;
        assert!(normal.zone() != Zone::Movable);
        Ok(())
    }

    /// Drop really gives the pages back: an order-8 block (256 pages, 1 MiB
    /// with 4 KiB pages) leaves the free count and comes back (order 8
    /// bypasses the per-cpu lists, so the counter sees it at once).
    #[test]
    fn drop_returns_pages_to_the_buddy_allocator() -> Result {
        let before = nr_free_pages();
        let block = Pages::alloc(Gfp::GFP_KERNEL, 8)?;
        let during = nr_free_pages();
        drop(block);
        let after = nr_free_pages();
        assert!(during + 200 <= before);
        assert!(after >= during + 200);
        Ok(())
    }

    /// A reserved page is `PG_reserved` and out of `totalram_pages()` until
    /// its `Drop` hands it back; higher orders are refused.
    #[test]
    fn reserved_page_accounting() -> Result {
        let total = totalram_pages();
        let page = Pages::alloc(Gfp::GFP_KERNEL, 0)?;
        assert!(!page.first().is_reserved());
        let reserved = page.into_reserved()?;
        assert!(reserved.page().is_reserved());
        assert_eq!(totalram_pages(), total - 1);
        let raw = reserved.page().as_ptr();
        drop(reserved);
        assert_eq!(totalram_pages(), total);
        // SAFETY: struct pages are never freed here; we only read its flags.
        let after = unsafe { PageRef::from_raw(NonNull::new_unchecked(raw)) };
        assert!(!after.is_reserved());
        let block = Pages::alloc(Gfp::GFP_KERNEL, 1)?;
        assert_eq!(block.into_reserved().err(), Some(EINVAL));
        Ok(())
    }
}
