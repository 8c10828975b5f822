// De-initialising an initialised block of pages: `Pages<Init>` has `u8`
// views, so it has no `&mut [MaybeUninit<u8>]` view through which safe
// code could write `MaybeUninit::uninit()` over them.
// expect: error[E0599]
// expect: no method named `as_uninit_mut` found for struct
// expect: Pages<owned::Init>
use crate::mm::gfp::Gfp;
use crate::mm::page::Pages;
use core::mem::MaybeUninit;

#[allow(dead_code)]
fn deinit() -> kernel::error::Result<u8> {
    let mut block = Pages::alloc_zeroed(Gfp::GFP_KERNEL, 0)?;
    block.as_uninit_mut()[0] = MaybeUninit::uninit();
    Ok(block.as_slice()[0])
}
