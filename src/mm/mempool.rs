// SPDX-License-Identifier: GPL-2.0

//! Memory pools: `mempool_create()` / `mempool_alloc()` / `mempool_free()` /
//! `mempool_destroy()`.
//!
//! C API: `include/linux/mempool.h`, `mm/mempool.c`.
//!
//! A mempool keeps `min_nr` preallocated elements in reserve. `mempool_alloc()`
//! first asks the backing allocator; only if that fails does it hand out a
//! reserved element; `mempool_free()` refills the reserve before giving
//! anything back to the backing allocator. So a code path that must make
//! progress under memory pressure (the block layer's bios, for one) can
//! always get `min_nr` elements, as long as it returns them.
//!
//! Backings: a slab cache (`mempool_alloc_slab()` / `mempool_free_slab()`),
//! kmalloc of a fixed size (`mempool_kmalloc()` / `mempool_kfree()`), pages of
//! a fixed order (`mempool_alloc_pages()` / `mempool_free_pages()`), or any
//! Rust allocator implementing [`PoolBacking`].
//!
//! [`Mempool<'b>`] owns the pool (`'b` borrows its backing, e.g. the slab
//! cache); [`PoolElement<'p>`] owns one element and gives it back with
//! `mempool_free()` on `Drop`. Elements borrow the pool, so the pool (and
//! through it the cache) cannot be destroyed while one is out.
//!
//! # Sleeping allocations never fail
//!
//! With a mask that allows direct reclaim (`GFP_KERNEL`, `GFP_NOIO`, ...),
//! `mempool_alloc()` never returns NULL: when the backing fails and the
//! reserve is empty it *waits* for an element to be freed. That is the
//! guarantee, and the trap: a thread that holds all elements and asks for
//! one more sleeps forever. Use `GFP_NOWAIT`/`GFP_ATOMIC` to get `ENOMEM`
//! instead.
//!
//! # Examples
//!
//! ```no_run
//! use crate::mm::{gfp::Gfp, mempool::Mempool, slab::{KmemCache, SlabFlags}};
//! let cache = KmemCache::<[u8; 256]>::new(c"my_bufs", SlabFlags::NONE)?;
//! let pool = Mempool::slab(16, &cache)?;          // 16 objects held in reserve
//! let mut e = pool.alloc(Gfp::GFP_NOIO)?;          // never fails: may wait
//! e.as_uninit_mut()[0].write(1);                   // elements are raw bytes
//! drop(e);                                         // mempool_free()
//! ```

use crate::mm::gfp::Gfp;
use crate::mm::helpers::*;
use crate::mm::owned::{Contents, Owned, Release, Uninit};
use crate::mm::page::{MAX_ORDER, PAGE_SIZE};
use crate::mm::pfn::PageRef;
use crate::mm::slab::KmemCache;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::ffi::c_void;
use kernel::prelude::*;

/// A Rust allocator that can back a [`Mempool`].
///
/// # Safety
///
/// Implementers guarantee that `alloc` returns either `None` or a pointer to
/// `element_size()` writable bytes, suitably aligned for bytes, exclusively
/// owned by the caller until passed to `free`; and that `free` accepts every
/// such pointer. Both may be called from any context the pool's users
/// allocate in (with the mask they pass), concurrently.
pub(crate) unsafe trait PoolBacking: Sync {
    /// The size of one element in bytes.
    fn element_size(&self) -> usize;
    /// Allocates one element, or `None`.
    ///
    /// # Safety
    ///
    /// `gfp` must be a mask the pool composed from one [`Mempool::alloc`]
    /// validated (`Gfp::for_slab()`): a mask slab cannot serve would reach
    /// the allocator unchecked. Only the pool calls this, through its
    /// `mempool_alloc_t` trampoline; safe code outside the pool cannot.
    unsafe fn alloc(&self, gfp: Gfp) -> Option<NonNull<u8>>;
    /// Frees one element.
    ///
    /// # Safety
    ///
    /// `elem` came from `self.alloc` and is not used afterwards.
    unsafe fn free(&self, elem: NonNull<u8>);
}

/// # Safety
///
/// `data` must be the `&B` the pool was created with, still alive.
unsafe extern "C" fn backing_alloc<B: PoolBacking>(
    gfp: bindings::gfp_t,
    data: *mut c_void,
) -> *mut c_void {
    // `Mempool::with_backing` passed the `&B` as `pool_data`, which
    // `mempool_alloc()` hands back unchanged; the pool cannot outlive `'b`.
    // SAFETY: so (this function's contract) `data` is a live `&B`.
    let backing = unsafe { &*data.cast::<B>() };
    // SAFETY: `mempool_alloc()` composed `gfp` from a mask `Mempool::alloc`
    // validated (it adds only `__GFP_NOMEMALLOC | __GFP_NORETRY |
    // __GFP_NOWARN` and removes reclaim bits).
    let gfp = unsafe { Gfp::from_raw(gfp) };
    // SAFETY: `gfp` is the pool's composition of a validated mask (above).
    unsafe { backing.alloc(gfp) }.map_or(core::ptr::null_mut(), |p| p.as_ptr().cast())
}

