// Take a reference on the mm from `.close`: during process exit `.close`
// runs with the mm's user count already zero, so `mmget` would bring it
// back to one and a later drop would run the teardown again on freed
// memory. `.close` gets a `VmaInfo` (range, offset, flags), not a
// `VmaRef`: there is no path to the mm.
// expect: error[E0599]
// expect: no method named `mm` found for reference `&VmaInfo`
use crate::mm::virt::{Fault, FaultError, VmFault, VmOperations, VmaInfo};

struct Grab;

impl VmOperations for Grab {
    fn fault<'f>(&'f self, _vmf: &'f VmFault) -> Result<Fault<'f>, FaultError> {
        Err(FaultError::SigBus)
    }

    fn close(&self, vma: &VmaInfo) {
        let _mm = vma.mm();
    }
}
