// Hole 2: make a `&[u8]` over a non-zeroed kmalloc object (a reference
// to uninitialised bytes). `KmallocBuf<Uninit>` has no such view.
// expect: error[E0599]
// expect: no method named `as_slice` found for struct `owned::Owned<Kfree>`
// expect: `owned::Owned<R, owned::Init>`
use crate::mm::gfp::Gfp;
use crate::mm::kmalloc::KmallocBuf;

#[allow(dead_code)]
fn read_uninit() -> kernel::error::Result<u8> {
    let obj = KmallocBuf::alloc(64, Gfp::GFP_KERNEL)?;
    Ok(obj.as_slice()[0])
}
