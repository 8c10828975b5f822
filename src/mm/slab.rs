// SPDX-License-Identifier: GPL-2.0

//! Typed slab caches: `kmem_cache_create()` / `kmem_cache_alloc()` /
//! `kmem_cache_free()` / `kmem_cache_destroy()`.
//!
//! C API: `include/linux/slab.h`.
//!
//! A slab cache hands out objects of one size from pages it carves into
//! equal slots, keeps freed objects for quick reuse, and shows up by name in
//! `/proc/slabinfo`. An optional constructor runs when a slot is first set
//! up (when the cache grabs a new slab page), not on every allocation: the
//! old idea is that an object returns to the cache still "constructed", so
//! the next user can skip the set-up.
//!
//! [`KmemCache<T>`] is a cache of `T`, [`CtorCache<T>`] one with a
//! constructor; [`CacheBox<'c, T>`] owns one object and returns it to *its*
//! cache on `Drop`.
//!
//! # Design: objects borrow their cache
//!
//! `kmem_cache_destroy()` on a cache that still has objects is a bug (SLUB
//! `WARN`s, leaks the cache, and the objects' later `kmem_cache_free()` is a
//! use-after-free). Three designs prevent it (the discussion on
//! rust-for-linux of a `kmem_cache` abstraction is recorded in
//! `docs/04-slab.md`):
//!
//! 1. **Objects borrow the cache** (`CacheBox<'c, T>` holds `&'c
//!    KmemCache<T>`). The borrow checker rejects destroying a cache with
//!    live objects; it costs nothing at run time. The price: a struct cannot
//!    own both a cache and objects from it (that would be self-referential),
//!    so long-lived caches live in a `static` or module state and objects in
//!    narrower scopes.
//! 2. **Objects hold a reference count on the cache** (`Arc<KmemCache<T>>`).
//!    Works anywhere, but adds an atomic increment and decrement to every
//!    allocation and free: cache-line traffic on the ~10 ns fast path that is
//!    the reason slab caches exist, which slab maintainers object to.
//! 3. **Destroy is `unsafe`**, left to the user: no protection.
//!
//! mapdrv takes (1): it makes misuse a compile error at zero cost, which is
//! what a reference abstraction should show. A driver that needs objects in
//! long-lived structures keeps the cache in its module state and can build
//! (2) on top where it needs to.
//!
//! # Leaked objects
//!
//! The borrow alone is not enough: `mem::forget` of a [`CacheBox`] (safe
//! Rust) ends the borrow without freeing, and the cache could then be
//! destroyed with the object in it. No memory becomes unsafe (the object
//! is never freed), but SLUB `WARN`s "Slab cache still has objects"
//! (`kmem_cache_destroy()`, mm/slab_common.c) - a `WARN` reachable from
//! safe code. So a cache's drop first asks SLUB whether it is empty:
//! `kmem_cache_shrink()` flushes the per-CPU sheaves, frees every empty
//! slab and returns nonzero if any slab is left (`__kmem_cache_do_shrink()`,
//! mm/slub.c: `node_nr_slabs()`, the same count `__kmem_cache_shutdown()`
//! tests before that `WARN`). Empty: destroyed. Not empty: the cache is
//! left alive (leaked, as SLUB itself does after the `WARN`) with one log
//! line naming it. The fast path pays nothing: the test runs once, at
//! drop. A leaked cache is harmless after the module is gone: SLUB keeps
//! its own copy of the name (`kstrdup_const()` copies anything outside
//! vmlinux's rodata), nothing can allocate from it, and a constructor runs
//! only when an allocation grows the cache.
//!
//! The count behind that answer exists only with `CONFIG_SLUB_DEBUG` (the
//! statistics, not the debugging, which stays off unless booted with
//! `slab_debug`); without it `node_nr_slabs()` is 0 and the answer would
//! always be "empty", so this module refuses to build there. A per-CPU
//! count of objects out, kept by the wrapper, would answer on every kernel
//! but adds two out-of-line calls to every allocation and free (measured:
//! +18 % on `kmem_cache` alloc+free, `make bench`); `SLUB_DEBUG` is
//! `default y` (mm/Kconfig.debug), on in distribution kernels (this
//! project's Debian host has it) and in `kernel/mapdrv.config`.
//!
//! # Names
//!
//! Every cache is created with `SLAB_NO_MERGE`, and its name must be free:
//! not empty, no blank, and not already in `/sys/kernel/slab/` (a cache or
//! an alias of one, e.g. `kmalloc-64`). The kernel does not refuse a taken
//! name: `kmem_cache_sanity_check()` `WARN`s on a duplicate under
//! `CONFIG_DEBUG_VM`, and `sysfs_slab_add()` first removes any link of that
//! name, so a cache named like an alias silently takes that alias's entry
//! away (mm/slub.c). `slab_caches` and `slab_mutex` are not exported; the
//! sysfs directory is the namespace those collisions happen in, so mapdrv
//! looks the name up there (`kernfs_find_and_get()` under `kernel_kobj`),
//! under a mutex of its own that its cache creation and destruction also
//! take. Unmergeable caches are what makes that check sound for mapdrv's
//! own names: a merged cache leaves its alias link behind after
//! `kmem_cache_destroy()` (SLUB removes a leftover link only when the name
//! is used again), so a module that reloads would find its own old names
//! taken; an unmergeable cache's directory goes with it. The price is the
//! memory merging would save, and the tour wants each cache on its own
//! line in `/proc/slabinfo` anyway. The namespace always exists here:
//! `SLUB_DEBUG`, which this module requires (above), depends on
//! `SYSFS && !SLUB_TINY`, the conditions of slab sysfs. Left open: another
//! module can still create a cache of the same name between mapdrv's
//! check and its create.
//!
//! Constructors: a C constructor receives only the slot pointer, so the Rust
//! constructor is a trait function, [`SlabConstruct::construct`], run
//! through a monomorphised `extern "C"` trampoline. Because an object goes
//! back to the cache *as it is*, a cache with a constructor requires a `T`
//! without drop glue (checked at compile time): there is no destructor call
//! between users, exactly as in C.
//!
//! A cache with a constructor is its own type, [`CtorCache<T>`], because its
//! free slots are valid `T`s that the next [`CtorCache::alloc_constructed`]
//! hands out as they are. Whatever could put other bytes there is ruled
//! out: `__GFP_ZERO` is refused with `EINVAL` (it would zero the `T`, and
//! SLUB `WARN`s on it for caches with a constructor), and a `CtorCache`
//! cannot back a [`crate::mm::mempool::Mempool`] (whose elements are untyped
//! bytes) or be allocated from with a value of some other state: it has no
//! raw accessor and no `Deref` to [`KmemCache`].
//!
//! # Examples
//!
//! ```no_run
//! use crate::mm::{gfp::Gfp, slab::{KmemCache, SlabFlags}};
//! struct Request { id: u64, len: u32 }
//! let cache = KmemCache::<Request>::new(c"my_requests", SlabFlags::HWCACHE_ALIGN)?;
//! let r = cache.alloc(Request { id: 1, len: 512 }, Gfp::GFP_KERNEL)?;
//! assert_eq!(r.len, 512);
//! drop(r);      // kmem_cache_free(cache, r)
//! drop(cache);  // kmem_cache_destroy(cache); would not compile while `r` lived
//! ```

