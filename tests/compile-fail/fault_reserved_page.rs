// Hole 1: a fault handler maps a reserved page, whose `Drop`
// (`free_reserved_page()`) would reset its count under the mapping.
// expect: error[E0308]
// expect: expected `UserPage<'_>`, found `PageRef<'_>`
use crate::mm::page::ReservedPage;
use crate::mm::virt::{Fault, FaultError, VmFault, VmOperations};

struct Reserved {
    page: ReservedPage,
}

impl VmOperations for Reserved {
    fn fault<'f>(&'f self, _vmf: &'f VmFault) -> Result<Fault<'f>, FaultError> {
        Ok(Fault::Page(self.page.page()))
    }
}
