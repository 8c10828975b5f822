// SPDX-License-Identifier: GPL-2.0

//! Microbenchmarks: each allocator through mapdrv's safe wrapper and through
//! the raw C calls, in the same loop shape (`MAPDRV_IOC_BENCH`).
//!
//! One call times `iterations` alloc+free pairs of one case in one variant
//! on the monotonic clock (`kernel::time::Instant`: `ktime_get()`) and
//! returns the elapsed nanoseconds. The caller
//! (`maptest bench-alloc`) interleaves wrapper and raw calls (ABBA order),
//! repeats them, and reports medians and the wrapper/raw ratio with its
//! spread: ratios measured interleaved in one boot, not absolute numbers.
//! Nothing here runs at load.

use crate::abi::{BenchCase, BenchVariant, MAX_BENCH_ITERATIONS};
use crate::diag::fixtures::Caches;
use crate::mm::gfp::Gfp;
use crate::mm::helpers::*;
use crate::mm::kmalloc::{KmallocBuf, KMALLOC_MAX_SIZE};
use crate::mm::page::{FreePages, Pages, PAGE_SIZE};
use crate::mm::vmalloc::VmallocBuf;
use core::hint::black_box;
use kernel::bindings;
use kernel::ffi::c_ulong;
use kernel::prelude::*;
use kernel::time::{Instant, Monotonic};

/// Iterations timed in one go; between chunks (untimed) the loop yields
/// the CPU and checks for signals.
const CHUNK: u64 = 1000;

/// Times `n` alloc+free pairs of `case` through `variant`
/// ([`BenchVariant::RawChecked`] exists for the kmalloc cases and the
/// mempool only: [`BenchCase::has_checked_variant`]).
/// `EINVAL` for an unknown case or variant or `n` outside
/// 1..=[`MAX_BENCH_ITERATIONS`], `ENOMEM` if an allocation fails, `EINTR`
/// if a signal is pending between chunks.
pub(crate) fn run(fx: &Caches, case: u32, variant: u32, n: u64) -> Result<u64> {
    let (Some(case), Some(variant)) = (BenchCase::from_raw(case), BenchVariant::from_raw(variant))
    else {
        return Err(EINVAL);
    };
    if n == 0
        || n > MAX_BENCH_ITERATIONS
        || (variant == BenchVariant::RawChecked && !case.has_checked_variant())
    {
        return Err(EINVAL);
    }
    let (mut left, mut ns) = (n, 0);
    while left > 0 {
        let chunk = left.min(CHUNK);
        ns += timed(fx, case, variant, chunk)?;
        left -= chunk;
        crate::diag::yield_point()?;
    }
    Ok(ns)
}

/// One timed chunk of [`run`]: the loop is the same for every variant, and
/// each variant's body is inlined into it.
fn timed(fx: &Caches, case: BenchCase, variant: BenchVariant, n: u64) -> Result<u64> {
    let gfp = Gfp::GFP_KERNEL;
    let start = Instant::<Monotonic>::now();
    for _ in 0..n {
        match variant {
            BenchVariant::Wrapper => wrapper_once(fx, case, gfp)?,
            BenchVariant::Raw => raw_once(fx, case, gfp)?,
            BenchVariant::RawChecked => {
                // The raw call plus the checks the wrapper adds, to see
                // what they cost: kmalloc's length bound (oversize
                // requests WARN) and mask check; the mempool's refusal of
                // `__GFP_ZERO` (`mempool_alloc()` warns on it) and mask
                // check (`Mempool::alloc`).
                let refused = if case == BenchCase::Mempool {
                    black_box(gfp).for_slab_refusing(Gfp::__GFP_ZERO).is_err()
                } else {
                    let len = kmalloc_len(case);
                    len == 0 || len > KMALLOC_MAX_SIZE || black_box(gfp).for_slab().is_err()
                };
                if refused {
                    return Err(EINVAL);
                }
                raw_once(fx, case, gfp)?
            }
        }
    }
    Ok(start.elapsed().as_nanos().max(0) as u64)
}

/// The request size of a kmalloc case (0 for the others).
#[inline(always)]
fn kmalloc_len(case: BenchCase) -> usize {
    match case {
        BenchCase::Kmalloc64 => 64,
        BenchCase::Kmalloc4K => 4096,
        BenchCase::Kzalloc256 => 256,
        _ => 0,
    }
}

/// The page count of a vmalloc case.
#[inline(always)]
fn vmalloc_pages(case: BenchCase) -> usize {
    if case == BenchCase::Vmalloc1 {
        1
    } else {
        16
    }
}