#[cfg(not(CONFIG_SLUB_DEBUG))]
compile_error!(
    "mapdrv's slab caches need CONFIG_SLUB_DEBUG: kmem_cache_shrink() reports a non-empty cache only with it (see \"Leaked objects\" in src/mm/slab.rs)"
);

use crate::mm::gfp::Gfp;
use crate::mm::helpers::*;
use core::ffi::CStr;
use core::marker::PhantomData;
use core::mem::{align_of, size_of};
use core::ops::{BitOr, Deref, DerefMut};
use core::ptr::NonNull;
use kernel::bindings;
use kernel::ffi::c_void;
use kernel::prelude::*;

/// Flags for [`KmemCache`] creation (`slab_flags_t`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct SlabFlags(bindings::slab_flags_t);

const fn slab_bit(b: u32) -> bindings::slab_flags_t {
    1 << b
}

impl SlabFlags {
    /// No flags.
    pub(crate) const NONE: SlabFlags = SlabFlags(0);
    /// Align objects to a cache line (`SLAB_HWCACHE_ALIGN`).
    pub(crate) const HWCACHE_ALIGN: SlabFlags =
        SlabFlags(slab_bit(bindings::_slab_flag_bits__SLAB_HWCACHE_ALIGN));
    /// Never merge the cache with a compatible one (`SLAB_NO_MERGE`). Not
    /// a choice: [`KmemCache`] adds it to every cache (see "Names" in the
    /// module doc).
    const NO_MERGE: SlabFlags = SlabFlags(slab_bit(bindings::_slab_flag_bits__SLAB_NO_MERGE));

