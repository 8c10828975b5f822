// Hole 1 again, through the owner all buffers share: hand the pages of a
// plain `vmalloc()` buffer to user space. Only a `vmalloc_user()` buffer
// (zeroed, `VM_USERMAP`) can be shared; a `VmallocBuf` has its own
// `Release` type, so it is a different `Owned` and has no `share`.
// expect: error[E0599]
// expect: no method named `share` found for struct `owned::Owned<Vfree, owned::Init>`
use crate::mm::vmalloc::VmallocBuf;

#[allow(dead_code)]
fn share_plain() -> kernel::error::Result {
    let buf = VmallocBuf::zalloc(4096)?;
    let _shared = buf.share();
    Ok(())
}