/// # Safety
///
/// `data` as for [`backing_alloc`]; `elem` came from `backing_alloc::<B>`.
unsafe extern "C" fn backing_free<B: PoolBacking>(elem: *mut c_void, data: *mut c_void) {
    // SAFETY: as in `backing_alloc`: `data` is the pool's live `&B`.
    let backing = unsafe { &*data.cast::<B>() };
    if let Some(e) = NonNull::new(elem.cast()) {
        // SAFETY: `mempool_free()`/`mempool_exit()` pass the free function
        // only elements its alloc function returned (mm/mempool.c keeps no
        // other pointers), i.e. from `backing.alloc`, each once.
        unsafe { backing.free(e) };
    }
}

/// What a pool's elements are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ElementKind {
    /// A slab object (or kmalloc or custom element) of this many bytes.
    Bytes(usize),
    /// A `struct page *` for a block of this order.
    Pages(u32),
}

/// The largest reserve a pool can have: `mempool_init_node()` keeps the
/// reserve in one `kmalloc_array_node(min_nr, sizeof(void *))`, and a larger
/// array would exceed `KMALLOC_MAX_SIZE` (the page allocator `WARN`s on the
/// order that needs). 524,288 with 4 KiB pages.
pub(crate) const MAX_MIN_NR: usize =
    crate::mm::kmalloc::KMALLOC_MAX_SIZE / core::mem::size_of::<*mut c_void>();

/// A memory pool with a reserve of `min_nr` elements.
///
/// # Invariants
///
/// `pool` is a live pool from `mempool_create()`, owned by this value, whose
/// elements are `kind`; its backing (pool data) outlives `'b`. Every
/// element handed out borrows `self`, so when `self` drops none can come
/// back: any still out was leaked and is never freed.
pub(crate) struct Mempool<'b> {
    pool: NonNull<bindings::mempool_t>,
    kind: ElementKind,
    min_nr: usize,
    _backing: PhantomData<&'b ()>,
}

// SAFETY: mempools are internally locked; elements may be allocated and
// freed from any thread.
unsafe impl Send for Mempool<'_> {}
// SAFETY: `mempool_alloc()`/`mempool_free()` take `pool->lock` around the
// reserve, so several threads may call `alloc` on one `&Mempool` at once;
// the other methods read `kind` and `min_nr` (immutable) or `curr_nr`
// (read once, a statistic).
unsafe impl Sync for Mempool<'_> {}

impl<'b> Mempool<'b> {
    /// # Safety
    ///
    /// `alloc`/`free`/`data` must form a valid mempool backing producing
    /// elements of `kind`, with `data` alive for `'b`.
    unsafe fn create(
        min_nr: usize,
        alloc: bindings::mempool_alloc_t,
        free: bindings::mempool_free_t,
        data: *mut c_void,
        kind: ElementKind,
    ) -> Result<Self> {
        if min_nr == 0 || min_nr > MAX_MIN_NR {
            return Err(EINVAL);
        }
        // SAFETY: by the caller's guarantee the backing is valid for `'b`;
        // the call preallocates `min_nr` elements and may sleep.
        let pool = unsafe { mapdrv_mempool_create(min_nr as i32, alloc, free, data) };
        let pool = NonNull::new(pool).ok_or(ENOMEM)?;
        // INVARIANT: a fresh pool over a backing that lives for `'b`.
        Ok(Mempool {
            pool,
            kind,
            min_nr,
            _backing: PhantomData,
        })
    }

    /// A pool of `cache`'s objects (`mempool_alloc_slab()` /
    /// `mempool_free_slab()`), handed out as untyped bytes. A cache with a
    /// constructor (`CtorCache`) cannot be passed: its free objects must stay
    /// valid `T`s, which byte access could break. A leaked element (or a
    /// leaked pool's reserve) keeps the cache alive when it drops, as a
    /// leaked `CacheBox` does (`src/mm/slab.rs`, "Leaked objects").
    pub(crate) fn slab<T>(min_nr: usize, cache: &'b KmemCache<T>) -> Result<Self> {
        // SAFETY: the slab helpers take the cache as pool data; `cache` is
        // borrowed for `'b`, so it outlives the pool.
        unsafe {
            Self::create(
                min_nr,
                Some(bindings::mempool_alloc_slab),
                Some(bindings::mempool_free_slab),
                cache.as_ptr().cast(),
                ElementKind::Bytes(cache.object_size()),
            )
        }
    }