    /// The raw `slab_flags_t`.
    #[inline]
    pub(crate) const fn as_raw(self) -> bindings::slab_flags_t {
        self.0
    }
}

impl BitOr for SlabFlags {
    type Output = SlabFlags;
    #[inline]
    fn bitor(self, rhs: SlabFlags) -> SlabFlags {
        SlabFlags(self.0 | rhs.0)
    }
}

/// A type whose objects a slab constructor sets up.
///
/// `construct` runs once per slot when the cache creates a new slab, in the
/// allocating context (it must not sleep if callers allocate atomically).
pub(crate) trait SlabConstruct: Sized {
    /// The value a fresh slot holds.
    fn construct() -> Self;
}

/// The C constructor for `T`: writes `T::construct()` into the slot.
///
/// # Safety
///
/// `obj` must point to a writable, suitably aligned slot of
/// `size_of::<T>()` bytes: the slab allocator guarantees this for the cache
/// created with this constructor and `T`'s size and alignment.
unsafe extern "C" fn construct_trampoline<T: SlabConstruct>(obj: *mut c_void) {
    // SAFETY: by this function's contract `obj` is a writable slot of
    // `size_of::<T>()` bytes aligned for `T`, so one `T` may be written
    // there; the slot held no value to drop (it is fresh slab memory).
    unsafe { obj.cast::<T>().write(T::construct()) };
}

/// Holds mapdrv's cache-name mutex (`mapdrv_cache_names_lock()`) while it
/// lives.
struct NamesGuard(());

impl NamesGuard {
    fn lock() -> Self {
        // SAFETY: no precondition; sleeps.
        unsafe { mapdrv_cache_names_lock() };
        NamesGuard(())
    }
}

impl Drop for NamesGuard {
    fn drop(&mut self) {
        // SAFETY: this guard took the mutex and has not released it.
        unsafe { mapdrv_cache_names_unlock() };
    }
}

/// Whether `/sys/kernel/slab/NAME` exists: a cache or an alias by that
/// name (always there: see "Names" in the module doc; `false` if it is not).
pub(crate) fn name_in_sysfs(name: &CStr) -> bool {
    // SAFETY: `kernel_kobj` is set once, by `ksysfs_init()` (a core
    // initcall, before any module loads), and never changes after.
    let kernel = unsafe { bindings::kernel_kobj };
    if kernel.is_null() {
        return false;
    }
    // SAFETY: `kernel` is the live `/sys/kernel` kobject (never freed); its
    // `sd` is its kernfs directory, set when it was added.
    let dir = unsafe { (*kernel).sd };
    if dir.is_null() {
        return false;
    }
    let lookup = |parent: *mut bindings::kernfs_node, child: &CStr| {
        // SAFETY: `parent` is a live kernfs node we hold (or `/sys/kernel`'s
        // own, which lives forever); `child` is NUL-terminated; NULL is the
        // namespace of every slab entry. Returns a new reference or NULL.
        unsafe { bindings::kernfs_find_and_get_ns(parent, child.as_char_ptr(), core::ptr::null()) }
    };
    let slab = lookup(dir, c"slab");
    if slab.is_null() {
        return false;
    }
    let entry = lookup(slab, name);
    let found = !entry.is_null();
    // SAFETY: both are references `kernfs_find_and_get_ns()` gave us (or
    // NULL, which `kernfs_put()` ignores), each put once.
    unsafe {
        bindings::kernfs_put(entry);
        bindings::kernfs_put(slab);
    }
    found
}

