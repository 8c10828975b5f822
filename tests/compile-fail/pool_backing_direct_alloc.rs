// Call a mempool backing's `alloc` directly, with a mask the pool never
// validated (`__GFP_HIGHMEM` reaches kmalloc, which dumps a stack and
// fixes the mask behind the caller's back). `PoolBacking::alloc` is an
// `unsafe fn`: only the pool's trampoline calls it, with a mask it checked.
// expect: error[E0133]
// expect: call to unsafe function
use crate::mm::gfp::Gfp;
use crate::diag::fixtures::FailableKmalloc;
use crate::mm::mempool::PoolBacking;

#[allow(dead_code)]
fn direct() -> kernel::error::Result {
    let backing = FailableKmalloc::new(64)?;
    let _e = backing.alloc(Gfp::GFP_HIGHUSER);
    Ok(())
}
