// SPDX-License-Identifier: GPL-2.0

//! Declarations of the C helpers in `src/mm/helpers.c`.
//!
//! Each wraps one kernel macro or `static inline` function that bindgen
//! cannot expose. The safety contract of each is the contract of the C API
//! it calls; the safe wrappers in the family modules uphold them.

use kernel::bindings;
use kernel::ffi::{c_int, c_uint, c_ulong, c_void};

// Raw pointers to kernel structs are FFI-safe; the lint objects to a
// bindgen helper type *inside* `struct page`, which C never sees by value.
#[allow(improper_ctypes)]
extern "C" {
    /// `page_to_pfn()`. `page` must point to a valid `struct page`.
    pub(crate) fn mapdrv_page_to_pfn(page: *const bindings::page) -> c_ulong;
    /// `pfn_to_page()`. `pfn` must satisfy `pfn_valid()`.
    pub(crate) fn mapdrv_pfn_to_page(pfn: c_ulong) -> *mut bindings::page;
    /// `pfn_valid()`. Always safe.
    pub(crate) fn mapdrv_pfn_valid(pfn: c_ulong) -> bool;
    /// `virt_addr_valid()`: `addr` is in the direct map and backed by a
    /// valid page. Always safe.
    pub(crate) fn mapdrv_virt_addr_valid(addr: *const c_void) -> bool;
    /// `virt_to_page()`. `addr` must satisfy `virt_addr_valid()`.
    pub(crate) fn mapdrv_virt_to_page(addr: *const c_void) -> *mut bindings::page;
    /// `page_address()`. `page` must point to a valid `struct page`.
    pub(crate) fn mapdrv_page_address(page: *const bindings::page) -> *mut c_void;
    /// `pfn_to_kaddr()`: plain arithmetic on the direct map. Always safe;
    /// the result is meaningful only for a valid pfn.
    pub(crate) fn mapdrv_pfn_to_virt(pfn: c_ulong) -> *mut c_void;
    /// `page_zonenum()`. `page` must point to a valid `struct page`.
    pub(crate) fn mapdrv_page_zonenum(page: *const bindings::page) -> c_int;
    /// `page_count()`. `page` must point to a valid `struct page`.
    pub(crate) fn mapdrv_page_count(page: *const bindings::page) -> c_int;
    /// `PageReserved()`. `page` must point to a valid `struct page`.
    pub(crate) fn mapdrv_page_reserved(page: *const bindings::page) -> bool;
    /// `mark_page_reserved()`. The caller must own `page` (order 0).
    pub(crate) fn mapdrv_mark_page_reserved(page: *mut bindings::page);
    /// `get_page()`. The caller must hold a reference to `page` (or own
    /// the memory it describes).
    pub(crate) fn mapdrv_get_page(page: *mut bindings::page);
    /// `__get_free_pages()`. `order <= MAX_PAGE_ORDER`; may sleep per `gfp`.
    pub(crate) fn mapdrv_get_free_pages(gfp: bindings::gfp_t, order: c_uint) -> c_ulong;
    /// `get_zeroed_page()`. May sleep per `gfp`.
    pub(crate) fn mapdrv_get_zeroed_page(gfp: bindings::gfp_t) -> c_ulong;
    /// `kmalloc()`. May sleep per `gfp`.
    pub(crate) fn mapdrv_kmalloc(size: usize, gfp: bindings::gfp_t) -> *mut c_void;
    /// `kmem_cache_create()`. `name` must outlive the cache. Sleeps.
    pub(crate) fn mapdrv_kmem_cache_create(
        name: *const u8,
        size: c_uint,
        align: c_uint,
        flags: bindings::slab_flags_t,
        ctor: Option<unsafe extern "C" fn(*mut c_void)>,
    ) -> *mut bindings::kmem_cache;
    /// `kmem_cache_alloc()`. `s` must be a live cache; may sleep per `gfp`.
    pub(crate) fn mapdrv_kmem_cache_alloc(
        s: *mut bindings::kmem_cache,
        gfp: bindings::gfp_t,
    ) -> *mut c_void;
    /// `mempool_create()`. `data` must stay valid for the pool's life. Sleeps.
    pub(crate) fn mapdrv_mempool_create(
        min_nr: c_int,
        alloc_fn: bindings::mempool_alloc_t,
        free_fn: bindings::mempool_free_t,
        data: *mut c_void,
    ) -> *mut bindings::mempool_t;
    /// `mempool_alloc()`. `pool` must be live; may sleep per `gfp`.
    pub(crate) fn mapdrv_mempool_alloc(
        pool: *mut bindings::mempool_t,
        gfp: bindings::gfp_t,
    ) -> *mut c_void;
    /// `pool->curr_nr`: elements in the reserve now. `pool` must be live.
    pub(crate) fn mapdrv_mempool_curr_nr(pool: *mut bindings::mempool_t) -> c_int;
    /// `__vmalloc()` (`vmalloc()` is `__vmalloc(size, GFP_KERNEL)`). Sleeps.
    pub(crate) fn mapdrv_vmalloc(size: c_ulong, gfp: bindings::gfp_t) -> *mut c_void;
    /// `vmalloc_user()`: a zeroed buffer whose area is marked
    /// `VM_USERMAP`, as `remap_vmalloc_range()` requires. Sleeps.
    pub(crate) fn mapdrv_vmalloc_user(size: c_ulong) -> *mut c_void;
    /// `vfree()` (bindgen does not expose it). `addr` must be a live
    /// vmalloc buffer the caller owns, or NULL. Sleeps.
    pub(crate) fn mapdrv_vfree(addr: *const c_void);
    /// `remap_vmalloc_range()` (exported, absent from the bindings).
    /// `vma` must be a VMA being set up in `mmap` with the mmap lock held
    /// for writing; `addr` a live `VM_USERMAP` vmalloc buffer. Sleeps.
    pub(crate) fn mapdrv_remap_vmalloc_range(
        vma: *mut bindings::vm_area_struct,
        addr: *mut c_void,
        pgoff: c_ulong,
    ) -> c_int;
    /// `PAGE_OFFSET`, the start of the direct map. Always safe.
    pub(crate) fn mapdrv_page_offset() -> c_ulong;
    /// `VMALLOC_START`. Always safe.
    pub(crate) fn mapdrv_vmalloc_start() -> c_ulong;
    /// `VMALLOC_END`. Always safe.
    pub(crate) fn mapdrv_vmalloc_end() -> c_ulong;
    /// `global_zone_page_state(NR_FREE_PAGES)`. Always safe.
    pub(crate) fn mapdrv_nr_free_pages() -> c_ulong;
    /// `totalram_pages()`. Always safe.
    pub(crate) fn mapdrv_totalram_pages() -> c_ulong;
    /// The C value of GFP mask number `which` (see `src/mm/helpers.c`). Always safe.
    pub(crate) fn mapdrv_gfp_c_value(which: c_uint) -> bindings::gfp_t;
    /// Whether `gfp`'s zone modifiers are in `GFP_ZONE_BAD`. Always safe.
    pub(crate) fn mapdrv_gfp_zone_bad(gfp: bindings::gfp_t) -> bool;
    /// `copy_to_user()`, with hardened usercopy's `check_copy_size()`.
    /// `from` must be valid for reads of `n` bytes; `to` may be any user
    /// address (faults are handled). Returns the bytes *not* copied. Sleeps.
    pub(crate) fn mapdrv_copy_to_user(to: *mut c_void, from: *const c_void, n: c_ulong) -> c_ulong;
    /// `copy_from_user()`, as above in the other direction: `to` must be
    /// valid for writes of `n` bytes. Returns the bytes *not* copied. Sleeps.
    pub(crate) fn mapdrv_copy_from_user(
        to: *mut c_void,
        from: *const c_void,
        n: c_ulong,
    ) -> c_ulong;
    /// `cond_resched()`. Process context only.
    pub(crate) fn mapdrv_cond_resched();
    /// `free_reserved_page()`. The caller must own `page`, marked with
    /// `mark_page_reserved()`, with no other reference to it.
    pub(crate) fn mapdrv_free_reserved_page(page: *mut bindings::page);
}

/// `PAGE_OFFSET`: where the direct map starts (randomised by KASLR).
pub(crate) fn page_offset() -> usize {
    // SAFETY: reads a boot-time constant.
    unsafe { mapdrv_page_offset() as usize }
}