/// A slab cache of `T` objects, destroyed on `Drop`.
///
/// # Invariants
///
/// `cache` is a live, unmergeable cache from `kmem_cache_create()` whose
/// objects have `T`'s size and alignment and which this value owns; `name`
/// outlives it. An object still out when `self` drops was leaked (its
/// owner forgotten: each [`CacheBox`] and pool element borrows `self`) and
/// is never freed. If the cache has a constructor, `self` is the inner
/// cache of a [`CtorCache<T>`] and is never reachable through a
/// `&KmemCache<T>` but through its [`CacheBox`]es.
///
/// # Variance
///
/// Invariant in `T` (`PhantomData<fn(T) -> T>`): objects of a cache with a
/// constructor go back to it as they are and come out again to the next
/// user, so a `KmemCache<R<'long>>` used as a `KmemCache<R<'short>>` would
/// let a slot take a short-lived reference and hand it out later as a
/// long-lived one. [`CacheBox`] holds `&KmemCache<T>` and is invariant too.
pub(crate) struct KmemCache<T> {
    cache: NonNull<bindings::kmem_cache>,
    name: &'static CStr,
    _objects: PhantomData<fn(T) -> T>,
}

// SAFETY: the slab allocator is thread-safe; objects of `T` may be created
// and dropped on other threads, hence `T: Send`.
unsafe impl<T: Send> Send for KmemCache<T> {}
// SAFETY: allocating from `&KmemCache` on several threads at once is what
// slab caches are for; objects are `T: Send`.
unsafe impl<T: Send> Sync for KmemCache<T> {}

impl<T> KmemCache<T> {
    fn create(
        name: &'static CStr,
        flags: SlabFlags,
        ctor: Option<unsafe extern "C" fn(*mut c_void)>,
    ) -> Result<Self> {
        // An empty name fails in sysfs (kobject) code with a `WARN`, and
        // `kmem_cache_sanity_check()` `WARN`s on a space (it confuses
        // parsers of /proc/slabinfo); refuse both first.
        let bytes = name.to_bytes();
        if bytes.is_empty() || bytes.iter().any(|b| b.is_ascii_whitespace()) {
            return Err(EINVAL);
        }
        if size_of::<T>() == 0 || size_of::<T>() > u32::MAX as usize {
            return Err(EINVAL);
        }
        // Held until the cache exists, so that no other mapdrv cache can
        // take the name between the check and the create.
        let _names = NamesGuard::lock();
        if name_in_sysfs(name) {
            return Err(EINVAL);
        }
        // The call sleeps; caches are created in process context.
        // SAFETY: `name` is `'static` (outlives the cache); size and align
        // are `T`'s; `ctor` is `construct_trampoline::<T>`, fit for slots.
        let cache = unsafe {
            mapdrv_kmem_cache_create(
                name.as_char_ptr().cast(),
                size_of::<T>() as u32,
                align_of::<T>() as u32,
                (flags | SlabFlags::NO_MERGE).as_raw(),
                ctor,
            )
        };
        let cache = NonNull::new(cache).ok_or(ENOMEM)?;
        // INVARIANT: a fresh unmergeable cache for `T`, owned by us, no
        // objects yet.
        Ok(KmemCache {
            cache,
            name,
            _objects: PhantomData,
        })
    }

    /// Creates a cache named `name` (as it will appear in `/proc/slabinfo`),
    /// never merged with another (see "Names" in the module doc).
    ///
    /// `EINVAL` for a zero-sized `T` (or one above `u32::MAX` bytes), for an empty name
    /// or one with blanks, and for a name `/sys/kernel/slab/` already has
    /// (the kernel `WARN`s on or mishandles each).
    pub(crate) fn new(name: &'static CStr, flags: SlabFlags) -> Result<Self> {
        Self::create(name, flags, None)
    }

