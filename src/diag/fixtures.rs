// SPDX-License-Identifier: GPL-2.0

//! Fixtures: what the diagnostics allocate from.
//!
//! [`Caches`] holds the slab cache and mempool that the exercise cycles and
//! the microbenchmarks share, created once with the device.
//!
//! [`FailableKmalloc`] is a [`PoolBacking`] (the reusable layer's extension
//! point for a mempool's backing allocator) that can be told to fail: it
//! shows what a mempool's reserve is for, and lets the report and the tests
//! simulate memory pressure without fault injection. It lives here, not in
//! `src/mm/`, because nothing but the diagnostics needs it.

use crate::mm::gfp::Gfp;
use crate::mm::helpers::mapdrv_kmalloc;
use crate::mm::mempool::{Mempool, PoolBacking};
use crate::mm::slab::{KmemCache, SlabFlags};
use core::ptr::NonNull;
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};

/// The reserve of the exercise mempool.
pub(crate) const POOL_MIN: usize = 4;

/// The slab cache and mempool the exercise cycles ([`crate::diag::exercise`])
/// and the microbenchmarks ([`crate::diag::bench`]) allocate from, created
/// once with the device: under fault injection the cycles exercise object
/// allocation and the pool's reserve, not cache or pool creation (module
/// load under injection covers those paths).
pub(crate) struct Caches {
    /// 192-byte objects (`mapdrv_exercise`).
    pub(crate) objects: KmemCache<[u64; 24]>,
    /// 256-byte kmalloc elements, [`POOL_MIN`] in reserve.
    pub(crate) pool: Mempool<'static>,
}

impl Caches {
    /// Creates the cache (`mapdrv_exercise`) and a kmalloc-backed mempool
    /// with a reserve of [`POOL_MIN`] 256-byte elements.
    pub(crate) fn new() -> Result<Self> {
        Ok(Caches {
            objects: KmemCache::new(c"mapdrv_exercise", SlabFlags::NONE)?,
            pool: Mempool::kmalloc(POOL_MIN, 256)?,
        })
    }
}

/// A kmalloc backing of fixed-size objects that fails while told to.
///
/// # Invariants
///
/// `0 < size <= KMALLOC_MAX_SIZE`; `allocated` counts the objects `alloc`
/// returned and `free` has not yet taken back.
pub(crate) struct FailableKmalloc {
    size: usize,
    fail: Atomic<bool>,
    allocated: Atomic<usize>,
}

impl FailableKmalloc {
    /// A backing of `size`-byte kmalloc objects, working. `EINVAL` unless
    /// `0 < size <= KMALLOC_MAX_SIZE`: a larger object would make the page
    /// allocator `WARN`, and `kmalloc(0)` returns `ZERO_SIZE_PTR`, which is
    /// no element.
    pub(crate) fn new(size: usize) -> Result<Self> {
        crate::mm::kmalloc::check_len(size)?;
        // INVARIANT: `size` checked just above; nothing allocated yet.
        Ok(FailableKmalloc {
            size,
            fail: Atomic::new(false),
            allocated: Atomic::new(0),
        })
    }

    /// From now on every allocation fails (`true`) or works (`false`).
    /// (`Relaxed` throughout: the flag and the count need no ordering with
    /// other memory, only atomicity.)
    pub(crate) fn set_failing(&self, fail: bool) {
        self.fail.store(fail, Relaxed);
    }

    /// Elements currently allocated from this backing (reserve included).
    pub(crate) fn allocated(&self) -> usize {
        self.allocated.load(Relaxed)
    }
}

// SAFETY: `alloc` returns `kmalloc(size)` objects of `element_size()` bytes
// or `None`, `free` kfrees exactly those; kmalloc/kfree work concurrently
// in any context the mask allows.
unsafe impl PoolBacking for FailableKmalloc {
    fn element_size(&self) -> usize {
        self.size
    }

