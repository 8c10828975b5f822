//! `fork()` for a process that runs under QEMU's TCG: both processes make
//! their own private memory writable again before running any more code.
//!
//! `fork()` write-protects every private page of both processes (copy on
//! write), so the next store to each page takes a write fault. QEMU's TCG
//! x86 translator (7.2 and 10.0, the versions Debian 12 and 13 ship)
//! computes `SETcc m8` in two steps: it folds the lazily kept flags into
//! EFLAGS, then stores the byte. When the store faults, the instruction is
//! restarted with the lazy flag state of its start but with the flag
//! operands already overwritten, so the restarted `SETcc` reads wrong
//! flags. rustc stores a spilled `bool` that way (`seto 0xd0(%rsp)` after
//! `neg`, in `Checks::table` with `Checks::check` inlined): when that stack
//! slot was the first store to its page after a fork, `maptest verify`
//! recorded a passed check as failed (`docs/qemu-setcc-fork.md`;
//! `tests/repro/qemu-setcc-fault.c` shows the emulator's bug on its own,
//! `tests/repro/verify-stack-offsets.sh` the check failing at one stack
//! offset of 256).
//!
//! So right after `fork()`, before returning, each process asks the kernel
//! to make its main stack, its `brk` heap, the executable's data and the
//! main thread's TLS block writable (`MADV_POPULATE_WRITE`, which breaks
//! copy on write from inside the kernel): the code that follows takes no
//! write fault on them. Large anonymous allocations and every mapping of
//! `/dev/mapdrv` are left alone (the device mappings are shared, and their
//! residency is what the tests look at).

use std::io;
use std::sync::OnceLock;

/// `MADV_POPULATE_WRITE` (Linux 5.14), not in every `libc` crate version.
const MADV_POPULATE_WRITE: libc::c_int = 23;

/// How far below the stack pointer the stack is made writable too: the
/// frames the code after `fork()` calls.
const STACK_BELOW: usize = 64 * 1024;

/// At most this many ranges of data (and TLS) are kept.
const MAX_DATA: usize = 4;

/// The process's own memory that compiled code stores to without asking,
/// found once in `/proc/self/maps` before the first fork.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Own {
    /// The main stack's mapping when parsed (it grows down; its top stays).
    stack: (usize, usize),
    /// Where the `brk` heap starts (its end is `sbrk(0)` at the fork).
    heap_start: Option<usize>,
    /// The executable's writable data, the bss right after it, and the
    /// mapping that holds the main thread's TLS block.
    data: [(usize, usize); MAX_DATA],
    ndata: usize,
}

/// Which process `fork` returned in.
pub enum Forked {
    Child,
    Parent(libc::pid_t),
}

/// `fork()`, after which both processes have made their own memory
/// writable (see the module doc).
///
/// # Safety
///
/// The calling process has one thread, or the child calls nothing but
/// async-signal-safe functions until it `_exit`s (POSIX: the child of a
/// multi-threaded process may find any lock held by a thread it does not
/// have). In the child this function itself calls only `madvise`,
/// `sbrk(0)` and `sysconf`, which take no lock.
pub unsafe fn fork() -> io::Result<Forked> {
    let own = own()?;
    // SAFETY: the caller's contract above is `fork()`'s own.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    let rearmed = rearm(own);
    if pid == 0 {
        if rearmed.is_err() {
            // SAFETY: leave the child at once; the parent sees status 125.
            unsafe { libc::_exit(125) };
        }
        return Ok(Forked::Child);
    }
    if let Err(e) = rearmed {
        let mut status = 0;
        // SAFETY: ends and reaps the child just forked.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, &mut status, 0);
        }
        return Err(io::Error::new(
            e.kind(),
            format!("MADV_POPULATE_WRITE after fork: {e}"),
        ));
    }
    Ok(Forked::Parent(pid))
}