    /// Allocates an object and moves `value` into it (`kmem_cache_alloc()`).
    /// `EINVAL` for masks slab cannot serve ([`Gfp::for_slab`]).
    pub(crate) fn alloc(&self, value: T, gfp: Gfp) -> Result<CacheBox<'_, T>> {
        let ptr = self.alloc_raw(gfp)?;
        // A cache with a constructor is never reached as `&KmemCache<T>`
        // (type invariant): no constructed value is overwritten undropped.
        // SAFETY: `alloc_raw` gave an object of this cache, nobody else's,
        // of `T`'s size and alignment (type invariant): one `T` fits.
        unsafe { ptr.as_ptr().write(value) };
        // INVARIANT: the slot holds a valid `T` and we own it.
        Ok(CacheBox { ptr, cache: self })
    }

    fn alloc_raw(&self, gfp: Gfp) -> Result<NonNull<T>> {
        let raw = gfp.for_slab()?;
        // SAFETY: the cache is live (type invariant), the mask valid;
        // sleeping is the caller's choice via `gfp`.
        let p = unsafe { mapdrv_kmem_cache_alloc(self.cache.as_ptr(), raw) };
        NonNull::new(p.cast::<T>()).ok_or(ENOMEM)
    }

    /// The cache's name.
    #[inline]
    pub(crate) fn name(&self) -> &'static CStr {
        self.name
    }

    /// The size of one object as the cache sees it (`kmem_cache_size()`).
    pub(crate) fn object_size(&self) -> usize {
        // SAFETY: `&self` keeps the cache alive (type invariant: live until
        // `self` drops); `kmem_cache_size()` only reads its object size.
        unsafe { bindings::kmem_cache_size(self.cache.as_ptr()) as usize }
    }

    /// The raw `struct kmem_cache`, e.g. as a mempool's backing.
    #[inline]
    pub(crate) fn as_ptr(&self) -> *mut bindings::kmem_cache {
        self.cache.as_ptr()
    }
}

/// A slab cache of `T` objects whose slots are set up by
/// [`SlabConstruct::construct`] when the cache creates a slab, destroyed on
/// `Drop`.
///
/// # Invariants
///
/// `inner` was created with `construct_trampoline::<T>` as constructor, and
/// every free slot of it holds a valid `T`: the constructor wrote one, and
/// objects go back only through [`CacheBox`] (`T` has no drop glue, so the
/// value stays in place), holding a valid `T`. Nothing else can allocate
/// from or free into `inner`: it is private, with no raw accessor.
pub(crate) struct CtorCache<T: SlabConstruct> {
    inner: KmemCache<T>,
}

impl<T: SlabConstruct> CtorCache<T> {
    const NO_DROP_GLUE: () = assert!(
        !core::mem::needs_drop::<T>(),
        "a slab constructor needs a type without drop glue: objects return to the cache as they are"
    );

    /// Creates a cache whose slots are set up by [`SlabConstruct::construct`]
    /// when the cache creates a slab.
    pub(crate) fn new(name: &'static CStr, flags: SlabFlags) -> Result<Self> {
        let () = Self::NO_DROP_GLUE;
        let inner = KmemCache::create(name, flags, Some(construct_trampoline::<T>))?;
        // INVARIANT: a fresh cache with our constructor and no objects yet.
        Ok(CtorCache { inner })
    }

    /// Allocates an object in whatever state the last user left it (or as
    /// constructed, for a new slot).
    ///
    /// `EINVAL` for `__GFP_ZERO`, which would hand out
    /// zeroes instead of a `T` (and SLUB `WARN`s on it for a cache with a
    /// constructor), and for masks slab cannot serve.
    pub(crate) fn alloc_constructed(&self, gfp: Gfp) -> Result<CacheBox<'_, T>> {
        if gfp.contains(Gfp::__GFP_ZERO) {
            return Err(EINVAL);
        }
        let ptr = self.inner.alloc_raw(gfp)?;
        // INVARIANT: a slot of this cache, which holds a valid `T` (type
        // invariant), now owned by the box.
        Ok(CacheBox {
            ptr,
            cache: &self.inner,
        })
    }
}

impl<T> Drop for KmemCache<T> {
    fn drop(&mut self) {
        // SAFETY: we own the live cache (type invariant). Nothing can
        // allocate from it or free into it any more (every object's owner
        // borrowed `self`), so the answer stays true until the destroy.
        let left = unsafe { bindings::kmem_cache_shrink(self.cache.as_ptr()) };
        if left != 0 {
            pr_warn!(
                "slab cache {:?} still has objects (a CacheBox or pool element was leaked): leaking the cache instead of destroying it\n",
                self.name
            );
            return;
        }
        let _names = NamesGuard::lock();
        // No slab is left (above; the `compile_error!` at the top makes the
        // answer real), so `kmem_cache_destroy()` finds no object: no `WARN`.
        // SAFETY: we own the cache (type invariant) and this is its drop:
        // every `CacheBox` and pool element borrowed `self`, so none is still
        // in use, and nothing can reach the cache after this call.
        unsafe { bindings::kmem_cache_destroy(self.cache.as_ptr()) };
    }
}

