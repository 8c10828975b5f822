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
    Verify(Expect),
    /// Print the device's counters.
    Stats,
    /// Map the whole buffer, touch every page, report faults and pages mapped.
    Touch,
    /// Run allocation cycles in the kernel (`MAPDRV_IOC_EXERCISE`).
    Exercise {
        /// Family name (pages, kmalloc, slab, mempool, vmalloc).
        family: String,
        /// Number of cycles.
        cycles: u64,
    },
    /// Many processes hammering the device at once.
    Stress,
    /// Seeded syscall fuzzing.
    Fuzz,
    /// Wrapper-versus-raw allocator microbenchmarks.
    BenchAlloc,
    /// First-touch cost of a mapping in every map mode, the C reference and
    /// anonymous memory.
    BenchFault,
    /// An SVG of `bench-alloc --json` and `bench-fault --json` results.
    BenchPlot {
        /// The `bench-alloc --json` file.
        alloc: String,
        /// The `bench-fault --json` file.
        fault: String,
    },
    /// An SVG of the allocation report and the mapping, on stdout.
    Picture,
    /// Keep the device open (and optionally mapped) for a while: for
    /// testing that the module stays pinned.
    Hold {
        /// Map the whole buffer, touch it, then close the fd (the mapping stays).
        mapped: bool,
        /// How long to hold, in seconds.
        seconds: u64,
    },
}

/// What the caller loaded the module with, for `verify`: the test states
/// it, and a module whose stats disagree fails. `None`: take it from the
/// module's stats (and say so).
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
pub struct Expect {
    /// `--pages N`: `buffer_pages`.
    pub pages: Option<u32>,
    /// `--mode NAME`: the map mode, as a number of `abi::map_mode`.
    pub mode: Option<u32>,
    /// `--window W`: `fault_around_pages`.
    pub window: Option<u32>,
}

