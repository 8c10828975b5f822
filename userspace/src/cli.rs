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
  read     map /dev/mapdrv read-only and print the string the kernel put there
  info     print the kernel release and whether /dev/mapdrv is present
  help     print this text

Options:
  --device PATH   device node to use (default /dev/mapdrv)
  --json          machine-readable output
  -h, --help      print this text
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
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let arg = arg.as_ref();
        match arg {
            "-h" | "--help" | "help" => command = Some(Command::Help),
            "--json" => json = true,
            "--device" => {
                device = it
                    .next()
                    .map(|s| s.as_ref().to_owned())
                    .ok_or_else(|| UsageError("--device needs a path".into()))?;
            }
            "read" | "info" if command.is_some() => {
                return Err(UsageError(format!("more than one command given ('{arg}')")));
            }
            "read" => command = Some(Command::Read),
            "info" => command = Some(Command::Info),
            other => return Err(UsageError(format!("unknown argument '{other}'"))),
        }
    }
    let command = command.ok_or_else(|| UsageError("no command given".into()))?;
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
    fn help_wins() {
        assert_eq!(parse(["--help"]).unwrap().command, Command::Help);
        assert_eq!(parse(["-h"]).unwrap().command, Command::Help);
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