/// One object of a [`KmemCache<T>`], returned to that cache on `Drop`.
///
/// # Invariants
///
/// `ptr` is an object of `cache`, owned by this value, holding a valid `T`.
pub(crate) struct CacheBox<'c, T> {
    ptr: NonNull<T>,
    cache: &'c KmemCache<T>,
}

// SAFETY: a `CacheBox` owns its `T` (so sending it sends a `T`: `T: Send`)
// and frees it with `kmem_cache_free()`, which may run on any CPU or
// thread; the `&KmemCache` it holds is `Sync` (`KmemCache` is shared by
// all its objects' owners at once).
unsafe impl<T: Send> Send for CacheBox<'_, T> {}
// SAFETY: through `&CacheBox` only `&T` is reachable (`Deref`), and freeing
// needs the `CacheBox` itself: sharing it is sharing a `&T` (`T: Sync`).
unsafe impl<T: Sync> Sync for CacheBox<'_, T> {}

impl<T> CacheBox<'_, T> {
    /// The object's address.
    #[inline]
    pub(crate) fn as_ptr(&self) -> *const T {
        self.ptr.as_ptr()
    }
}

impl<T> Deref for CacheBox<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: by the type invariant the object holds a valid `T` we own.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T> DerefMut for CacheBox<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes the access unique.
        unsafe { self.ptr.as_mut() }
    }
}

impl<T> Drop for CacheBox<'_, T> {
    fn drop(&mut self) {
        // SAFETY: we own a valid `T` in the slot; for constructed caches `T`
        // has no drop glue and this is a no-op, leaving the value in place.
        unsafe { core::ptr::drop_in_place(self.ptr.as_ptr()) };
        // SAFETY: the object belongs to `cache`, which is alive (borrowed),
        // and is freed exactly once, here.
        unsafe { bindings::kmem_cache_free(self.cache.cache.as_ptr(), self.ptr.as_ptr().cast()) };
    }
}

#[kunit_tests(mapdrv_slab)]
mod tests {
    use super::*;
    use core::sync::atomic::{AtomicUsize, Ordering};
    use kernel::alloc::flags::GFP_KERNEL;

    static CONSTRUCTED: AtomicUsize = AtomicUsize::new(0);

    #[derive(Clone, Copy)]
    struct Slot {
        magic: u32,
        uses: u32,
        _pad: [u8; 56],
    }

    impl SlabConstruct for Slot {
        fn construct() -> Self {
            CONSTRUCTED.fetch_add(1, Ordering::Relaxed);
            Slot {
                magic: 0xc0ffee,
                uses: 0,
                _pad: [0; 56],
            }
        }
    }

    /// Values go in and come out; each object is its own slot.
    #[test]
    fn alloc_holds_values() -> Result {
        let cache = KmemCache::<[u64; 4]>::new(c"mapdrv_test_values", SlabFlags::NONE)?;
        let a = cache.alloc([1, 2, 3, 4], Gfp::GFP_KERNEL)?;
        let mut b = cache.alloc([5; 4], Gfp::GFP_KERNEL)?;
        b[0] = 9;
        assert_eq!(*a, [1, 2, 3, 4]);
        assert_eq!(*b, [9, 5, 5, 5]);
        assert!(a.as_ptr() != b.as_ptr());
        assert!(cache.object_size() >= 32);
        Ok(())
    }

    /// The constructor runs when slots are set up, not per allocation: a
    /// thousand alloc/free cycles construct at most a few slabs' worth of
    /// slots, and freed objects come back in the state their last user left.
    #[test]
    fn constructor_runs_per_slot_not_per_alloc() -> Result {
        const CYCLES: usize = 1000;
        let cache = CtorCache::<Slot>::new(c"mapdrv_test_ctor", SlabFlags::NONE)?;
        let before = CONSTRUCTED.load(Ordering::Relaxed);
        let mut reused_dirty = 0;
        for _ in 0..CYCLES {
            let mut o = cache.alloc_constructed(Gfp::GFP_KERNEL)?;
            assert_eq!(o.magic, 0xc0ffee);
            if o.uses > 0 {
                reused_dirty += 1;
            }
            o.uses += 1;
        }
        let constructed = CONSTRUCTED.load(Ordering::Relaxed) - before;
        assert!(constructed >= 1);
        // Generic KASAN quarantines freed objects (to catch use-after-free)
        // instead of handing them out again at once, so reuse can only be
        // observed without it.
        if !cfg!(CONFIG_KASAN) {
            // Far fewer slots were set up than allocations made...
            assert!(constructed < CYCLES);
            // ...and objects came back as their last user left them.
            assert!(reused_dirty > 0);
        }
        Ok(())
    }

