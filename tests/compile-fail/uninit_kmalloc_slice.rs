// Hole 2: make a `&mut [u8]` over a non-zeroed kmalloc object (a reference
// to uninitialised bytes). `KmallocBuf<Uninit>` has no such view.
// expect: error[E0599]
// expect: no method named `as_mut_slice` found for struct `kmalloc::KmallocBuf`
// expect: `kmalloc::KmallocBuf<pages::Init>`
use crate::gfp::Gfp;
use crate::kmalloc::KmallocBuf;

#[allow(dead_code)]
fn write_uninit() -> kernel::error::Result {
    let mut obj = KmallocBuf::alloc(64, Gfp::GFP_KERNEL)?;
    obj.as_mut_slice()[0] = 1;
    Ok(())
}
