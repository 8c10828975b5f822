//! `maptest`: maps `/dev/mapdrv`, prints what the kernel put there, verifies
//! the device's contract and reports its counters. See `maptest --help`.

#[path = "../../src/abi.rs"]
#[allow(dead_code)] // The module's side of the ABI (ioctl limits, v1 size) is not the tool's.
mod abi;
mod bench;
mod bench_fault;
mod bench_plot;
mod cli;
mod contents;
mod device;
mod exercise;
mod fork;
mod fuzz;
mod json;
mod mm;
mod picture;
mod rng;
mod stress;
mod verify;

use clap::Parser;
use cli::Command;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Usage errors exit with status 2, `--help` and `--version` with 0.
    let cli = cli::Cli::parse();
    let opts = &cli.opts;
    if let Some(uid) = opts.uid {
        if let Err(e) = drop_privileges(uid) {
            eprintln!("maptest: --uid {uid}: {e}");
            return ExitCode::FAILURE;
        }
    }
    match run(opts, &cli.command) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            // The error and its context, outermost first ("opening /dev/mapdrv: No such file").
            eprintln!("maptest: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one command: `Ok(false)` when it ran and found a failure.
fn run(opts: &cli::Options, command: &Command) -> anyhow::Result<bool> {
    let done = |()| true;
    match command {
        Command::Info => device::info(opts).map(done),
        Command::Read => device::read(opts).map(done),
        Command::Stats => device::print_stats(opts).map(done),
        Command::Touch => device::touch(opts).map(done),
        Command::Verify(expect) => verify::verify(opts, *expect),
        Command::Mm(expect) => mm::run(opts, *expect),
        Command::Pages => mm::pages(opts).map(done),
        Command::Hold(h) => device::hold(opts, h.mapped, h.seconds).map(done),
        Command::Exercise(e) => exercise::run(opts, e.family, e.cycles),
        Command::Picture => picture::run(opts),
        Command::BenchAlloc(b) => bench::run(opts, b),
        Command::BenchFault(b) => bench_fault::run(opts, b),
        Command::BenchPlot(p) => bench_plot::run(&p.alloc, &p.fault),
        Command::Stress(s) => stress::run(opts, s.procs, s.seconds, s.seed),
        Command::Fuzz(f) => match &f.keep {
            Some(keep) => fuzz::replay_kept(opts, f.seed, f.calls as usize, keep),
            None => fuzz::run(opts, f.seed, f.seconds, f.calls as usize),
        },
        Command::Field(f) => json::print_fields(&f.names),
    }
}

/// Becomes user and group `uid` with no supplementary groups: a non-root
/// uid has no capabilities left.
fn drop_privileges(uid: u32) -> anyhow::Result<()> {
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
        Err(std::io::Error::last_os_error().into())
    }
}