    /// `__GFP_ZERO` on a cache with a constructor is refused (it would
    /// hand out zeroes as a `T`, and SLUB would `WARN`), as are masks slab
    /// cannot serve; the objects it does hand out are constructed ones.
    #[test]
    fn constructed_cache_refuses_zeroing() -> Result {
        let cache = CtorCache::<Slot>::new(c"mapdrv_test_ctor_zero", SlabFlags::NONE)?;
        for gfp in [
            Gfp::GFP_KERNEL | Gfp::__GFP_ZERO,
            Gfp::GFP_ATOMIC | Gfp::__GFP_ZERO,
            Gfp::GFP_KERNEL | Gfp::GFP_DMA32,
        ] {
            assert_eq!(cache.alloc_constructed(gfp).err(), Some(EINVAL));
        }
        let o = cache.alloc_constructed(Gfp::GFP_KERNEL)?;
        assert_eq!(o.magic, 0xc0ffee);
        Ok(())
    }

    /// Names the kernel would `WARN` on are refused before it: empty, or
    /// with a space or another blank.
    #[test]
    fn refuses_names_the_kernel_warns_on() {
        for name in [c"", c"mapdrv test", c"mapdrv\ttest", c" "] {
            assert_eq!(
                KmemCache::<u64>::new(name, SlabFlags::NONE).err(),
                Some(EINVAL)
            );
            assert_eq!(
                CtorCache::<Slot>::new(name, SlabFlags::NONE).err(),
                Some(EINVAL)
            );
        }
    }

    /// A name `/sys/kernel/slab/` has is refused - another live cache's,
    /// or an alias such as `kmalloc-64` (created at boot) - and is free
    /// again once its cache is gone.
    #[test]
    fn refuses_taken_names() -> Result {
        let first = KmemCache::<u64>::new(c"mapdrv_test_dup", SlabFlags::NONE)?;
        assert!(name_in_sysfs(c"mapdrv_test_dup"));
        assert_eq!(
            KmemCache::<u32>::new(c"mapdrv_test_dup", SlabFlags::NONE).err(),
            Some(EINVAL)
        );
        assert_eq!(
            CtorCache::<Slot>::new(c"mapdrv_test_dup", SlabFlags::NONE).err(),
            Some(EINVAL)
        );
        assert_eq!(
            KmemCache::<[u8; 64]>::new(c"kmalloc-64", SlabFlags::NONE).err(),
            Some(EINVAL)
        );
        drop(first);
        assert!(!name_in_sysfs(c"mapdrv_test_dup"));
        let _again = KmemCache::<u64>::new(c"mapdrv_test_dup", SlabFlags::NONE)?;
        Ok(())
    }

    /// Dropping a cache after a box was forgotten leaves the cache alive
    /// (no "still has objects" `WARN`); the test then frees the object and
    /// destroys the cache by hand. Dropping one whose objects all came
    /// back destroys it.
    #[test]
    fn leaked_object_keeps_its_cache_alive() -> Result {
        let cache = KmemCache::<[u64; 2]>::new(c"mapdrv_test_leak", SlabFlags::NONE)?;
        let kept = cache.alloc([1, 2], Gfp::GFP_KERNEL)?;
        let leaked = cache.alloc([3, 4], Gfp::GFP_KERNEL)?;
        let obj = leaked.as_ptr().cast_mut();
        core::mem::forget(leaked);
        drop(kept);
        let raw = cache.as_ptr();
        drop(cache);
        // Still registered: the drop leaked the cache instead of destroying it.
        assert!(name_in_sysfs(c"mapdrv_test_leak"));
        // SAFETY: the drop above leaked `raw` with exactly one object,
        // `obj`, which nothing else refers to; both are freed once, here.
        unsafe {
            bindings::kmem_cache_free(raw, obj.cast());
            bindings::kmem_cache_destroy(raw);
        }
        assert!(!name_in_sysfs(c"mapdrv_test_leak"));
        let empty = KmemCache::<[u64; 2]>::new(c"mapdrv_test_leak", SlabFlags::NONE)?;
        drop(empty.alloc([5, 6], Gfp::GFP_KERNEL)?);
        drop(empty);
        assert!(!name_in_sysfs(c"mapdrv_test_leak"));
        Ok(())
    }

