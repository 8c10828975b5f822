// Hole 3: treat the file of a `read` (inside an `fdget_pos()` region) as a
// shareable `File`. `read` gets a `LocalFile`.
// expect: error[E0053]
// expect: expected `LocalFile`, found `kernel::fs::File`
use crate::miscdev::MiscDevice;
use kernel::fs::File;
use kernel::prelude::*;
use kernel::uaccess::UserPtr;

struct Reader;

#[vtable]
impl MiscDevice for Reader {
    fn read(&self, _file: &File, _buf: UserPtr, _len: usize, _pos: &mut i64) -> Result<usize> {
        Ok(0)
    }
}