    /// A pool of `size`-byte kmalloc objects (`mempool_kmalloc()` / `mempool_kfree()`).
    pub(crate) fn kmalloc(min_nr: usize, size: usize) -> Result<Mempool<'static>> {
        if size == 0 || size > crate::mm::kmalloc::KMALLOC_MAX_SIZE {
            return Err(EINVAL);
        }
        // SAFETY: the kmalloc helpers take the size itself as pool data.
        unsafe {
            Mempool::create(
                min_nr,
                Some(bindings::mempool_kmalloc),
                Some(bindings::mempool_kfree),
                size as *mut c_void,
                ElementKind::Bytes(size),
            )
        }
    }

    /// A pool of order-`order` page blocks (`mempool_alloc_pages()` /
    /// `mempool_free_pages()`). `EINVAL` above `MAX_ORDER`.
    pub(crate) fn pages(min_nr: usize, order: u32) -> Result<Mempool<'static>> {
        if order > MAX_ORDER {
            return Err(EINVAL);
        }
        // SAFETY: the page helpers take the order itself as pool data.
        unsafe {
            Mempool::create(
                min_nr,
                Some(bindings::mempool_alloc_pages),
                Some(bindings::mempool_free_pages),
                order as usize as *mut c_void,
                ElementKind::Pages(order),
            )
        }
    }

    /// A pool over a Rust [`PoolBacking`].
    pub(crate) fn with_backing<B: PoolBacking>(min_nr: usize, backing: &'b B) -> Result<Self> {
        let size = backing.element_size();
        // SAFETY: the trampolines are instantiated for `B` and get `backing`,
        // which is borrowed for `'b` and so outlives the pool.
        unsafe {
            Self::create(
                min_nr,
                Some(backing_alloc::<B>),
                Some(backing_free::<B>),
                core::ptr::from_ref(backing).cast_mut().cast(),
                ElementKind::Bytes(size),
            )
        }
    }

    /// Takes an element (`mempool_alloc()`): from the backing if it can,
    /// else from the reserve. With a sleeping mask this waits rather than
    /// fail (see the module doc); otherwise `ENOMEM` when both are empty.
    ///
    /// `EINVAL` for `__GFP_ZERO`, which `mempool_alloc()`
    /// `VM_WARN`s on (reserve elements would come back dirty), and for
    /// masks the backing cannot serve (zone mixes; `__GFP_DMA32` and
    /// `__GFP_HIGHMEM` for byte pools).
    pub(crate) fn alloc(&self, gfp: Gfp) -> Result<PoolElement<'_>> {
        let raw = match self.kind {
            ElementKind::Pages(_) if gfp.contains(Gfp::__GFP_ZERO) => return Err(EINVAL),
            ElementKind::Pages(_) => gfp.for_pages()?,
            // One test for all three bits (the byte pools are the fast ones).
            ElementKind::Bytes(_) => gfp.for_slab_refusing(Gfp::__GFP_ZERO)?,
        };
        // SAFETY: the pool is live (type invariant), the mask valid for its
        // backing; sleeping is the caller's choice via `gfp`.
        let e = unsafe { mapdrv_mempool_alloc(self.pool.as_ptr(), raw) };
        let elem = NonNull::new(e).ok_or(ENOMEM)?;
        let (ptr, size) = match self.kind {
            ElementKind::Pages(order) => {
                // SAFETY: a page pool's elements are the `struct page *` of
                // blocks (`mempool_alloc_pages()`), this one ours until
                // `mempool_free()`; the `PageRef` lives only in this block.
                let page = unsafe { PageRef::from_raw(elem.cast()) };
                (page.direct_map_addr(), PAGE_SIZE << order)
            }
            ElementKind::Bytes(n) => (elem.as_ptr().cast(), n),
        };
        // INVARIANT: a non-NULL element `mempool_alloc()` took from this pool.
        let free = PoolFree { elem, pool: self };
        // SAFETY: the element's `size` bytes at `ptr` (direct map) are ours
        // until `mempool_free()`; nothing maps them into user space.
        Ok(unsafe { Owned::from_raw(NonNull::new_unchecked(ptr), size, free) })
    }

    /// The raw `mempool_t`, for calling C directly (benchmarks).
    #[inline]
    pub(crate) fn as_raw(&self) -> *mut bindings::mempool_t {
        self.pool.as_ptr()
    }

    /// Elements in the reserve right now (`pool->curr_nr`).
    pub(crate) fn reserve(&self) -> usize {
        // SAFETY: `&self` keeps the pool alive (type invariant); the helper
        // reads one `int`, which `pool->lock` writers update atomically.
        unsafe { mapdrv_mempool_curr_nr(self.pool.as_ptr()) as usize }
    }

    /// The reserve's target size.
    #[inline]
    pub(crate) fn min_nr(&self) -> usize {
        self.min_nr
    }

    /// What the elements are.
    #[inline]
    pub(crate) fn kind(&self) -> ElementKind {
        self.kind
    }
}

