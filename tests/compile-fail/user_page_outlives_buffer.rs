// Hole 1: keep a mappable page after its buffer is freed. A `UserPage`
// borrows the `SharedUserVmalloc` it came from.
// expect: error[E0505]
// expect: move out of `shared` occurs here
use crate::mm::vmalloc::UserVmalloc;

#[allow(dead_code)]
fn keep_page() -> kernel::error::Result {
    let shared = UserVmalloc::zalloc(4096)?.share();
    let page = shared.page(0).ok_or(kernel::error::code::EINVAL)?;
    drop(shared);
    let _still = page.as_ptr();
    Ok(())
}