/// One alloc+free pair through mapdrv's wrapper.
#[inline(always)]
fn wrapper_once(fx: &Caches, case: BenchCase, gfp: Gfp) -> Result {
    match case {
        BenchCase::AllocPages => drop(black_box(Pages::alloc(gfp, 0)?)),
        BenchCase::AllocPagesOrder3 => drop(black_box(Pages::alloc(gfp, 3)?)),
        BenchCase::GetFreePages => drop(black_box(FreePages::alloc(gfp, 0)?)),
        BenchCase::GetZeroedPage => drop(black_box(FreePages::zeroed(gfp)?)),
        BenchCase::Kmalloc64 | BenchCase::Kmalloc4K => {
            drop(black_box(KmallocBuf::alloc(kmalloc_len(case), gfp)?))
        }
        BenchCase::Kzalloc256 => drop(black_box(KmallocBuf::zalloc(kmalloc_len(case), gfp)?)),
        BenchCase::KmemCache192 => drop(black_box(fx.objects.alloc([0; 24], gfp)?)),
        BenchCase::Mempool => drop(black_box(fx.pool.alloc(gfp)?)),
        BenchCase::Vmalloc1 | BenchCase::Vmalloc16 => drop(black_box(VmallocBuf::alloc(
            vmalloc_pages(case) * PAGE_SIZE,
        )?)),
        BenchCase::AllocPagesZero => drop(black_box(Pages::alloc_zeroed(gfp, 0)?)),
    }
    Ok(())
}

/// `ENOMEM` for a null pointer from a raw C allocator.
#[inline(always)]
fn non_null<T>(p: *mut T) -> Result<*mut T> {
    if p.is_null() {
        Err(ENOMEM)
    } else {
        Ok(p)
    }
}

/// One alloc+free pair through the raw C calls the wrapper makes.
#[inline(always)]
fn raw_once(fx: &Caches, case: BenchCase, gfp: Gfp) -> Result {
    match case {
        BenchCase::AllocPages | BenchCase::AllocPagesOrder3 | BenchCase::AllocPagesZero => {
            let (order, gfp) = match case {
                BenchCase::AllocPagesOrder3 => (3, gfp),
                BenchCase::AllocPagesZero => (0, gfp.union(Gfp::__GFP_ZERO)),
                _ => (0, gfp),
            };
            // SAFETY: a block of this order, freed right away with the same order.
            unsafe {
                let p = non_null(bindings::alloc_pages(gfp.as_raw(), order))?;
                bindings::__free_pages(black_box(p), order);
            }
        }
        BenchCase::GetFreePages | BenchCase::GetZeroedPage => {
            // SAFETY: an order-0 block, freed right away.
            unsafe {
                let a = if case == BenchCase::GetFreePages {
                    mapdrv_get_free_pages(gfp.as_raw(), 0)
                } else {
                    mapdrv_get_zeroed_page(gfp.as_raw())
                };
                if a == 0 {
                    return Err(ENOMEM);
                }
                bindings::free_pages(black_box(a), 0);
            }
        }
        BenchCase::Kmalloc64 | BenchCase::Kmalloc4K | BenchCase::Kzalloc256 => {
            // kzalloc() is kmalloc() with __GFP_ZERO.
            let g = if case == BenchCase::Kzalloc256 {
                gfp.union(Gfp::__GFP_ZERO)
            } else {
                gfp
            };
            // SAFETY: a kmalloc object freed right away.
            unsafe {
                bindings::kfree(black_box(non_null(mapdrv_kmalloc(
                    kmalloc_len(case),
                    g.as_raw(),
                ))?))
            };
        }
        BenchCase::KmemCache192 => {
            // SAFETY: an object of this live cache, freed right away; the
            // wrapper also writes the value, so the raw loop does too.
            unsafe {
                let p = non_null(mapdrv_kmem_cache_alloc(fx.objects.as_ptr(), gfp.as_raw()))?
                    .cast::<[u64; 24]>();
                p.write([0; 24]);
                bindings::kmem_cache_free(fx.objects.as_ptr(), black_box(p).cast());
            }
        }
        BenchCase::Mempool => {
            // SAFETY: an element of this live pool, returned right away.
            unsafe {
                let p = non_null(mapdrv_mempool_alloc(fx.pool.as_raw(), gfp.as_raw()))?;
                bindings::mempool_free(black_box(p), fx.pool.as_raw());
            }
        }
        BenchCase::Vmalloc1 | BenchCase::Vmalloc16 => {
            let size = vmalloc_pages(case) * PAGE_SIZE;
            let g = Gfp::GFP_KERNEL.union(Gfp::__GFP_NOWARN);
            // SAFETY: a vmalloc buffer freed right away.
            unsafe {
                mapdrv_vfree(black_box(non_null(mapdrv_vmalloc(
                    size as c_ulong,
                    g.as_raw(),
                ))?))
            };
        }
    }
    Ok(())
}
