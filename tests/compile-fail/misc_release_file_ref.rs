// Hole 3: take a counted reference to the file in `release`, where its
// count is already zero. `release` gets no file.
// expect: error[E0050]
// expect: has 2 parameters but the declaration in trait `miscdev::MiscDevice::release` has 1
use crate::miscdev::MiscDevice;
use kernel::fs::File;
use kernel::prelude::*;
use kernel::sync::aref::ARef;

struct Keeper;

#[vtable]
impl MiscDevice for Keeper {
    fn release(&self, file: &File) {
        let _resurrected: ARef<File> = file.into();
    }
}