fn own() -> io::Result<Own> {
    static OWN: OnceLock<Own> = OnceLock::new();
    if let Some(o) = OWN.get() {
        // Within `STACK_BELOW` of the parsed stack's bottom, the stack may
        // have grown below it: the ranges are read again (not kept: a
        // caller that deep is rare).
        let here = 0u8;
        let sp = std::ptr::addr_of!(here) as usize;
        if (o.stack.0..o.stack.0 + STACK_BELOW).contains(&sp) {
            return parse_own();
        }
        return Ok(*o);
    }
    let own = parse_own()?;
    Ok(*OWN.get_or_init(|| own))
}

fn parse_own() -> io::Result<Own> {
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let exe = std::fs::read_link("/proc/self/exe")?;
    parse_maps(&maps, &exe.to_string_lossy(), tls_address())
        .ok_or_else(|| io::Error::other("/proc/self/maps has no [stack]"))
}

/// An address in the calling thread's static TLS block: for the main
/// thread of a static executable, an anonymous mapping of its own.
fn tls_address() -> usize {
    thread_local!(static HERE: u8 = const { 0 });
    HERE.with(|h| std::ptr::addr_of!(*h) as usize)
}

/// The ranges of [`Own`] in `/proc/self/maps` text; `exe` is the path of
/// the running executable, `tls` an address in the main thread's TLS.
fn parse_maps(maps: &str, exe: &str, tls: usize) -> Option<Own> {
    let mut own = Own::default();
    let mut stack = None;
    // The end of the executable's last writable mapping: the bss follows.
    let mut data_end = None;
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let (Some(range), Some(perms)) = (f.next(), f.next()) else {
            continue;
        };
        let path = f.nth(3).unwrap_or("");
        let Some((lo, hi)) = range.split_once('-') else {
            continue;
        };
        let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
        else {
            continue;
        };
        if perms != "rw-p" {
            continue;
        }
        let is_data =
            path == exe || (path.is_empty() && (data_end == Some(lo) || (lo..hi).contains(&tls)));
        match path {
            "[stack]" => stack = Some((lo, hi)),
            "[heap]" => own.heap_start = Some(lo),
            _ if is_data && own.ndata < MAX_DATA => {
                own.data[own.ndata] = (lo, hi);
                own.ndata += 1;
                data_end = Some(hi);
            }
            _ => {}
        }
    }
    own.stack = stack?;
    Some(own)
}

/// Makes the ranges of `own` writable now. Allocates nothing.
fn rearm(own: Own) -> io::Result<()> {
    let ps = crate::device::page_size();
    let here = 0u8;
    let sp = std::ptr::addr_of!(here) as usize & !(ps - 1);
    let (stack_lo, stack_hi) = own.stack;
    populate(sp.saturating_sub(STACK_BELOW).max(stack_lo), stack_hi)?;
    if let Some(start) = own.heap_start {
        // SAFETY: sbrk(0) only reads the current break.
        let end = unsafe { libc::sbrk(0) } as usize;
        populate(start, end)?;
    }
    for &(lo, hi) in &own.data[..own.ndata] {
        populate(lo, hi)?;
    }
    Ok(())
}

