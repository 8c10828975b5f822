// Register a misc device from safe code and leak the registration: with
// no file open `rmmod` succeeds, and the node left behind sends the next
// `open()` to the unloaded module's `file_operations`. Leaking is safe
// Rust, so registering is not: `MiscRegistration::register` is an `unsafe
// fn` whose caller promises to keep the registration in the module state.
// expect: error[E0133]
// expect: call to unsafe function
use crate::driver::MapdrvDevice;
use crate::miscdev::MiscRegistration;
use kernel::prelude::*;

#[allow(dead_code)]
fn leak(dev: kernel::sync::Arc<MapdrvDevice>) -> Result {
    let reg = KBox::pin_init(MiscRegistration::register(c"leaked", dev), GFP_KERNEL)?;
    core::mem::forget(reg);
    Ok(())
}
