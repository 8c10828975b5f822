//! The command line of `maptest`, declared with `clap`: one struct per
//! subcommand, so an option given to a command it does not belong to is an
//! error, and `--help` is generated from these declarations.
//!
//! The names of map modes and allocator families come from the ABI
//! ([`abi::MapMode::name`], [`abi::Family::name`]): the kernel's numbers and
//! the tool's words are one table.

use crate::abi;
use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// maptest: the userspace companion of the mapdrv kernel module.
///
/// Maps /dev/mapdrv, prints what the kernel put there, verifies the
/// device's contract, stresses, fuzzes and benchmarks it.
#[derive(Debug, Parser)]
#[command(
    name = "maptest",
    version,
    after_help = "Exit status: 0 on success (verify: every check passed), 1 on failure, 2 on a usage error."
)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub opts: Options,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes, before or after the command's name.
#[derive(Debug, Args, Clone, PartialEq, Eq)]
pub struct Options {
    /// The device node to use.
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        default_value = "/dev/mapdrv"
    )]
    pub device: String,
    /// Machine-readable output: one JSON object.
    #[arg(long, global = true)]
    pub json: bool,
    /// Switch to this user and group id (no capabilities left) first: for
    /// testing the device's privilege checks.
    #[arg(long, global = true, value_name = "UID")]
    pub uid: Option<u32>,
}

/// The commands.
#[derive(Debug, Subcommand, PartialEq, Eq)]
pub enum Command {
    /// Map the device read-only (the classic maptest) and print the string
    /// the kernel put there.
    Read,
    /// Check every behaviour of the device's contract: one PASS/FAIL line
    /// per check, then "N passed, N failed".
    Verify(Expect),
    /// The mm operations a process can apply to a mapping (madvise, fork,
    /// mremap, splits, GUP, read/write, core dumps), each checked against
    /// the kernel's page accounting; needs root, --pages and --mode.
    Mm(Expect),
    /// Who holds the buffer's pages: their map counts (/proc/kpagecount)
    /// and reference counts, unmapped, mapped, touched, mapped twice and
    /// unmapped again (needs root).
    Pages,
    /// Print the device's counters (MAPDRV_IOC_GET_STATS).
    Stats,
    /// Map the whole buffer, read every page once, and report the faults the
    /// driver served and the pages it mapped.
    Touch,
    /// Print the kernel release and whether the device is present.
    Info,
    /// Run allocation cycles in the kernel through mapdrv's wrappers and
    /// count ok / ENOMEM / other outcomes (CAP_SYS_ADMIN).
    Exercise(ExerciseArgs),
    /// Many workers at once map, fault, write, unmap, fork, pread/pwrite and
    /// open/close, checking every record they wrote.
    Stress(StressArgs),
    /// Seeded system-call fuzzer held to a model of the contract; a failure
    /// prints the seed and a shrunk call sequence, replayable with --keep.
    Fuzz(FuzzArgs),
    /// Each allocator through mapdrv's wrapper and the raw C calls,
    /// interleaved: median ns/op and wrapper/raw ratio (CAP_SYS_ADMIN).
    BenchAlloc(BenchAllocArgs),
    /// First touch of a mapping, ns per page, for mapdrv's map modes, the C
    /// reference module and anonymous memory, interleaved; loads and unloads
    /// mapdrv and mapdrv_cref itself (root).
    BenchFault(BenchFaultArgs),
    /// Write an SVG of `bench-alloc --json` and `bench-fault --json` results
    /// to stdout.
    BenchPlot(BenchPlotArgs),
    /// Read a `show_addresses=1` kernel log on stdin, measure the device's
    /// frames (pagemap) and residency (mincore), and write an SVG of it all
    /// to stdout.
    Picture,
    /// Keep the device open for a while (or, with --mapped, only a mapping
    /// of it): for testing that the module stays pinned.
    Hold(HoldArgs),
    /// Print the values of top-level fields of the JSON object on stdin,
    /// one per line (for shell scripts reading `--json` output).
    Field(FieldArgs),
}

/// `verify`: what the caller loaded the module with. The test states it,
/// and a module whose stats disagree fails; an option left out is taken
/// from the module's stats (and verify says so).
#[derive(Debug, Default, Args, PartialEq, Eq, Clone, Copy)]
pub struct Expect {
    /// The module's `buffer_pages`.
    #[arg(long, value_name = "N")]
    pub pages: Option<u32>,
    /// The module's map mode.
    #[arg(long, value_name = "MODE")]
    pub mode: Option<abi::MapMode>,
    /// The module's `fault_around_pages`.
    #[arg(long, value_name = "W")]
    pub window: Option<u32>,
}