impl Drop for Mempool<'_> {
    fn drop(&mut self) {
        // Every element borrowed `self`, so none can be freed into the pool
        // any more. One still out was leaked (its owner forgotten) and is
        // never freed: `mempool_destroy()` frees only the reserve
        // (`mempool_exit()`, mm/mempool.c) and does not look for elements
        // out, so a leak leaves that element allocated and nothing else.
        // SAFETY: we own the pool (type invariant), nothing uses it after
        // this (above), and the backing is alive (borrowed for `'b`) for the
        // reserve's frees.
        unsafe { bindings::mempool_destroy(self.pool.as_ptr()) };
    }
}

/// Returns a mempool element to its pool with `mempool_free()`. Holds the
/// element as the pool knows it (for page pools a `struct page *`, not the
/// memory's address) and borrows the pool.
///
/// # Invariants
///
/// `elem` is an element that `mempool_alloc()` took from `pool`.
pub(crate) struct PoolFree<'p> {
    elem: NonNull<c_void>,
    pool: &'p Mempool<'p>,
}

// SAFETY: an element of a live pool; `mempool_free()` takes it back from
// any thread (`&Mempool` is `Send`, the pool being `Sync`).
unsafe impl Send for PoolFree<'_> {}
// SAFETY: through `&PoolFree` nothing is freed or written: `release` needs
// the `Owned` that drops it, and `page()` only reads the element pointer and
// the pool's immutable `kind`.
unsafe impl Sync for PoolFree<'_> {}

// SAFETY: `Mempool::alloc` hands `Owned` the memory of an element it took
// from this pool, which `mempool_free()` returns, from any thread and any
// context the pool's `free` function accepts (all of mapdrv's backings
// free from any context).
unsafe impl Release for PoolFree<'_> {
    #[inline]
    unsafe fn release(&self, _ptr: NonNull<u8>, _size: usize) {
        // SAFETY: the element belongs to the live pool (type invariant) and
        // is returned once (the trait's contract).
        unsafe { bindings::mempool_free(self.elem.as_ptr(), self.pool.pool.as_ptr()) };
    }
}

/// One element of a [`Mempool`], returned with `mempool_free()` on `Drop`.
/// It holds whatever its previous user left, or nothing ever written: its
/// views are `MaybeUninit<u8>` until [`Owned::fill`]. The element borrows
/// its pool rather than copying what it needs of it: two words to carry
/// around, and the pool's kind is read only when asked.
pub(crate) type PoolElement<'p> = Owned<PoolFree<'p>, Uninit>;

impl<S: Contents> Owned<PoolFree<'_>, S> {
    /// For page pools: the first page of the element's block.
    pub(crate) fn page(&self) -> Option<PageRef<'_>> {
        let f = self.release();
        match f.pool.kind {
            // SAFETY: a page pool's element is the `struct page *` of a block
            // we own until this `Owned` drops; the returned `PageRef`
            // borrows `self`, so it cannot outlive the element.
            ElementKind::Pages(_) => Some(unsafe { PageRef::from_raw(f.elem.cast()) }),
            ElementKind::Bytes(_) => None,
        }
    }
}

#[kunit_tests(mapdrv_mempool)]
mod tests {
    use super::*;
    use crate::mm::slab::SlabFlags;

    /// Counts the kernel would `WARN` on are refused before it: a reserve
    /// whose array exceeds `KMALLOC_MAX_SIZE` (`mempool_init_node()`
    /// kmallocs `min_nr` pointers). The largest reserve the arithmetic
    /// allows is `KMALLOC_MAX_SIZE` over the pointer size.
    #[test]
    fn refuses_counts_the_kernel_warns_on() {
        use crate::mm::kmalloc::KMALLOC_MAX_SIZE;
        assert_eq!(MAX_MIN_NR * core::mem::size_of::<usize>(), KMALLOC_MAX_SIZE);
        assert_eq!(Mempool::kmalloc(MAX_MIN_NR + 1, 64).err(), Some(EINVAL));
        assert_eq!(Mempool::kmalloc(usize::MAX, 64).err(), Some(EINVAL));
        assert_eq!(Mempool::kmalloc(0, 64).err(), Some(EINVAL));
        assert_eq!(Mempool::pages(MAX_MIN_NR + 1, 0).err(), Some(EINVAL));
    }

