//! `maptest exercise FAMILY CYCLES`: run allocation cycles in the kernel
//! (`MAPDRV_IOC_EXERCISE`) and print what happened.

use crate::abi::{family, MapdrvExercise, MAPDRV_IOC_EXERCISE};
use crate::cli::Options;
use crate::{device, json};
use std::io;

/// The families by name, as `maptest exercise` accepts them.
pub const FAMILIES: [(&str, u32); 5] = [
    ("pages", family::PAGES),
    ("kmalloc", family::KMALLOC),
    ("slab", family::SLAB),
    ("mempool", family::MEMPOOL),
    ("vmalloc", family::VMALLOC),
];

/// The family number for a name.
pub fn family_by_name(name: &str) -> Option<u32> {
    FAMILIES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// Runs the ioctl.
pub fn exercise(file: &std::fs::File, family: u32, cycles: u64) -> io::Result<MapdrvExercise> {
    let mut req = MapdrvExercise {
        family,
        cycles,
        ..Default::default()
    };
    // SAFETY: `MAPDRV_IOC_EXERCISE` reads and writes one `MapdrvExercise`.
    unsafe { device::ioctl_struct(file, MAPDRV_IOC_EXERCISE, &mut req)? };
    Ok(req)
}

/// `maptest exercise`.
pub fn run(opts: &Options, name: &str, cycles: u64) -> io::Result<bool> {
    let fam =
        family_by_name(name).ok_or_else(|| io::Error::other(format!("unknown family '{name}'")))?;
    let file = device::open(&opts.device, false)?;
    let r = exercise(&file, fam, cycles)?;
    if opts.json {
        println!(
            "{{\"family\":{},\"cycles\":{},\"ok\":{},\"enomem\":{},\"other\":{},\"reserve_served\":{}}}",
            json::string(name),
            r.cycles,
            r.ok,
            r.enomem,
            r.other,
            r.reserve_served
        );
    } else {
        println!(
            "exercise {name}: {} cycles, {} ok, {} ENOMEM, {} other errors, {} elements served from a mempool reserve",
            r.cycles, r.ok, r.enomem, r.other, r.reserve_served
        );
    }
    Ok(r.other == 0 && r.ok + r.enomem == r.cycles)
}