fn populate(lo: usize, hi: usize) -> io::Result<()> {
    if hi <= lo {
        return Ok(());
    }
    // SAFETY: MADV_POPULATE_WRITE only faults in pages of the calling
    // process's own mappings, as a store would; it changes no contents.
    if unsafe { libc::madvise(lo as *mut libc::c_void, hi - lo, MADV_POPULATE_WRITE) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: &str = "\
00400000-00401000 r--p 00000000 fe:01 123 /usr/bin/maptest
00401000-00500000 r-xp 00001000 fe:01 123 /usr/bin/maptest
00600000-00610000 rw-p 00200000 fe:01 123 /usr/bin/maptest
00610000-00620000 rw-p 00000000 00:00 0
01000000-01100000 rw-p 00000000 00:00 0                                  [heap]
7f0000000000-7f0000002000 rw-p 00000000 00:00 0
7f0000010000-7f0000100000 rw-p 00000000 00:00 0
7f0000100000-7f0000101000 rw-s 00000000 00:06 77 /dev/mapdrv
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
";

    #[test]
    fn finds_stack_heap_data_and_bss_only() {
        let own = parse_maps(MAPS, "/usr/bin/maptest", 0x7f00_0000_0010).unwrap();
        assert_eq!(own.stack, (0x7ffd_0000_0000, 0x7ffd_0002_1000));
        assert_eq!(own.heap_start, Some(0x0100_0000));
        assert_eq!(own.ndata, 3);
        assert_eq!(own.data[0], (0x0060_0000, 0x0061_0000));
        assert_eq!(own.data[1], (0x0061_0000, 0x0062_0000));
        assert_eq!(own.data[2], (0x7f00_0000_0000, 0x7f00_0000_2000));
    }

    #[test]
    fn no_stack_is_none() {
        assert_eq!(
            parse_maps("01000000-01100000 rw-p 0 0 0 [heap]\n", "x", 0),
            None
        );
    }

    /// The tests that fork run one at a time: a child of one test that is
    /// still alive shares the pages another test looks at.
    static FORKING: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// Whether every page of `lo..hi` is present and mapped by this process
    /// alone (`/proc/self/pagemap` bits 63 and 56); the first page that is
    /// not, otherwise.
    fn first_shared_or_absent(lo: usize, hi: usize) -> Option<usize> {
        use std::os::unix::fs::FileExt;
        let ps = crate::device::page_size();
        let pagemap = std::fs::File::open("/proc/self/pagemap").unwrap();
        let mut entry = [0u8; 8];
        (lo / ps..hi.div_ceil(ps)).map(|p| p * ps).find(|&addr| {
            pagemap
                .read_exact_at(&mut entry, (addr / ps * 8) as u64)
                .unwrap();
            let e = u64::from_ne_bytes(entry);
            e & (1 << 63) == 0 || e & (1 << 56) == 0
        })
    }

    #[test]
    fn the_parent_owns_its_stack_heap_and_data_while_the_child_lives() {
        let _one = FORKING.lock().unwrap();
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let own = own().unwrap();
        // SAFETY: the child (of the multi-threaded test harness) calls only
        // `read` and `_exit`.
        match unsafe { fork() }.unwrap() {
            Forked::Child => {
                // The child keeps every page it shares alive until the
                // parent has looked, then leaves (async-signal-safe only).
                let mut b = 0u8;
                // SAFETY: reads one byte into `b`, then leaves at once.
                unsafe {
                    libc::read(fds[0], std::ptr::addr_of_mut!(b).cast(), 1);
                    libc::_exit(0);
                }
            }
            Forked::Parent(pid) => {
                // SAFETY: sbrk(0) only reads the current break.
                let brk = unsafe { libc::sbrk(0) } as usize;
                let mut ranges = vec![own.stack];
                ranges.extend(own.heap_start.map(|h| (h, brk)));
                ranges.extend_from_slice(&own.data[..own.ndata]);
                let shared: Vec<_> = ranges
                    .iter()
                    .filter_map(|&(lo, hi)| first_shared_or_absent(lo, hi).map(|a| (lo, hi, a)))
                    .collect();
                let mut status = 0;
                // SAFETY: ends the child and reaps it; the descriptors are
                // this test's own.
                unsafe {
                    libc::write(fds[1], b"x".as_ptr().cast(), 1);
                    libc::waitpid(pid, &mut status, 0);
                    libc::close(fds[0]);
                    libc::close(fds[1]);
                }
                assert!(
                    shared.is_empty(),
                    "pages shared with the child or absent (range, first page): {shared:x?}"
                );
            }
        }
    }

    #[test]
    fn fork_child_and_parent_both_run() {
        let _one = FORKING.lock().unwrap();
        // SAFETY: the child (of the multi-threaded test harness) calls only
        // `_exit`.
        match unsafe { fork() }.unwrap() {
            // SAFETY: the child leaves at once (async-signal-safe only).
            Forked::Child => unsafe { libc::_exit(7) },
            Forked::Parent(pid) => {
                let mut status = 0;
                // SAFETY: waits for the child just forked.
                assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
                assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 7);
            }
        }
    }
}
