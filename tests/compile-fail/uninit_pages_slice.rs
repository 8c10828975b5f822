// Hole 2: read a non-zeroed page block as `u8`s (uninitialised memory).
// `Pages<Uninit>` offers `MaybeUninit<u8>` views only.
// expect: error[E0599]
// expect: no method named `as_slice` found for struct `mm::page::Pages`
// expect: `mm::page::Pages<owned::Init>`
use crate::mm::gfp::Gfp;
use crate::mm::page::Pages;

#[allow(dead_code)]
fn read_uninit() -> kernel::error::Result<u8> {
    let block = Pages::alloc(Gfp::GFP_KERNEL, 0)?;
    Ok(block.as_slice()[0])
}
