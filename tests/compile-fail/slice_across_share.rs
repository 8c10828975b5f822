// Hole 2: keep a `&mut [u8]` from the private phase and use it once the
// buffer is shared (mappable). `share()` consumes the buffer.
// expect: error[E0505]
// expect: move out of `buf` occurs here
use crate::mm::vmalloc::UserVmalloc;

#[allow(dead_code)]
fn write_after_share() -> kernel::error::Result {
    let mut buf = UserVmalloc::zalloc(4096)?;
    let bytes = buf.as_mut_slice();
    let shared = buf.share();
    bytes[0] = 1;
    drop(shared);
    Ok(())
}
