//! `maptest`: maps `/dev/mapdrv`, prints what the kernel put there, verifies
//! the device's contract and benchmarks it. See `maptest --help`.

mod cli;
mod device;

use std::process::ExitCode;

fn main() -> ExitCode {
    let opts = match cli::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("maptest: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match opts.command {
        cli::Command::Help => {
            print!("{}", cli::USAGE);
            Ok(())
        }
        cli::Command::Info => device::info(&opts),
        cli::Command::Read => device::read(&opts),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("maptest: {e}");
            ExitCode::FAILURE
        }
    }
}
