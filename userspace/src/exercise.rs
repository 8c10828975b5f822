//! `maptest exercise FAMILY CYCLES`: run allocation cycles in the kernel
//! (`MAPDRV_IOC_EXERCISE`) and print what happened.

use crate::abi::{Family, MapdrvExercise, MAPDRV_IOC_EXERCISE};
use crate::cli::Options;
use crate::{device, json};
use anyhow::Context;
use serde::Serialize;

/// Runs the ioctl.
pub fn exercise(
    file: &std::fs::File,
    family: Family,
    cycles: u64,
) -> anyhow::Result<MapdrvExercise> {
    let mut req = MapdrvExercise {
        family: family as u32,
        cycles,
        ..Default::default()
    };
    // SAFETY: `MAPDRV_IOC_EXERCISE` reads and writes one `MapdrvExercise`.
    unsafe { device::ioctl_struct(file, MAPDRV_IOC_EXERCISE, &mut req) }
        .context("MAPDRV_IOC_EXERCISE")?;
    Ok(req)
}

/// The `--json` record of `maptest exercise`.
#[derive(Serialize)]
struct Outcome {
    family: &'static str,
    cycles: u64,
    ok: u64,
    enomem: u64,
    other: u64,
    reserve_served: u64,
}

/// `maptest exercise`.
pub fn run(opts: &Options, family: Family, cycles: u64) -> anyhow::Result<bool> {
    let file = device::open(&opts.device, false)?;
    let r = exercise(&file, family, cycles)?;
    if opts.json {
        json::print(&Outcome {
            family: family.name(),
            cycles: r.cycles,
            ok: r.ok,
            enomem: r.enomem,
            other: r.other,
            reserve_served: r.reserve_served,
        })?;
    } else {
        println!(
            "exercise {}: {} cycles, {} ok, {} ENOMEM, {} other errors, {} elements served from a mempool reserve",
            family.name(), r.cycles, r.ok, r.enomem, r.other, r.reserve_served
        );
    }
    Ok(r.other == 0 && r.ok + r.enomem == r.cycles)
}
