// Hole 1: a fault handler maps a page it found by pfn. `Pfn::page()` gives
// a `PageRef` (inspection only); `Fault::Page` takes only a `UserPage`.
// expect: error[E0308]
// expect: expected `UserPage<'_>`, found `PageRef<'_>`
use crate::mm::pfn::Pfn;
use crate::mm::virt::{Fault, FaultError, VmFault, VmOperations};

struct AnyPfn;

impl VmOperations for AnyPfn {
    fn fault<'f>(&'f self, _vmf: &'f VmFault) -> Result<Fault<'f>, FaultError> {
        let page = Pfn(0x1000).page().ok_or(FaultError::SigBus)?;
        Ok(Fault::Page(page))
    }
}