/// Options shared by every subcommand.
#[derive(Debug, PartialEq, Eq)]
pub struct Options {
    /// The subcommand.
    pub command: Command,
    /// Switch to this user and group id (dropping every capability) before
    /// running the command: for testing the device's privilege checks.
    pub uid: Option<u32>,
    /// The device node to use.
    pub device: String,
    /// Machine-readable output.
    pub json: bool,
    /// `--procs` (stress): worker processes.
    pub procs: u32,
    /// `--seconds` (stress, fuzz): how long to run.
    pub seconds: u64,
    /// `--seed` (stress, fuzz).
    pub seed: u64,
    /// `--calls` (fuzz): calls per generated sequence.
    pub calls: usize,
    /// `--keep` (fuzz): replay only these call indices of the sequence.
    pub keep: Option<Vec<usize>>,
    /// `--rounds` (bench-alloc, bench-fault): interleaved rounds; `None`
    /// for the command's default.
    pub rounds: Option<usize>,
    /// `--sizes` (bench-fault): mapping sizes in MiB.
    pub sizes_mib: Vec<usize>,
    /// `--fault-around` (bench-fault): pages per fault in fault-around
    /// mode, one mode per value.
    pub fault_around: Vec<usize>,
    /// `--modes` (bench-fault): only these modes (all if empty).
    pub modes: Vec<String>,
    /// `--save FILE` (bench-alloc, bench-fault): also write the JSON there.
    pub save: Option<String>,
    /// `--iterations` (bench-alloc): alloc+free pairs per timed call.
    pub iterations: u64,
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
                       PASS/FAIL line per check, then \"N passed, N failed\";
                       --pages N --mode fault|fault-around|eager --window W
                       state what the module was loaded with (a module whose
                       stats disagree fails; default: trust its stats)
  stats                print the device's counters (MAPDRV_IOC_GET_STATS)
  touch                map the whole buffer, read every page once, and report
                       the faults the driver served and the pages it mapped
  info                 print the kernel release and whether the device is present
  exercise FAMILY N    run N allocation cycles in the kernel through mapdrv's
                       wrappers (FAMILY: pages, kmalloc, slab, mempool, vmalloc)
                       and count ok / ENOMEM / other outcomes
  stress               --procs P workers at once map, fault, write, unmap, fork,
                       pread/pwrite and open/close for --seconds T, checking
                       every record they wrote (lost or torn data is an error)
  fuzz                 seeded syscall fuzzer: --seed S --seconds T [--calls N];
                       a failure prints the seed and a shrunk call sequence,
                       replayable with --seed S --calls N --keep I,J,...
  bench-alloc          each allocator through mapdrv's wrapper and the raw C
                       calls, interleaved: median ns/op and wrapper/raw ratio
                       (--rounds R, default 21; --iterations N, default 2000)
  bench-fault          first touch of a mapping, ns per page, for mapdrv's map
                       modes, the C reference module and anonymous memory,
                       interleaved (--rounds R, default 12; --sizes MIB,...,
                       default 4,16,64; --fault-around N,..., default 16, one
                       mode per value; --modes rust,c-ref,around,eager,anon);
                       loads and unloads mapdrv and mapdrv_cref itself (root)
  bench-plot A.json F.json
                       write an SVG of bench-alloc and bench-fault --json
                       results to stdout
  picture              read a `show_addresses=1` kernel log on stdin, measure the
                       device's frames (pagemap) and residency (mincore), and
                       write an SVG picture of it all to stdout
  hold [--mapped] SECS keep the device open for SECS seconds; with --mapped, map
                       and touch the buffer, close the fd and keep only the mapping
  help                 print this text

Options:
  --device PATH   device node to use (default /dev/mapdrv)
  --json          machine-readable output
  --uid UID       switch to this user and group id (no capabilities) first:
                  tests of the device's privilege checks
  --procs P       stress workers (default 8)
  --seconds T     stress/fuzz duration (default 10)
  --seed S        stress/fuzz seed (default 1)
  --calls N       fuzz calls per sequence (default 200)
  --keep LIST     fuzz: replay only these call indices (comma-separated)
  --save FILE     bench-alloc, bench-fault: also write the --json result to FILE
  -h, --help      print this text
An option of one command given to another is a usage error.

Exit status: 0 on success (verify: every check passed), 1 on failure, 2 on a
usage error.
";

/// The options that belong to particular commands, and those commands
/// (by [`Command::name`]); `--device`, `--json` and `--uid` apply to all.
const COMMAND_OPTIONS: &[(&str, &[&str])] = &[
    ("--mapped", &["hold"]),
    ("--procs", &["stress"]),
    ("--seconds", &["stress", "fuzz"]),
    ("--seed", &["stress", "fuzz"]),
    ("--calls", &["fuzz"]),
    ("--keep", &["fuzz"]),
    ("--rounds", &["bench-alloc", "bench-fault"]),
    ("--iterations", &["bench-alloc"]),
    ("--save", &["bench-alloc", "bench-fault"]),
    ("--sizes", &["bench-fault"]),
    ("--fault-around", &["bench-fault"]),
    ("--modes", &["bench-fault"]),
    ("--pages", &["verify"]),
    ("--mode", &["verify"]),
    ("--window", &["verify"]),
];

impl Command {
    /// The command's name on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Help => "help",
            Command::Info => "info",
            Command::Read => "read",
            Command::Verify(_) => "verify",
            Command::Stats => "stats",
            Command::Touch => "touch",
            Command::Exercise { .. } => "exercise",
            Command::Stress => "stress",
            Command::Fuzz => "fuzz",
            Command::BenchAlloc => "bench-alloc",
            Command::BenchFault => "bench-fault",
            Command::BenchPlot { .. } => "bench-plot",
            Command::Picture => "picture",
            Command::Hold { .. } => "hold",
        }
    }
}

