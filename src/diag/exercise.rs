// SPDX-License-Identifier: GPL-2.0

//! Allocation cycles on demand (`MAPDRV_IOC_EXERCISE`), for the leak and
//! fault-injection tests.
//!
//! Each cycle allocates through mapdrv's wrappers, checks what came back,
//! and drops it. Every allocation passes `__GFP_NOWARN`: under fault
//! injection failures are the point, and the kernel's allocation-failure
//! report (a stack dump) would only drown the log. A cycle ends in one of
//! three ways: `ok`, `enomem` (some allocation failed with `ENOMEM`;
//! everything already allocated was freed by `Drop` on the way out), or
//! `other` (any other error: a bug). kmemleak after thousands of cycles
//! under injection then shows whether every failure path really freed
//! everything.

use crate::abi::{Family, MapdrvExercise, MAX_EXERCISE_CYCLES};
use crate::diag::fixtures::{Caches, POOL_MIN};
use crate::diag::yield_point;
use crate::mm::gfp::Gfp;
use crate::mm::kmalloc::KmallocBuf;
use crate::mm::mempool::Mempool;
use crate::mm::page::{FreePages, Pages, PAGE_SIZE};
use crate::mm::slab::KmemCache;
use crate::mm::vmalloc::VmallocBuf;
use kernel::alloc::flags::__GFP_NOWARN;
use kernel::prelude::*;

const GFP: Gfp = Gfp::GFP_KERNEL.union(Gfp::__GFP_NOWARN);

/// A small xorshift generator, so cycles vary sizes without a kernel RNG.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn pages_cycle(rng: &mut Rng) -> Result {
    let order = rng.below(4) as u32;
    let mut p = Pages::alloc(GFP, order)?;
    p.as_uninit_mut()[PAGE_SIZE - 1].write(1);
    let z = FreePages::zeroed(GFP)?;
    if z.as_slice().iter().any(|&b| b != 0) {
        return Err(EIO);
    }
    let f = FreePages::alloc(GFP, rng.below(3) as u32)?;
    if f.first().refcount() != 1 {
        return Err(EIO);
    }
    Ok(())
}

fn kmalloc_cycle(rng: &mut Rng) -> Result {
    let len = [8usize, 64, 100, 1000, 4096, 3 * PAGE_SIZE + 1][rng.below(6) as usize];
    let mut a = KmallocBuf::alloc(len, GFP)?;
    a.as_uninit_mut()[len - 1].write(0xaa);
    let z = KmallocBuf::zalloc(len, GFP)?;
    if z.as_slice().iter().any(|&b| b != 0) || a.ksize() < len {
        return Err(EIO);
    }
    Ok(())
}

fn slab_cycle(cache: &KmemCache<[u64; 24]>, rng: &mut Rng) -> Result {
    let n = 1 + rng.below(8);
    let mut held = KVec::new();
    for i in 0..n {
        let o = cache.alloc([i; 24], GFP)?;
        held.push(o, GFP_KERNEL | __GFP_NOWARN)?;
    }
    for (i, o) in held.iter().enumerate() {
        if o[23] != i as u64 {
            return Err(EIO);
        }
    }
    Ok(())
}

fn vmalloc_cycle(rng: &mut Rng) -> Result {
    let pages = 1 + rng.below(16) as usize;
    let mut v = VmallocBuf::alloc(pages * PAGE_SIZE)?;
    v.as_uninit_mut()[pages * PAGE_SIZE - 1].write(3);
    if v.pages().count() != pages {
        return Err(EIO);
    }
    Ok(())
}

/// Takes `want` elements (non-sleeping, so an empty pool is ENOMEM rather
/// than a wait) and returns how many came from the reserve.
fn mempool_cycle(pool: &Mempool<'_>, want: usize) -> Result<usize> {
    let mut held = KVec::new();
    for _ in 0..want {
        let mut e = pool.alloc(Gfp::GFP_NOWAIT)?;
        e.as_uninit_mut()[0].write(1);
        held.push(e, GFP_KERNEL | __GFP_NOWARN)?;
    }
    // The reserve is full at the start of a cycle (returned elements refill
    // it first), so what it lacks now was handed out from it.
    Ok(pool.min_nr() - pool.reserve())
}

/// Runs `req.cycles` cycles of `req.family` and fills in the counts.
/// `EINVAL` for an unknown family, non-zero flags or a cycle count outside
/// 1..=[`MAX_EXERCISE_CYCLES`]; `EINTR` if a signal arrives (checked after
/// every cycle, with a `cond_resched()`).
pub(crate) fn run(caches: &Caches, req: &mut MapdrvExercise) -> Result {
    if req.cycles == 0 || req.cycles > MAX_EXERCISE_CYCLES || req.flags != 0 {
        return Err(EINVAL);
    }
    let Some(family) = Family::from_raw(req.family) else {
        return Err(EINVAL);
    };
    let cycle: fn(&Caches, &mut Rng) -> Result<u64> = match family {
        Family::Pages => |_, rng| pages_cycle(rng).map(|()| 0),
        Family::Kmalloc => |_, rng| kmalloc_cycle(rng).map(|()| 0),
        Family::Vmalloc => |_, rng| vmalloc_cycle(rng).map(|()| 0),
        Family::Slab => |c, rng| slab_cycle(&c.objects, rng).map(|()| 0),
        // Ask for the reserve's worth: with a working backing every element
        // comes from it; under injection the reserve makes up for failures.
        Family::Mempool => |c, _| mempool_cycle(&c.pool, POOL_MIN).map(|n| n as u64),
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ req.cycles);
    for _ in 0..req.cycles {
        match cycle(caches, &mut rng) {
            Ok(served) => {
                req.ok += 1;
                req.reserve_served += served;
            }
            Err(e) if e == ENOMEM => req.enomem += 1,
            Err(_) => req.other += 1,
        }
        yield_point()?;
    }
    Ok(())
}
