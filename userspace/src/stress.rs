//! `maptest stress --procs N --seconds T`: many processes at once mapping,
//! faulting, writing, unmapping, forking, reading and writing through the
//! fd, and opening and closing, for a bounded time.
//!
//! Data integrity: worker `i` owns a 64-byte slot of the buffer (at
//! `i * 64`). It writes a record (worker, sequence number, payload derived
//! from both, checksum) through a mapping or with `pwrite`, and reads it
//! back through another mapping, `pread`, or a forked child's fresh
//! mapping. Any record that is not exactly the last one written — lost or
//! torn — is an error. Workers never write outside their slot, so every
//! check is exact even with all of them running at once.

use crate::cli::Options;
use crate::device::{self, page_size, Mapping};
use crate::rng::Rng;
use std::io::{self, Read, Write};
use std::os::fd::FromRawFd;
use std::time::{Duration, Instant};

/// Bytes per worker slot.
pub const SLOT: usize = 64;

/// The record worker `w` writes as its `seq`-th.
pub fn record(w: u32, seq: u64) -> [u8; SLOT] {
    let mut r = [0u8; SLOT];
    r[0..4].copy_from_slice(&w.to_le_bytes());
    r[4..12].copy_from_slice(&seq.to_le_bytes());
    for (i, b) in r[12..60].iter_mut().enumerate() {
        *b = (seq as u8)
            .wrapping_mul(31)
            .wrapping_add(i as u8)
            .wrapping_add(w as u8);
    }
    let sum = checksum(&r[..60]);
    r[60..64].copy_from_slice(&sum.to_le_bytes());
    r
}

/// FNV-1a over `data`.
pub fn checksum(data: &[u8]) -> u32 {
    data.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

#[derive(Default)]
struct Tally {
    ops: u64,
    errors: u64,
}

fn worker(dev: &str, w: u32, deadline: Instant, seed: u64) -> Tally {
    let mut t = Tally::default();
    let mut rng = Rng::new(seed ^ (u64::from(w) << 32));
    let ps = page_size();
    let Ok(file) = device::open(dev, true) else {
        t.errors += 1;
        return t;
    };
    let size = match device::stats(&file) {
        Ok(s) => s.buffer_size as usize,
        Err(_) => {
            t.errors += 1;
            return t;
        }
    };
    let off = w as usize * SLOT;
    let page = off / ps;
    let mut seq = 0u64;
    // Write the first record with pwrite so every check has something to compare.
    if device::pwrite(&file, &record(w, seq), off as u64).ok() != Some(SLOT) {
        t.errors += 1;
    }
    let fail = |t: &mut Tally, what: &str| {
        t.errors += 1;
        eprintln!("maptest stress: worker {w}: {what}");
    };
    while Instant::now() < deadline {
        t.ops += 1;
        match rng.below(7) {
            0 => {
                // Map the whole buffer, write the next record, unmap.
                let Ok(m) = Mapping::new(
                    &file,
                    size,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    0,
                ) else {
                    fail(&mut t, "mmap of the whole buffer failed");
                    continue;
                };
                seq += 1;
                for (i, b) in record(w, seq).iter().enumerate() {
                    m.set(off + i, *b);
                }
            }
            1 => {
                // pwrite the next record.
                seq += 1;
                if device::pwrite(&file, &record(w, seq), off as u64).ok() != Some(SLOT) {
                    fail(&mut t, "pwrite was short or failed");
                }
            }
            2 => {
                // Map just our page, at its offset, and check the record.
                let Ok(m) = Mapping::new(&file, ps, libc::PROT_READ, libc::MAP_SHARED, page * ps)
                else {
                    fail(&mut t, "mmap of one page failed");
                    continue;
                };
                let got: Vec<u8> = (0..SLOT).map(|i| m.get(off - page * ps + i)).collect();
                if got[..] != record(w, seq)[..] {
                    fail(&mut t, "record read through a page mapping is lost or torn");
                }
            }
            3 => {
                // pread and check.
                match device::pread(&file, SLOT, off as u64) {
                    Ok(got) if got[..] == record(w, seq)[..] => {}
                    _ => fail(&mut t, "record read with pread is lost or torn"),
                }
            }
            4 => {
                // A forked child opens and maps on its own and checks.
                let want = record(w, seq);
                // SAFETY: single-threaded process; the child only maps,
                // compares and `_exit`s.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    let ok = device::open(dev, false)
                        .and_then(|f| Mapping::new(&f, size, libc::PROT_READ, libc::MAP_SHARED, 0))
                        .map(|m| (0..SLOT).all(|i| m.get(off + i) == want[i]))
                        .unwrap_or(false);
                    // SAFETY: leave the child without running destructors.
                    unsafe { libc::_exit(if ok { 0 } else { 1 }) };
                }
                let mut status = 0;
                // SAFETY: waits for our own child.
                if pid < 0 || unsafe { libc::waitpid(pid, &mut status, 0) } != pid || status != 0 {
                    fail(&mut t, "a forked child saw a lost or torn record");
                }
            }
            5 => {
                // Open and close another fd, with the stats ioctl in between.
                match device::open(dev, false).and_then(|f| device::stats(&f)) {
                    Ok(s) if s.buffer_size as usize == size => {}
                    _ => fail(&mut t, "open + stats failed"),
                }
            }
            _ => {
                // Fault in a random page and drop it again.
                let p = rng.below((size / ps) as u64) as usize;
                match Mapping::new(&file, ps, libc::PROT_READ, libc::MAP_PRIVATE, p * ps) {
                    Ok(m) => {
                        let _ = m.get(rng.below(ps as u64) as usize);
                    }
                    Err(_) => fail(&mut t, "mmap of a random page failed"),
                }
            }
        }
    }
    // The last record must still be there.
    match device::pread(&file, SLOT, off as u64) {
        Ok(got) if got[..] == record(w, seq)[..] => {}
        _ => fail(&mut t, "final record lost or torn"),
    }
    t
}