    unsafe fn alloc(&self, gfp: Gfp) -> Option<NonNull<u8>> {
        if self.fail.load(Relaxed) {
            return None;
        }
        // SAFETY: `0 < size <= KMALLOC_MAX_SIZE` (the type invariant) and a
        // mask validated for slab (the caller's contract): a plain kmalloc.
        let p = NonNull::new(unsafe { mapdrv_kmalloc(self.size, gfp.as_raw()) }.cast::<u8>())?;
        self.allocated.fetch_add(1, Relaxed);
        Some(p)
    }

    unsafe fn free(&self, elem: NonNull<u8>) {
        self.allocated.fetch_sub(1, Relaxed);
        // SAFETY: `elem` came from our `alloc` (the caller's contract), i.e.
        // from kmalloc, and is freed once.
        unsafe { bindings::kfree(elem.as_ptr().cast()) };
    }
}

/// What a mempool's reserve does when its backing fails, shown with the fixture.
#[kunit_tests(mapdrv_pool_reserve)]
mod tests {
    use super::*;
    use crate::mm::kmalloc::KMALLOC_MAX_SIZE;
    use crate::mm::mempool::Mempool;
    use core::mem::MaybeUninit;
    use kernel::alloc::flags::GFP_KERNEL;

    /// Element sizes the kernel would `WARN` on (or that make no element)
    /// are refused.
    #[test]
    fn refuses_sizes_the_kernel_warns_on() {
        assert_eq!(FailableKmalloc::new(0).err(), Some(EINVAL));
        assert_eq!(
            FailableKmalloc::new(KMALLOC_MAX_SIZE + 1).err(),
            Some(EINVAL)
        );
        assert!(FailableKmalloc::new(KMALLOC_MAX_SIZE).is_ok());
    }

    /// The point of a mempool: with the backing allocator failing, `min_nr`
    /// elements can still be taken; the next one is ENOMEM (non-sleeping
    /// mask); returning one refills the reserve and it can be taken again.
    #[test]
    fn reserve_serves_when_backing_fails() -> Result {
        const MIN: usize = 4;
        let backing = FailableKmalloc::new(512)?;
        let pool = Mempool::with_backing(MIN, &backing)?;
        assert_eq!(pool.reserve(), MIN);
        assert_eq!(backing.allocated(), MIN);
        backing.set_failing(true);
        let mut held = KVec::new();
        for i in 0..MIN {
            let mut e = pool.alloc(Gfp::GFP_NOWAIT)?;
            e.as_uninit_mut().fill(MaybeUninit::new(i as u8));
            held.push(e, GFP_KERNEL)?;
        }
        assert_eq!(pool.reserve(), 0);
        assert_eq!(pool.alloc(Gfp::GFP_NOWAIT).err(), Some(ENOMEM));
        assert_eq!(pool.alloc(Gfp::GFP_ATOMIC).err(), Some(ENOMEM));
        held.pop();
        assert_eq!(pool.reserve(), 1);
        let again = pool.alloc(Gfp::GFP_NOWAIT)?;
        assert_eq!(again.size(), 512);
        drop(again);
        drop(held);
        assert_eq!(pool.reserve(), MIN);
        backing.set_failing(false);
        drop(pool);
        // Everything went back to the backing allocator.
        assert_eq!(backing.allocated(), 0);
        Ok(())
    }

    /// With a working backing, elements come from the backing first and the
    /// reserve stays full.
    #[test]
    fn backing_first_reserve_untouched() -> Result {
        let backing = FailableKmalloc::new(64)?;
        let pool = Mempool::with_backing(2, &backing)?;
        let a = pool.alloc(Gfp::GFP_KERNEL)?;
        let b = pool.alloc(Gfp::GFP_KERNEL)?;
        let c = pool.alloc(Gfp::GFP_KERNEL)?;
        assert_eq!(pool.reserve(), 2);
        assert_eq!(backing.allocated(), 5);
        drop((a, b, c));
        assert_eq!(backing.allocated(), 2);
        Ok(())
    }
}
