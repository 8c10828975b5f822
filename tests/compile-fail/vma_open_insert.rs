// Insert a page from `.open`: the new VMA is a copy being set up (fork,
// split, mremap), and an entry inserted there behind the core's back is a
// stray page-table entry (an mremap `WARN`, "BUG: Bad rss-counter"). `.open`
// gets a `VmaInfo`, which has no way to insert pages.
// expect: error[E0599]
// expect: no method named `as_mixedmap_vma` found for reference `&VmaInfo`
use crate::mm::virt::{Fault, FaultError, VmFault, VmOperations, VmaInfo};

struct Insert;

impl VmOperations for Insert {
    fn fault<'f>(&'f self, _vmf: &'f VmFault) -> Result<Fault<'f>, FaultError> {
        Err(FaultError::SigBus)
    }

    fn open(&self, vma: &VmaInfo) {
        let _mixed = vma.as_mixedmap_vma();
    }
}