/// `maptest stress`.
pub fn run(opts: &Options, procs: u32, seconds: u64, seed: u64) -> io::Result<bool> {
    // Held for the whole run, so the module stays pinned from before the
    // first worker starts until after the last one ends.
    let file = device::open(&opts.device, false)?;
    let size = device::stats(&file)?.buffer_size as usize;
    if procs == 0 || procs as usize * SLOT > size {
        return Err(io::Error::other(format!(
            "{procs} workers need {} bytes of buffer, it has {size}",
            procs as usize * SLOT
        )));
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut fds = [0i32; 2];
    // SAFETY: `fds` has room for the two pipe ends.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut pids = Vec::new();
    for w in 0..procs {
        // SAFETY: single-threaded; the child runs `worker` and `_exit`s.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let t = worker(&opts.device, w, deadline, seed);
            // SAFETY: our copy of the pipe's write end.
            let mut out = unsafe { std::fs::File::from_raw_fd(fds[1]) };
            // One write(2) of less than PIPE_BUF bytes: atomic, so lines of
            // different workers never interleave.
            let _ = out.write_all(format!("{} {}\n", t.ops, t.errors).as_bytes());
            // SAFETY: leave the child without running destructors.
            unsafe { libc::_exit(0) };
        }
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        pids.push(pid);
    }
    // SAFETY: the parent's copy of the write end, no longer needed.
    unsafe { libc::close(fds[1]) };
    if !opts.json {
        println!("stress: {procs} workers running for {seconds} s");
    }
    let mut crashed = 0;
    for pid in pids {
        let mut status = 0;
        // SAFETY: waits for our own children.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        if status != 0 {
            crashed += 1;
        }
    }
    let mut text = String::new();
    // SAFETY: the read end, which we own from here on.
    unsafe { std::fs::File::from_raw_fd(fds[0]) }.read_to_string(&mut text)?;
    let (mut ops, mut errors, mut reports) = (0u64, 0u64, 0u32);
    for line in text.lines() {
        let mut it = line
            .split_whitespace()
            .filter_map(|x| x.parse::<u64>().ok());
        if let (Some(o), Some(e)) = (it.next(), it.next()) {
            ops += o;
            errors += e;
            reports += 1;
        }
    }
    let missing = procs - reports;
    drop(file);
    if opts.json {
        println!(
            "{{\"procs\":{procs},\"seconds\":{seconds},\"seed\":{seed},\"operations\":{ops},\"errors\":{errors},\"crashed\":{crashed},\"missing\":{missing}}}"
        );
    } else {
        println!(
            "stress: {procs} processes, {seconds} s, seed {seed}: {ops} operations, {errors} integrity errors, {crashed} crashed workers"
        );
    }
    Ok(errors == 0 && crashed == 0 && missing == 0 && ops > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_differ_and_checksum() {
        let a = record(1, 5);
        let b = record(1, 6);
        let c = record(2, 5);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(checksum(&a[..60]).to_le_bytes(), a[60..64]);
        let mut torn = a;
        torn[20] ^= 1;
        assert_ne!(checksum(&torn[..60]).to_le_bytes(), torn[60..64]);
    }
}
