// De-initialising an initialised buffer: a `&mut [MaybeUninit<u8>]` view
// of a `KmallocBuf<Init>` would let safe code write
// `MaybeUninit::uninit()` over a byte that `as_slice()` then reads as `u8`.
// `as_uninit_mut` exists only while nothing is known of the contents.
// expect: error[E0599]
// expect: no method named `as_uninit_mut` found for struct `owned::Owned<Kfree, owned::Init>`
use crate::mm::gfp::Gfp;
use crate::mm::kmalloc::KmallocBuf;
use core::mem::MaybeUninit;

#[allow(dead_code)]
fn deinit() -> kernel::error::Result<u8> {
    let mut buf = KmallocBuf::zalloc(64, Gfp::GFP_KERNEL)?;
    buf.as_uninit_mut()[0] = MaybeUninit::uninit();
    Ok(buf.as_slice()[0])
}
