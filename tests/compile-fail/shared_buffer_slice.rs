// Hole 2: read memory user space can write through `&[u8]`. A shared
// user buffer has no slice view at all.
// expect: error[E0599]
// expect: no method named `as_slice` found for struct `SharedUserVmalloc`
use crate::mm::vmalloc::UserVmalloc;

#[allow(dead_code)]
fn read_shared() -> kernel::error::Result<u8> {
    let shared = UserVmalloc::zalloc(4096)?.share();
    Ok(shared.as_slice()[0])
}
