//! `maptest`: maps `/dev/mapdrv`, prints what the kernel put there, verifies
//! the device's contract and reports its counters. See `maptest --help`.

#[path = "../../src/abi.rs"]
#[allow(dead_code)]
mod abi;
mod bench;
mod bench_fault;
mod bench_plot;
mod cli;
mod contents;
mod device;
mod exercise;
mod fuzz;
mod json;
mod picture;
mod rng;
mod stress;
mod verify;

use std::process::ExitCode;

fn main() -> ExitCode {
    let opts = match cli::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("maptest: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(uid) = opts.uid {
        if let Err(e) = drop_privileges(uid) {
            eprintln!("maptest: --uid {uid}: {e}");
            return ExitCode::FAILURE;
        }
    }
    let result = match &opts.command {
        cli::Command::Help => {
            print!("{}", cli::USAGE);
            Ok(true)
        }
        cli::Command::Info => device::info(&opts).map(|()| true),
        cli::Command::Read => device::read(&opts).map(|()| true),
        cli::Command::Stats => device::print_stats(&opts).map(|()| true),
        cli::Command::Touch => device::touch(&opts).map(|()| true),
        cli::Command::Verify(expect) => verify::verify(&opts, *expect),
        cli::Command::Hold { mapped, seconds } => {
            device::hold(&opts, *mapped, *seconds).map(|()| true)
        }
        cli::Command::Exercise { family, cycles } => exercise::run(&opts, family, *cycles),
        cli::Command::Picture => picture::run(&opts),
        cli::Command::BenchAlloc => bench::run(&opts, opts.rounds.unwrap_or(21), opts.iterations),
        cli::Command::BenchFault => bench_fault::run(
            &opts,
            opts.rounds.unwrap_or(12),
            &opts.sizes_mib,
            &opts.fault_around,
            &opts.modes,
        ),
        cli::Command::BenchPlot { alloc, fault } => bench_plot::run(alloc, fault),
        cli::Command::Stress => stress::run(&opts, opts.procs, opts.seconds, opts.seed),
        cli::Command::Fuzz => match &opts.keep {
            Some(keep) => fuzz::replay_kept(&opts, opts.seed, opts.calls, keep),
            None => fuzz::run(&opts, opts.seed, opts.seconds, opts.calls),
        },
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("maptest: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Becomes user and group `uid` with no supplementary groups: a non-root
/// uid has no capabilities left.
fn drop_privileges(uid: u32) -> std::io::Result<()> {
    // SAFETY: plain system calls on this process's credentials; no memory
    // is passed but the (empty) group list.
    let ok = unsafe {
        libc::setgroups(0, std::ptr::null()) == 0
            && libc::setgid(uid) == 0
            && libc::setuid(uid) == 0
    };
    if ok {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
