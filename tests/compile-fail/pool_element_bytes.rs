// Hole 4: write a pool element as initialised bytes (`&mut [u8]`), or read
// its previous user's leftovers as `u8`. Elements are `MaybeUninit<u8>`.
// expect: error[E0599]
// expect: no method named `as_mut_slice` found for struct `owned::Owned<PoolFree<'_>>`
// expect: `owned::Owned<R, owned::Init>`
use crate::mm::gfp::Gfp;
use crate::mm::mempool::Mempool;

#[allow(dead_code)]
fn leftovers() -> kernel::error::Result {
    let pool = Mempool::kmalloc(2, 64)?;
    let mut e = pool.alloc(Gfp::GFP_KERNEL)?;
    e.as_mut_slice()[0] = 0xff;
    Ok(())
}
