//! Replaying an operation sequence in a forked child, so that a load or
//! store that kills the process is an outcome, not the end of the fuzzer.

use super::model::{run_ops, Tally};
use super::ops::Op;
use crate::device::page_size;
use std::io;

/// Where a child records its progress (shared with the parent).
struct Shared(*mut Tally);

impl Shared {
    fn new() -> anyhow::Result<Self> {
        // SAFETY: a fresh anonymous shared mapping of one page, which holds a Tally.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page_size(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error().into());
        }
        Ok(Shared(p.cast()))
    }

    /// The tally, for the child to update.
    fn tally(&mut self) -> &mut Tally {
        // SAFETY: our zero-filled page (a valid all-zero Tally); only one
        // process touches it at a time (the parent waits for the child).
        unsafe { &mut *self.0 }
    }

    /// What the child recorded, for the parent once the child has ended.
    fn read(&self) -> Tally {
        // SAFETY: as in `tally`; the child is gone.
        unsafe { std::ptr::read_volatile(self.0) }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: unmaps the page this value owns.
        unsafe { libc::munmap(self.0.cast(), page_size()) };
    }
}

/// How a replay ended.
#[derive(Debug, PartialEq, Eq, Clone)]
pub enum Outcome {
    /// Every operation kept the contract.
    Pass,
    /// Operation `index` broke it.
    Violation { index: u64, what: String },
    /// The child died at operation `index` (signal or exit status).
    Died { index: u64, status: i32 },
}

/// Runs `ops` in a forked child against the device; returns the outcome
/// and what the child did.
pub(super) fn replay(dev: &str, size: u64, ops: &[Op]) -> anyhow::Result<(Outcome, Tally)> {
    let mut shared = Shared::new()?;
    let mut fds = [0i32; 2];
    // SAFETY: room for both ends.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error().into());
    }
    // SAFETY: `maptest` is single-threaded (it starts no thread).
    let pid = match unsafe { crate::fork::fork() } {
        Ok(crate::fork::Forked::Parent(pid)) => pid,
        Ok(crate::fork::Forked::Child) => 0,
        Err(e) => {
            // SAFETY: closes both ends of our pipe.
            unsafe {
                libc::close(fds[0]);
                libc::close(fds[1]);
            }
            return Err(e.into());
        }
    };
    if pid == 0 {
        // SAFETY: the child keeps only the write end.
        unsafe { libc::close(fds[0]) };
        let code = match run_ops(dev, size, true, ops, shared.tally()) {
            Ok(()) => 0,
            Err((_, what)) => {
                let msg = what.into_bytes();
                // SAFETY: writes our message to the pipe we own.
                unsafe { libc::write(fds[1], msg.as_ptr().cast(), msg.len()) };
                3
            }
        };
        // SAFETY: leave the child; its fds and mappings go with it.
        unsafe { libc::_exit(code) };
    }
    // SAFETY: the parent keeps only the read end.
    unsafe { libc::close(fds[1]) };
    let mut status = 0;
    // SAFETY: waits for our child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    // The child's message, one write() of it: a pipe delivers up to
    // PIPE_BUF bytes of one write at once.
    let mut buf = vec![0u8; libc::PIPE_BUF];
    // SAFETY: reads into our buffer from the pipe we own.
    let n = unsafe { libc::read(fds[0], buf.as_mut_ptr().cast(), buf.len()) };
    // SAFETY: closes the read end.
    unsafe { libc::close(fds[0]) };
    let tally = shared.read();
    let index = tally.index;
    let out = if status == 0 {
        Outcome::Pass
    } else if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 3 {
        Outcome::Violation {
            index,
            what: String::from_utf8_lossy(&buf[..n.max(0) as usize]).into_owned(),
        }
    } else {
        Outcome::Died { index, status }
    };
    Ok((out, tally))
}