    /// Plain caches refuse masks slab cannot serve, before the allocator.
    #[test]
    fn plain_cache_refuses_bad_masks() -> Result {
        let cache = KmemCache::<[u8; 64]>::new(c"mapdrv_test_badmask", SlabFlags::NONE)?;
        assert_eq!(cache.alloc([0; 64], Gfp::GFP_HIGHUSER).err(), Some(EINVAL));
        Ok(())
    }

    /// `Drop` returns objects to their cache: the next allocations reuse
    /// the freed slots.
    #[test]
    fn drop_returns_objects_to_the_cache() -> Result {
        let cache = KmemCache::<[u8; 128]>::new(c"mapdrv_test_reuse", SlabFlags::NONE)?;
        let mut first = KVec::new();
        for _ in 0..16 {
            let o = cache.alloc([0; 128], Gfp::GFP_KERNEL)?;
            first.push(o.as_ptr() as usize, GFP_KERNEL)?;
        }
        // All 16 were dropped at the end of each iteration; allocate again.
        let again = cache.alloc([1; 128], Gfp::GFP_KERNEL)?;
        // Under generic KASAN freed objects sit in a quarantine first (and
        // kmemleak in the debug kernel checks that they were freed at all).
        if !cfg!(CONFIG_KASAN) {
            assert!(first.contains(&(again.as_ptr() as usize)));
        }
        Ok(())
    }

    /// `SLAB_HWCACHE_ALIGN` aligns objects to a cache line (64 bytes), or
    /// to half of it, a quarter... while the object fits twice in that:
    /// 40-byte objects are 64-aligned, 24-byte objects 32-aligned.
    #[test]
    fn hwcache_align() -> Result {
        let c40 = KmemCache::<[u8; 40]>::new(c"mapdrv_test_align40", SlabFlags::HWCACHE_ALIGN)?;
        let c24 = KmemCache::<[u8; 24]>::new(c"mapdrv_test_align24", SlabFlags::HWCACHE_ALIGN)?;
        let mut odd32 = false;
        // Declared after the caches, so dropped (objects freed) before them.
        let mut live = KVec::new();
        for _ in 0..8 {
            let a = c40.alloc([0; 40], Gfp::GFP_KERNEL)?;
            let b = c24.alloc([0; 24], Gfp::GFP_KERNEL)?;
            assert_eq!(a.as_ptr() as usize % 64, 0);
            assert_eq!(b.as_ptr() as usize % 32, 0);
            odd32 |= b.as_ptr() as usize % 64 != 0;
            live.push((a, b), GFP_KERNEL)?;
        }
        // Eight live 24-byte objects in 32-byte slots: some sit at odd
        // multiples of 32, i.e. not 64-aligned. (With KASAN or slab debug
        // metadata the slots grow past 32 bytes and this does not hold.)
        if !cfg!(CONFIG_KASAN) {
            assert!(odd32);
        }
        Ok(())
    }

    /// Dropping a box drops the value inside it.
    #[test]
    fn drop_runs_the_destructor() -> Result {
        static DROPPED: AtomicUsize = AtomicUsize::new(0);
        struct Noisy;
        impl Drop for Noisy {
            fn drop(&mut self) {
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
        }
        let cache = KmemCache::<(Noisy, u64)>::new(c"mapdrv_test_drop", SlabFlags::NONE)?;
        let o = cache.alloc((Noisy, 7), Gfp::GFP_KERNEL)?;
        assert_eq!(o.1, 7);
        drop(o);
        assert_eq!(DROPPED.load(Ordering::Relaxed), 1);
        Ok(())
    }
}