/// `exercise`.
#[derive(Debug, Args, PartialEq, Eq)]
pub struct ExerciseArgs {
    /// The allocator family.
    pub family: abi::Family,
    /// How many cycles (1..=1000000).
    #[arg(value_parser = clap::value_parser!(u64).range(1..=abi::MAX_EXERCISE_CYCLES))]
    pub cycles: u64,
}

/// `stress`.
#[derive(Debug, Args, PartialEq, Eq)]
pub struct StressArgs {
    /// Worker processes.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub procs: u32,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// The seed of the workers' choices.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `fuzz`.
#[derive(Debug, Args, PartialEq, Eq)]
pub struct FuzzArgs {
    /// The seed of the first sequence.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Calls per generated sequence.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub calls: u64,
    /// Replay only these call indices of the sequence of --seed (as a
    /// failure prints them).
    #[arg(long, value_name = "I,J,...", value_delimiter = ',')]
    pub keep: Option<Vec<usize>>,
}

/// `bench-alloc`.
#[derive(Debug, Args, PartialEq, Eq)]
pub struct BenchAllocArgs {
    /// Interleaved rounds per case.
    #[arg(long, default_value_t = 21, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub rounds: u64,
    /// Alloc+free pairs per timed call.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=abi::MAX_BENCH_ITERATIONS))]
    pub iterations: u64,
    /// Also write the --json result to this file.
    #[arg(long, value_name = "FILE")]
    pub save: Option<String>,
}

/// `bench-fault`.
#[derive(Debug, Args, PartialEq, Eq)]
pub struct BenchFaultArgs {
    /// Interleaved rounds.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub rounds: u64,
    /// Mapping sizes in MiB (1..=256).
    #[arg(long, value_name = "MIB,...", value_delimiter = ',', default_value = "4,16,64",
          value_parser = clap::value_parser!(u64).range(1..=256))]
    pub sizes: Vec<u64>,
    /// Pages per fault in fault-around mode (1..=512), one mode per value.
    #[arg(long, value_name = "N,...", value_delimiter = ',', default_value = "16",
          value_parser = clap::value_parser!(u64).range(1..=512))]
    pub fault_around: Vec<u64>,
    /// Only these subjects (default: all).
    #[arg(long, value_name = "SUBJECT,...", value_delimiter = ',')]
    pub modes: Vec<Subject>,
    /// Also write the --json result to this file.
    #[arg(long, value_name = "FILE")]
    pub save: Option<String>,
}

/// What `bench-fault` can time: mapdrv in one of its map modes (by the
/// ABI's names; `fault-around` is every `--fault-around` value), the C
/// reference module, or anonymous memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// mapdrv loaded with this map mode.
    Mapdrv(abi::MapMode),
    /// `bench/mapdrv_cref.ko`, the classic mapdrv in C.
    CRef,
    /// `MAP_ANONYMOUS` memory, the kernel's own fastest fault.
    Anon,
}

impl Subject {
    /// Every subject, in the order the tables print them.
    pub const ALL: [Subject; 5] = [
        Subject::Mapdrv(abi::MapMode::Fault),
        Subject::CRef,
        Subject::Mapdrv(abi::MapMode::FaultAround),
        Subject::Mapdrv(abi::MapMode::Eager),
        Subject::Anon,
    ];

    /// The name on the command line and the family of names in the results.
    pub fn name(self) -> &'static str {
        match self {
            Subject::Mapdrv(m) => m.name(),
            Subject::CRef => "c-ref",
            Subject::Anon => "anon",
        }
    }
}

impl ValueEnum for Subject {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()))
    }
}

impl ValueEnum for abi::MapMode {
    fn value_variants<'a>() -> &'a [Self] {
        Self::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()))
    }
}

impl ValueEnum for abi::Family {
    fn value_variants<'a>() -> &'a [Self] {
        Self::ALL
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.name()))
    }
}

/// `bench-plot`.
#[derive(Debug, Args, PartialEq, Eq)]
pub struct BenchPlotArgs {
    /// The `bench-alloc --json` file.
    pub alloc: String,
    /// The `bench-fault --json` file.
    pub fault: String,
}

/// `hold`.
#[derive(Debug, Args, PartialEq, Eq)]
pub struct HoldArgs {
    /// Map the whole buffer, touch it, then close the fd: only the mapping
    /// holds the device.
    #[arg(long)]
    pub mapped: bool,
    /// How long to hold, in seconds.
    pub seconds: u64,
}

