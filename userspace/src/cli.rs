//! Command-line parsing for `maptest`, kept free of I/O so it is unit-tested
//! on the host.

use std::fmt;

/// What the user asked `maptest` to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// Print usage.
    Help,
    /// Print what the running kernel and `/dev/mapdrv` look like.
    Info,
    /// The classic: map the device and print the string the kernel put there.
    Read,
    /// Check every behaviour of the device's contract.
    Verify,
    /// Print the device's counters.
    Stats,
    /// Keep the device open (and optionally mapped) for a while: for
    /// testing that the module stays pinned.
    Hold {
        /// Map the whole buffer, touch it, then close the fd (the mapping stays).
        mapped: bool,
        /// How long to hold, in seconds.
        seconds: u64,
    },
}

/// Options shared by every subcommand.
#[derive(Debug, PartialEq, Eq)]
pub struct Options {
    /// The subcommand.
    pub command: Command,
    /// The device node to use.
    pub device: String,
    /// Machine-readable output.
    pub json: bool,
}

/// A command line `maptest` cannot run.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (try `maptest --help`)", self.0)
    }
}

/// The usage text printed by `--help`.
pub const USAGE: &str = "\
maptest - userspace companion of the mapdrv kernel module

Usage: maptest [--device PATH] [--json] COMMAND

Commands:
  read                 map /dev/mapdrv read-only (the classic maptest) and print
                       the string the kernel put there
  verify               check every behaviour of the device's contract; one
                       PASS/FAIL line per check, then \"N passed, N failed\"
  stats                print the device's counters (MAPDRV_IOC_GET_STATS)
  info                 print the kernel release and whether the device is present
  hold [--mapped] SECS keep the device open for SECS seconds; with --mapped, map
                       and touch the buffer, close the fd and keep only the mapping
  help                 print this text

Options:
  --device PATH   device node to use (default /dev/mapdrv)
  --json          machine-readable output (read, verify, stats, info)
  -h, --help      print this text

Exit status: 0 on success (verify: every check passed), 1 on failure, 2 on a
usage error.
";

/// Parses the arguments after the program name.
pub fn parse<I, S>(args: I) -> Result<Options, UsageError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut command = None;
    let mut device = String::from("/dev/mapdrv");
    let mut json = false;
    let mut mapped = false;
    let mut it = args.into_iter();
    let set = |command: &mut Option<Command>, c: Command, arg: &str| {
        if command.is_some() {
            return Err(UsageError(format!("more than one command given ('{arg}')")));
        }
        *command = Some(c);
        Ok(())
    };
    while let Some(arg) = it.next() {
        let arg = arg.as_ref();
        match arg {
            "-h" | "--help" | "help" => {
                command = Some(Command::Help);
                break;
            }
            "--json" => json = true,
            "--mapped" => mapped = true,
            "--device" => {
                device = it
                    .next()
                    .map(|s| s.as_ref().to_owned())
                    .ok_or_else(|| UsageError("--device needs a path".into()))?;
            }
            "read" => set(&mut command, Command::Read, arg)?,
            "info" => set(&mut command, Command::Info, arg)?,
            "verify" => set(&mut command, Command::Verify, arg)?,
            "stats" => set(&mut command, Command::Stats, arg)?,
            "hold" => {
                let secs = it
                    .next()
                    .ok_or_else(|| UsageError("hold needs a number of seconds".into()))?;
                let seconds = secs.as_ref().parse().map_err(|_| {
                    UsageError(format!(
                        "hold: '{}' is not a number of seconds",
                        secs.as_ref()
                    ))
                })?;
                set(
                    &mut command,
                    Command::Hold {
                        mapped: false,
                        seconds,
                    },
                    arg,
                )?;
            }
            other => return Err(UsageError(format!("unknown argument '{other}'"))),
        }
    }
    let mut command = command.ok_or_else(|| UsageError("no command given".into()))?;
    if let Command::Hold { mapped: m, .. } = &mut command {
        *m = mapped;
    } else if mapped {
        return Err(UsageError("--mapped only applies to hold".into()));
    }
    Ok(Options {
        command,
        device,
        json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_with_defaults() {
        let o = parse(["read"]).unwrap();
        assert_eq!(o.command, Command::Read);
        assert_eq!(o.device, "/dev/mapdrv");
        assert!(!o.json);
    }

    #[test]
    fn options_anywhere() {
        let o = parse(["--json", "info", "--device", "/tmp/x"]).unwrap();
        assert_eq!(o.command, Command::Info);
        assert_eq!(o.device, "/tmp/x");
        assert!(o.json);
    }

    #[test]
    fn verify_and_stats() {
        assert_eq!(
            parse(["verify", "--json"]).unwrap().command,
            Command::Verify
        );
        assert_eq!(parse(["stats"]).unwrap().command, Command::Stats);
    }

    #[test]
    fn hold_takes_seconds_and_mapped() {
        assert_eq!(
            parse(["hold", "30"]).unwrap().command,
            Command::Hold {
                mapped: false,
                seconds: 30
            }
        );
        assert_eq!(
            parse(["--mapped", "hold", "5"]).unwrap().command,
            Command::Hold {
                mapped: true,
                seconds: 5
            }
        );
        assert!(parse(["hold"]).unwrap_err().0.contains("seconds"));
        assert!(parse(["hold", "x"]).unwrap_err().0.contains("not a number"));
        assert!(parse(["--mapped", "read"])
            .unwrap_err()
            .0
            .contains("only applies"));
    }

    #[test]
    fn help_wins() {
        assert_eq!(parse(["--help"]).unwrap().command, Command::Help);
        assert_eq!(parse(["-h", "bogus"]).unwrap().command, Command::Help);
    }

    #[test]
    fn errors_are_precise() {
        assert_eq!(
            parse::<[&str; 0], &str>([]).unwrap_err().0,
            "no command given"
        );
        assert_eq!(parse(["--device"]).unwrap_err().0, "--device needs a path");
        assert_eq!(parse(["frob"]).unwrap_err().0, "unknown argument 'frob'");
        assert!(parse(["read", "info"])
            .unwrap_err()
            .0
            .contains("more than one"));
    }
}