    /// A slab-backed pool preallocates from the cache and hands out objects
    /// of the cache's size.
    #[test]
    fn slab_backed_pool() -> Result {
        let cache = KmemCache::<[u8; 200]>::new(c"mapdrv_test_pool", SlabFlags::NONE)?;
        let pool = Mempool::slab(8, &cache)?;
        assert_eq!(pool.reserve(), 8);
        assert_eq!(pool.kind(), ElementKind::Bytes(cache.object_size()));
        let mut e = pool.alloc(Gfp::GFP_KERNEL)?;
        e.as_uninit_mut().fill(MaybeUninit::new(0xab));
        for b in e.as_uninit() {
            // SAFETY: every byte was written just above.
            assert_eq!(unsafe { b.assume_init() }, 0xab);
        }
        assert!(e.size() >= 200);
        Ok(())
    }

    /// A forgotten element keeps its cache alive when pool and cache drop
    /// (no "still has objects" `WARN`); the test then frees it by hand.
    #[test]
    fn leaked_element_keeps_its_cache_alive() -> Result {
        let cache = KmemCache::<[u8; 96]>::new(c"mapdrv_test_pool_leak", SlabFlags::NONE)?;
        let raw = cache.as_ptr();
        let pool = Mempool::slab(2, &cache)?;
        let e = pool.alloc(Gfp::GFP_KERNEL)?;
        let obj = e.as_ptr();
        core::mem::forget(e);
        drop(pool);
        drop(cache);
        assert!(crate::mm::slab::name_in_sysfs(c"mapdrv_test_pool_leak"));
        // SAFETY: the drops leaked `raw` with exactly one object, `obj`
        // (a slab pool's element is the object itself), which nothing else
        // refers to; both are freed once, here.
        unsafe {
            bindings::kmem_cache_free(raw, obj.cast());
            bindings::kmem_cache_destroy(raw);
        }
        assert!(!crate::mm::slab::name_in_sysfs(c"mapdrv_test_pool_leak"));
        Ok(())
    }

    /// Page and kmalloc pools: elements of the right size and kind.
    #[test]
    fn page_and_kmalloc_pools() -> Result {
        let pages = Mempool::pages(2, 2)?;
        let e = pages.alloc(Gfp::GFP_KERNEL)?;
        let p = e.page().ok_or(EINVAL)?;
        assert_eq!(e.size(), 4 * PAGE_SIZE);
        assert_eq!(p.pfn().0 % 4, 0);
        assert_eq!(e.as_ptr(), p.direct_map_addr());
        let km = Mempool::kmalloc(3, 96)?;
        assert_eq!(km.reserve(), 3);
        let k = km.alloc(Gfp::GFP_KERNEL)?;
        assert_eq!(k.size(), 96);
        assert!(k.page().is_none());
        Ok(())
    }

    /// Bad parameters are refused before reaching `mempool_create()`, bad
    /// masks before `mempool_alloc()` (which `VM_WARN`s on `__GFP_ZERO`).
    #[test]
    fn bad_parameters() -> Result {
        assert_eq!(Mempool::pages(1, MAX_ORDER + 1).err(), Some(EINVAL));
        assert_eq!(Mempool::kmalloc(1, 0).err(), Some(EINVAL));
        assert_eq!(Mempool::kmalloc(0, 64).err(), Some(EINVAL));
        let km = Mempool::kmalloc(1, 64)?;
        assert_eq!(
            km.alloc(Gfp::GFP_KERNEL | Gfp::__GFP_ZERO).err(),
            Some(EINVAL)
        );
        assert_eq!(
            km.alloc(Gfp::GFP_KERNEL | Gfp::GFP_DMA32).err(),
            Some(EINVAL)
        );
        let pages = Mempool::pages(1, 0)?;
        assert_eq!(
            pages.alloc(Gfp::GFP_NOWAIT | Gfp::__GFP_ZERO).err(),
            Some(EINVAL)
        );
        assert_eq!(
            pages
                .alloc(Gfp::GFP_KERNEL | Gfp::GFP_DMA | Gfp::GFP_DMA32)
                .err(),
            Some(EINVAL)
        );
        // A page pool may come from below 4 GiB.
        drop(pages.alloc(Gfp::GFP_KERNEL | Gfp::GFP_DMA32)?);
        Ok(())
    }
}