/// `field`.
#[derive(Debug, Args, PartialEq, Eq)]
pub struct FieldArgs {
    /// The field names.
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("maptest").chain(args.iter().copied()))
    }

    fn kind(args: &[&str]) -> ErrorKind {
        parse(args).unwrap_err().kind()
    }

    #[test]
    fn the_declaration_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_anywhere() {
        let c = parse(&["--json", "info", "--device", "/tmp/x"]).unwrap();
        assert_eq!(c.command, Command::Info);
        assert_eq!(c.opts.device, "/tmp/x");
        assert!(c.opts.json);
        let c = parse(&["read"]).unwrap();
        assert_eq!(c.opts.device, "/dev/mapdrv");
        assert!(!c.opts.json && c.opts.uid.is_none());
    }

    #[test]
    fn options_of_other_commands_are_errors() {
        assert_eq!(kind(&["read", "--procs", "4"]), ErrorKind::UnknownArgument);
        assert_eq!(kind(&["read", "--pages", "3"]), ErrorKind::UnknownArgument);
        assert_eq!(
            kind(&["stress", "--calls", "4"]),
            ErrorKind::UnknownArgument
        );
        assert_eq!(kind(&["--mapped", "hold", "5"]), ErrorKind::UnknownArgument);
        assert_eq!(kind(&["frob"]), ErrorKind::InvalidSubcommand);
        assert_eq!(
            kind(&[]),
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        );
    }

    #[test]
    fn verify_states_the_load() {
        let c = parse(&[
            "verify",
            "--pages",
            "37",
            "--mode",
            "fault-around",
            "--window",
            "16",
        ]);
        assert_eq!(
            c.unwrap().command,
            Command::Verify(Expect {
                pages: Some(37),
                mode: Some(abi::MapMode::FaultAround),
                window: Some(16),
            })
        );
        assert_eq!(
            kind(&["verify", "--mode", "around"]),
            ErrorKind::InvalidValue
        );
        assert_eq!(
            parse(&["verify"]).unwrap().command,
            Command::Verify(Expect::default())
        );
    }

    #[test]
    fn positional_arguments() {
        let c = parse(&["exercise", "slab", "10000"]).unwrap();
        assert_eq!(
            c.command,
            Command::Exercise(ExerciseArgs {
                family: abi::Family::Slab,
                cycles: 10000
            })
        );
        assert_eq!(
            kind(&["exercise", "slab"]),
            ErrorKind::MissingRequiredArgument
        );
        assert_eq!(kind(&["exercise", "heap", "1"]), ErrorKind::InvalidValue);
        assert_eq!(kind(&["exercise", "slab", "0"]), ErrorKind::ValueValidation);
        let c = parse(&["hold", "--mapped", "5"]).unwrap();
        assert_eq!(
            c.command,
            Command::Hold(HoldArgs {
                mapped: true,
                seconds: 5
            })
        );
        assert_eq!(kind(&["hold", "x"]), ErrorKind::ValueValidation);
        assert_eq!(
            kind(&["bench-plot", "a.json"]),
            ErrorKind::MissingRequiredArgument
        );
    }

    #[test]
    fn lists_and_defaults() {
        let c = parse(&["fuzz", "--calls", "50", "--keep", "1,5,7"]).unwrap();
        let Command::Fuzz(f) = c.command else {
            panic!()
        };
        assert_eq!((f.seed, f.calls, f.keep), (1, 50, Some(vec![1, 5, 7])));
        assert_eq!(kind(&["fuzz", "--keep", "1,x"]), ErrorKind::ValueValidation);
        let c = parse(&[
            "bench-fault",
            "--sizes",
            "4,64",
            "--modes",
            "fault,c-ref,anon",
        ])
        .unwrap();
        let Command::BenchFault(b) = c.command else {
            panic!()
        };
        assert_eq!(
            (b.rounds, b.sizes, b.fault_around),
            (12, vec![4, 64], vec![16])
        );
        assert_eq!(
            b.modes,
            [
                Subject::Mapdrv(abi::MapMode::Fault),
                Subject::CRef,
                Subject::Anon
            ]
        );
        assert_eq!(
            kind(&["bench-fault", "--sizes", "0"]),
            ErrorKind::ValueValidation
        );
        assert_eq!(
            kind(&["bench-fault", "--modes", "rust"]),
            ErrorKind::InvalidValue
        );
        let c = parse(&["stress"]).unwrap();
        assert_eq!(
            c.command,
            Command::Stress(StressArgs {
                procs: 8,
                seconds: 10,
                seed: 1
            })
        );
    }

    #[test]
    fn help_is_generated() {
        assert_eq!(kind(&["--help"]), ErrorKind::DisplayHelp);
        assert_eq!(kind(&["help"]), ErrorKind::DisplayHelp);
        let help = parse(&["bench-fault", "--help"]).unwrap_err().to_string();
        assert!(help.contains("--fault-around"), "{help}");
        assert!(help.contains("fault-around, eager"), "{help}");
    }
}