/// Parses the arguments after the program name.
pub fn parse<I, S>(args: I) -> Result<Options, UsageError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut command = None;
    let mut device = String::from("/dev/mapdrv");
    let mut json = false;
    let mut uid = None;
    let mut mapped = false;
    let mut procs = 8u32;
    let mut seconds = 10u64;
    let mut seed = 1u64;
    let mut calls = 200usize;
    let mut keep = None;
    let mut rounds = None;
    let mut sizes_mib = vec![4, 16, 64];
    let mut fault_around = vec![16usize];
    let mut modes = Vec::new();
    let mut save = None;
    let mut iterations = 2000u64;
    let mut expect = Expect::default();
    let mut it = args.into_iter();
    fn number<T: std::str::FromStr>(
        opt: &str,
        v: Option<impl AsRef<str>>,
    ) -> Result<T, UsageError> {
        let v = v.ok_or_else(|| UsageError(format!("{opt} needs a value")))?;
        v.as_ref()
            .parse()
            .map_err(|_| UsageError(format!("{opt}: '{}' is not a valid number", v.as_ref())))
    }
    /// A comma-separated list of numbers in `range` for option `opt`;
    /// `what` names them in the error.
    fn numbers(
        opt: &str,
        v: Option<impl AsRef<str>>,
        range: std::ops::RangeInclusive<usize>,
        what: &str,
    ) -> Result<Vec<usize>, UsageError> {
        let v = v.ok_or_else(|| UsageError(format!("{opt} needs a list")))?;
        v.as_ref()
            .split(',')
            .map(str::parse)
            .collect::<Result<Vec<usize>, _>>()
            .ok()
            .filter(|l| !l.is_empty() && l.iter().all(|n| range.contains(n)))
            .ok_or_else(|| UsageError(format!("{opt}: '{}' is not a list of {what}", v.as_ref())))
    }
    let set = |command: &mut Option<Command>, c: Command, arg: &str| {
        if command.is_some() {
            return Err(UsageError(format!("more than one command given ('{arg}')")));
        }
        *command = Some(c);
        Ok(())
    };
    // The options that belong to one command (or a few), as given.
    let mut given: Vec<&'static str> = Vec::new();
    while let Some(arg) = it.next() {
        let arg = arg.as_ref();
        if let Some((opt, _)) = COMMAND_OPTIONS.iter().find(|(o, _)| *o == arg) {
            given.push(opt);
        }
        match arg {
            "-h" | "--help" | "help" => {
                command = Some(Command::Help);
                break;
            }
            "--json" => json = true,
            "--uid" => uid = Some(number("--uid", it.next())?),
            "--mapped" => mapped = true,
            "--procs" => procs = number("--procs", it.next())?,
            "--seconds" => seconds = number("--seconds", it.next())?,
            "--seed" => seed = number("--seed", it.next())?,
            "--calls" => calls = number("--calls", it.next())?,
            "--keep" => keep = Some(numbers("--keep", it.next(), 0..=usize::MAX, "numbers")?),
            "stress" => set(&mut command, Command::Stress, arg)?,
            "fuzz" => set(&mut command, Command::Fuzz, arg)?,
            "bench-alloc" => set(&mut command, Command::BenchAlloc, arg)?,
            "picture" => set(&mut command, Command::Picture, arg)?,
            "--rounds" => rounds = Some(number("--rounds", it.next())?),
            "--fault-around" => {
                fault_around = numbers(
                    "--fault-around",
                    it.next(),
                    1..=512,
                    "page counts (1..=512)",
                )?
            }
            "--save" => {
                save = Some(
                    it.next()
                        .map(|s| s.as_ref().to_owned())
                        .ok_or_else(|| UsageError("--save needs a file".into()))?,
                );
            }
            "--modes" => {
                let v = it
                    .next()
                    .ok_or_else(|| UsageError("--modes needs a list".into()))?;
                modes = v.as_ref().split(',').map(str::to_owned).collect();
                const KNOWN: [&str; 5] = ["rust", "c-ref", "around", "eager", "anon"];
                if let Some(bad) = modes.iter().find(|m| !KNOWN.contains(&m.as_str())) {
                    return Err(UsageError(format!(
                        "--modes: unknown mode '{bad}' ({})",
                        KNOWN.join(", ")
                    )));
                }
            }
            "--sizes" => {
                sizes_mib = numbers("--sizes", it.next(), 1..=256, "sizes in MiB (1..=256)")?
            }
            "bench-fault" => set(&mut command, Command::BenchFault, arg)?,
            "bench-plot" => {
                let mut file = || {
                    it.next()
                        .map(|s| s.as_ref().to_owned())
                        .ok_or_else(|| UsageError("bench-plot needs two JSON files".into()))
                };
                let (alloc, fault) = (file()?, file()?);
                set(&mut command, Command::BenchPlot { alloc, fault }, arg)?;
            }
            "--pages" => expect.pages = Some(number("--pages", it.next())?),
            "--window" => expect.window = Some(number("--window", it.next())?),
            "--mode" => {
                let v = it
                    .next()
                    .ok_or_else(|| UsageError("--mode needs a map mode".into()))?;
                let names = crate::abi::map_mode::NAMES;
                let m = names.iter().position(|n| *n == v.as_ref()).ok_or_else(|| {
                    UsageError(format!(
                        "--mode: unknown map mode '{}' ({})",
                        v.as_ref(),
                        names.join(", ")
                    ))
                })?;
                expect.mode = Some(m as u32);
            }
            "--iterations" => iterations = number("--iterations", it.next())?,
            "exercise" => {
                let family = it
                    .next()
                    .ok_or_else(|| UsageError("exercise needs a family and a cycle count".into()))?
                    .as_ref()
                    .to_owned();
                let cycles = number("exercise", it.next())?;
                set(&mut command, Command::Exercise { family, cycles }, arg)?;
            }
            "--device" => {
                device = it
                    .next()
                    .map(|s| s.as_ref().to_owned())
                    .ok_or_else(|| UsageError("--device needs a path".into()))?;
            }
            "read" => set(&mut command, Command::Read, arg)?,
            "info" => set(&mut command, Command::Info, arg)?,
            "verify" => set(&mut command, Command::Verify(Expect::default()), arg)?,
            "stats" => set(&mut command, Command::Stats, arg)?,
            "touch" => set(&mut command, Command::Touch, arg)?,
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
    // An option of another command is an error, not silently ignored.
    let name = command.name();
    for opt in given {
        let (_, commands) = COMMAND_OPTIONS.iter().find(|(o, _)| *o == opt).unwrap();
        if !commands.contains(&name) {
            return Err(UsageError(format!(
                "{opt} only applies to {}",
                commands.join(", ")
            )));
        }
    }
    if let Command::Hold { mapped: m, .. } = &mut command {
        *m = mapped;
    }
    if let Command::Verify(e) = &mut command {
        *e = expect;
    }
    Ok(Options {
        command,
        uid,
        device,
        json,
        procs,
        seconds,
        seed,
        calls,
        keep,
        rounds,
        sizes_mib,
        fault_around,
        modes,
        save,
        iterations,
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
            Command::Verify(Expect::default())
        );
        assert_eq!(
            parse([
                "verify",
                "--pages",
                "37",
                "--mode",
                "fault-around",
                "--window",
                "16"
            ])
            .unwrap()
            .command,
            Command::Verify(Expect {
                pages: Some(37),
                mode: Some(crate::abi::map_mode::FAULT_AROUND),
                window: Some(16)
            })
        );
        assert!(parse(["verify", "--mode", "around"])
            .unwrap_err()
            .0
            .contains("unknown map mode"));
        assert_eq!(
            parse(["read", "--pages", "3"]).unwrap_err().0,
            "--pages only applies to verify"
        );
        assert_eq!(
            parse(["read", "--procs", "4"]).unwrap_err().0,
            "--procs only applies to stress"
        );
        assert_eq!(
            parse(["stress", "--calls", "4"]).unwrap_err().0,
            "--calls only applies to fuzz"
        );
        assert!(parse(["fuzz", "--seconds", "3", "--seed", "2", "--calls", "9"]).is_ok());
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
    fn stress_fuzz_exercise_options() {
        let o = parse(["stress", "--procs", "4", "--seconds", "3", "--seed", "9"]).unwrap();
        assert_eq!(
            (o.command, o.procs, o.seconds, o.seed),
            (Command::Stress, 4, 3, 9)
        );
        let o = parse(["fuzz", "--calls", "50", "--keep", "1,5,7"]).unwrap();
        assert_eq!((o.calls, o.keep), (50, Some(vec![1, 5, 7])));
        let o = parse(["exercise", "slab", "10000"]).unwrap();
        assert_eq!(
            o.command,
            Command::Exercise {
                family: "slab".into(),
                cycles: 10000
            }
        );
        assert!(parse(["exercise", "slab"])
            .unwrap_err()
            .0
            .contains("needs a value"));
        assert!(parse(["fuzz", "--keep", "1,x"])
            .unwrap_err()
            .0
            .contains("not a list"));
        assert!(parse(["stress", "--procs", "-1"])
            .unwrap_err()
            .0
            .contains("not a valid number"));
    }

    #[test]
    fn bench_options() {
        let o = parse(["bench-fault", "--sizes", "4,64", "--rounds", "3"]).unwrap();
        assert_eq!(
            (o.command, o.sizes_mib, o.rounds, o.fault_around),
            (Command::BenchFault, vec![4, 64], Some(3), vec![16])
        );
        assert!(parse(["bench-fault", "--sizes", "0"])
            .unwrap_err()
            .0
            .contains("MiB"));
        assert_eq!(
            parse(["bench-plot", "a.json", "f.json"]).unwrap().command,
            Command::BenchPlot {
                alloc: "a.json".into(),
                fault: "f.json".into()
            }
        );
        assert!(parse(["bench-plot", "a.json"])
            .unwrap_err()
            .0
            .contains("two JSON"));
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
