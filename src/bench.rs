// SPDX-License-Identifier: GPL-2.0

//! Microbenchmarks: each allocator through mapdrv's safe wrapper and through
//! the raw C calls, in the same loop shape (`MAPDRV_IOC_BENCH`).
//!
//! One call times `iterations` alloc+free pairs of one case in one variant
//! with `ktime_get()` and returns the elapsed nanoseconds. The caller
//! (`maptest bench-alloc`) interleaves wrapper and raw calls (ABBA order),
//! repeats them, and reports medians and the wrapper/raw ratio with its
//! spread: ratios measured interleaved in one boot, not absolute numbers.
//! Nothing here runs at load.

use crate::abi::MAX_BENCH_ITERATIONS;
use crate::gfp::Gfp;
use crate::helpers::*;
use crate::kmalloc::KmallocBuf;
use crate::mempool::Mempool;
use crate::pages::{FreePages, Pages};
use crate::slab::KmemCache;
use crate::vmalloc::VmallocBuf;
use core::hint::black_box;
use kernel::bindings;
use kernel::ffi::c_ulong;
use kernel::prelude::*;

/// Iterations timed in one go; between chunks (untimed) the loop yields
/// the CPU and checks for signals.
const CHUNK: u64 = 1000;

/// What a benchmark call may use besides the allocators themselves.
pub struct Fixtures<'a> {
    /// A slab cache of 192-byte objects.
    pub cache: &'a KmemCache<[u64; 24]>,
    /// A kmalloc-backed mempool of 256-byte elements.
    pub pool: &'a Mempool<'static>,
}

fn now() -> i64 {
    // SAFETY: `ktime_get()` reads the monotonic clock; callable anywhere.
    unsafe { bindings::ktime_get() }
}

/// Times `n` alloc+free pairs of `case`, through the wrapper (`variant`
/// 0), the raw C functions (1), or, for the kmalloc cases, the raw C
/// functions plus the wrapper's checks (2). `EINVAL` for an unknown case or
/// variant or `n` outside 1..=[`MAX_BENCH_ITERATIONS`], `ENOMEM` if an
/// allocation fails, `EINTR` if a signal is pending between chunks.
pub fn run(fx: &Fixtures<'_>, case: u32, variant: u32, n: u64) -> Result<u64> {
    // Variant 2 exists for the kmalloc cases only.
    if n == 0
        || n > MAX_BENCH_ITERATIONS
        || variant > 2
        || (variant == 2 && !(4..=6).contains(&case))
    {
        return Err(EINVAL);
    }
    let (mut left, mut ns) = (n, 0);
    while left > 0 {
        let chunk = left.min(CHUNK);
        ns += timed(fx, case, variant, chunk)?;
        left -= chunk;
        crate::exercise::yield_point()?;
    }
    Ok(ns)
}

/// One timed chunk of [`run`].
fn timed(fx: &Fixtures<'_>, case: u32, variant: u32, n: u64) -> Result<u64> {
    let raw = variant != 0;
    let gfp = Gfp::GFP_KERNEL;
    let start = now();
    for _ in 0..n {
        match (case, raw) {
            (0 | 1, false) => drop(black_box(Pages::alloc(gfp, case * 3)?)),
            (0 | 1, true) => {
                // SAFETY: order 0 or 3; freed right away with the same order.
                unsafe {
                    let p = bindings::alloc_pages(gfp.as_raw(), case * 3);
                    if p.is_null() {
                        return Err(ENOMEM);
                    }
                    bindings::__free_pages(black_box(p), case * 3);
                }
            }
            (2, false) => drop(black_box(FreePages::alloc(gfp, 0)?)),
            (3, false) => drop(black_box(FreePages::zeroed(gfp)?)),
            (2 | 3, true) => {
                // SAFETY: an order-0 block, freed right away.
                unsafe {
                    let a = if case == 2 {
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
            (4..=6, false) => {
                let len = [64, 4096, 256][(case - 4) as usize];
                if case == 6 {
                    drop(black_box(KmallocBuf::zalloc(len, gfp)?));
                } else {
                    drop(black_box(KmallocBuf::alloc(len, gfp)?));
                }
            }
            (4..=6, true) => {
                let len = [64, 4096, 256][(case - 4) as usize];
                // Variant 2: the raw call plus the checks the wrapper adds
                // (the length bound that keeps oversize requests from
                // WARNing, the mask check), to see what they cost.
                if variant == 2
                    && (len == 0
                        || len > crate::kmalloc::KMALLOC_MAX_SIZE
                        || black_box(gfp).for_slab().is_err())
                {
                    return Err(EINVAL);
                }
                // SAFETY: a kmalloc object freed right away.
                unsafe {
                    // kzalloc() is kmalloc() with __GFP_ZERO.
                    let g = if case == 6 {
                        gfp.union(Gfp::__GFP_ZERO)
                    } else {
                        gfp
                    };
                    let p = mapdrv_kmalloc(len, g.as_raw());
                    if p.is_null() {
                        return Err(ENOMEM);
                    }
                    bindings::kfree(black_box(p));
                }
            }
            (7, false) => drop(black_box(fx.cache.alloc([0; 24], gfp)?)),
            (7, true) => {
                // SAFETY: an object of this live cache, freed right away; the
                // wrapper also writes the value, so the raw loop does too.
                unsafe {
                    let p = mapdrv_kmem_cache_alloc(fx.cache.as_ptr(), gfp.as_raw())
                        .cast::<[u64; 24]>();
                    if p.is_null() {
                        return Err(ENOMEM);
                    }
                    p.write([0; 24]);
                    bindings::kmem_cache_free(fx.cache.as_ptr(), black_box(p).cast());
                }
            }
            (8, false) => drop(black_box(fx.pool.alloc(gfp)?)),
            (8, true) => {
                // SAFETY: an element of this live pool, returned right away.
                unsafe {
                    let p = mapdrv_mempool_alloc(fx.pool.as_raw(), gfp.as_raw());
                    if p.is_null() {
                        return Err(ENOMEM);
                    }
                    bindings::mempool_free(black_box(p), fx.pool.as_raw());
                }
            }
            (9 | 10, false) => drop(black_box(VmallocBuf::alloc(
                if case == 9 { 1 } else { 16 } * 4096,
            )?)),
            (9 | 10, true) => {
                let size = if case == 9 { 1 } else { 16 } * 4096;
                let g = Gfp::GFP_KERNEL.union(Gfp::__GFP_NOWARN);
                // SAFETY: a vmalloc buffer freed right away.
                unsafe {
                    let p = mapdrv_vmalloc(size as c_ulong, g.as_raw());
                    if p.is_null() {
                        return Err(ENOMEM);
                    }
                    mapdrv_vfree(black_box(p));
                }
            }
            (11, false) => drop(black_box(Pages::alloc_zeroed(gfp, 0)?)),
            (11, true) => {
                // SAFETY: as for case 0.
                unsafe {
                    let p = bindings::alloc_pages(gfp.union(Gfp::__GFP_ZERO).as_raw(), 0);
                    if p.is_null() {
                        return Err(ENOMEM);
                    }
                    bindings::__free_pages(black_box(p), 0);
                }
            }
            _ => return Err(EINVAL),
        }
    }
    Ok((now() - start).max(0) as u64)
}
