//! The operations a fuzz run is made of, and their seeded generation.

use crate::abi::{MAPDRV_IOC_EXERCISE, MAPDRV_IOC_GET_STATS};
use crate::device::page_size;
use crate::rng::Rng;

pub(super) const FDS: usize = 4;
pub(super) const MAPS: usize = 8;
/// Lengths above this never reach the driver in the same way on every
/// machine (the size of the address space decides), so none is generated
/// except the overflowing ones near `u64::MAX`.
const MAX_HOSTILE_SHIFT: u64 = 40;

/// One generated operation; arguments are raw so they can be hostile.
/// `fd`/`map` select the k-th live fd or mapping (modulo how many are live).
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// `open(dev, mode | extra)`.
    Open { mode: i32, extra: i32 },
    /// `close`.
    Close { fd: usize },
    /// `mmap(NULL, len, prot, flags, fd, off)`.
    Mmap {
        fd: usize,
        len: u64,
        prot: i32,
        flags: i32,
        off: u64,
    },
    /// `munmap` of a mapping from page `from` to its end.
    Munmap { map: usize, from: u64 },
    /// `mremap(map, new_len, flags)`.
    Mremap {
        map: usize,
        new_len: u64,
        flags: i32,
    },
    /// `mprotect(map, prot)`.
    Mprotect { map: usize, prot: i32 },
    /// `madvise(map + from, len, advice)`.
    Madvise {
        map: usize,
        from: u64,
        len: u64,
        advice: i32,
    },
    /// `msync(map, flags)`.
    Msync { map: usize, flags: i32 },
    /// `pread`/`pwrite` at `off`, or `read`/`write` at the file position
    /// (`positional`); `bad_buf` passes a bogus pointer.
    Rw {
        fd: usize,
        write: bool,
        positional: bool,
        len: u64,
        off: i64,
        bad_buf: bool,
    },
    /// `lseek(fd, off, whence)`.
    Lseek { fd: usize, off: i64, whence: i32 },
    /// `ioctl(fd, cmd, arg)`; `arg == u64::MAX` stands for a valid buffer.
    Ioctl { fd: usize, cmd: u32, arg: u64 },
    /// `fork`: the child checks every live mapping against the shadow (or
    /// its absence, where `MADV_DONTFORK` left it out) and exits.
    Fork,
    /// A load or store at `at` in a mapping, if its protection allows.
    Touch { map: usize, at: u64, write: bool },
}

fn hostile_len(r: &mut Rng, size: u64) -> u64 {
    let ps = page_size() as u64;
    match r.below(10) {
        0 => 0,
        1 => r.below(ps) + 1,
        2 => size,
        3 => size + ps,
        4 => u64::MAX - r.below(ps),
        5 => 1 << r.below(MAX_HOSTILE_SHIFT + 1),
        6 => r.below(size + 1),
        _ => ps * (1 + r.below(size / ps + 1)),
    }
}

fn hostile_off(r: &mut Rng, size: u64) -> u64 {
    let ps = page_size() as u64;
    match r.below(8) {
        0 => 0,
        1 => size,
        2 => size - ps,
        3 => r.below(size + 2 * ps),
        4 => u64::MAX - r.below(ps),
        5 => 1 << r.below(63),
        _ => ps * r.below(size / ps + 2),
    }
}

const PROTS: [i32; 7] = [
    libc::PROT_NONE,
    libc::PROT_READ,
    libc::PROT_WRITE,
    libc::PROT_READ | libc::PROT_WRITE,
    libc::PROT_READ | libc::PROT_EXEC,
    libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
    libc::PROT_EXEC,
];

/// The advices the model knows the result of (see `Model::madvise`).
pub(super) const ADVICES: [i32; 15] = [
    libc::MADV_NORMAL,
    libc::MADV_RANDOM,
    libc::MADV_SEQUENTIAL,
    libc::MADV_DONTNEED,
    libc::MADV_FREE,
    libc::MADV_REMOVE,
    libc::MADV_DONTFORK,
    libc::MADV_DOFORK,
    libc::MADV_DONTDUMP,
    libc::MADV_DODUMP,
    libc::MADV_COLD,
    libc::MADV_PAGEOUT,
    libc::MADV_POPULATE_READ,
    libc::MADV_POPULATE_WRITE,
    999,
];

fn gen_mmap(r: &mut Rng, size: u64) -> Op {
    let ps = page_size() as u64;
    let fd = r.below(FDS as u64) as usize;
    if r.chance(1, 2) {
        // A valid request: whole pages inside the buffer, shared read or
        // read-write, or private read-only.
        let off = ps * r.below(size / ps);
        let len = ps * (1 + r.below((size - off) / ps));
        let shared = r.chance(3, 4);
        return Op::Mmap {
            fd,
            len,
            prot: if shared && r.chance(1, 2) {
                libc::PROT_READ | libc::PROT_WRITE
            } else {
                libc::PROT_READ
            },
            flags: if shared {
                libc::MAP_SHARED
            } else {
                libc::MAP_PRIVATE
            },
            off,
        };
    }
    let kind = r.pick(&[
        libc::MAP_SHARED,
        libc::MAP_PRIVATE,
        libc::MAP_SHARED,
        0,
        libc::MAP_SHARED_VALIDATE,
    ]);
    let extra = r.pick(&[
        0,
        0,
        libc::MAP_POPULATE,
        libc::MAP_NORESERVE,
        libc::MAP_LOCKED,
        libc::MAP_NONBLOCK,
    ]);
    Op::Mmap {
        fd,
        len: hostile_len(r, size),
        prot: r.pick(&PROTS),
        flags: kind | extra,
        off: hostile_off(r, size),
    }
}

fn gen_rw(r: &mut Rng, size: u64) -> Op {
    Op::Rw {
        fd: r.below(FDS as u64) as usize,
        write: r.chance(1, 2),
        positional: r.chance(1, 4),
        len: hostile_len(r, size).min(1 << 20),
        off: hostile_off(r, size) as i64,
        bad_buf: r.chance(1, 8),
    }
}

fn gen_ioctl(r: &mut Rng) -> Op {
    let random = r.next_u64() as u32;
    let near = 0x4d00 | r.below(8) as u32;
    Op::Ioctl {
        fd: r.below(FDS as u64) as usize,
        cmd: r.pick(&[MAPDRV_IOC_GET_STATS, MAPDRV_IOC_EXERCISE, random, near]),
        // Never a pointer into our own memory, except the scratch buffer
        // for GET_STATS (`u64::MAX` stands for it).
        arg: r.pick(&[
            0u64,
            1,
            0xffff_ffff_ffff_f000,
            0xffff_8880_0000_0000,
            0xdead_0000,
            u64::MAX,
            u64::MAX,
        ]),
    }
}

/// The operation sequence for `seed`, `n` operations long.
pub fn generate(seed: u64, n: usize, size: u64) -> Vec<Op> {
    let mut r = Rng::new(seed);
    let ps = page_size() as u64;
    let slot = |r: &mut Rng, n: usize| r.below(n as u64) as usize;
    (0..n)
        .map(|_| match r.below(100) {
            0..=6 => Op::Open {
                mode: r.pick(&[libc::O_RDONLY, libc::O_WRONLY, libc::O_RDWR, libc::O_RDWR]),
                extra: r.pick(&[
                    0,
                    libc::O_NONBLOCK,
                    libc::O_SYNC,
                    libc::O_APPEND,
                    libc::O_TRUNC,
                ]),
            },
            7..=9 => Op::Close {
                fd: slot(&mut r, FDS),
            },
            10..=29 => gen_mmap(&mut r, size),
            30..=33 => Op::Munmap {
                map: slot(&mut r, MAPS),
                from: ps * r.below(3),
            },
            34..=37 => Op::Mremap {
                map: slot(&mut r, MAPS),
                new_len: hostile_len(&mut r, size),
                flags: r.pick(&[0, libc::MREMAP_MAYMOVE]),
            },
            38..=42 => Op::Mprotect {
                map: slot(&mut r, MAPS),
                prot: r.pick(&PROTS),
            },
            43..=48 => Op::Madvise {
                map: slot(&mut r, MAPS),
                from: ps * r.below(2),
                len: hostile_len(&mut r, size),
                advice: r.pick(&ADVICES),
            },
            49..=51 => Op::Msync {
                map: slot(&mut r, MAPS),
                flags: r.pick(&[
                    libc::MS_SYNC,
                    libc::MS_ASYNC,
                    libc::MS_INVALIDATE,
                    libc::MS_SYNC | libc::MS_ASYNC,
                    0xff,
                ]),
            },
            52..=67 => gen_rw(&mut r, size),
            68..=71 => Op::Lseek {
                fd: slot(&mut r, FDS),
                off: hostile_off(&mut r, size) as i64 - r.below(2) as i64 * (size as i64),
                whence: r.pick(&[
                    libc::SEEK_SET,
                    libc::SEEK_CUR,
                    libc::SEEK_END,
                    libc::SEEK_DATA,
                    libc::SEEK_HOLE,
                    17,
                ]),
            },
            72..=77 => gen_ioctl(&mut r),
            78..=79 => Op::Fork,
            _ => Op::Touch {
                map: slot(&mut r, MAPS),
                at: r.below(size + 1),
                write: r.chance(1, 2),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_reproducible() {
        let a = format!("{:?}", generate(7, 200, 40960));
        let b = format!("{:?}", generate(7, 200, 40960));
        let c = format!("{:?}", generate(8, 200, 40960));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn generation_covers_every_call() {
        let ops = generate(1, 5000, 40960);
        let has = |f: fn(&Op) -> bool| ops.iter().any(f);
        assert!(has(|o| matches!(o, Op::Open { .. })));
        assert!(has(|o| matches!(o, Op::Mmap { .. })));
        assert!(has(|o| matches!(o, Op::Mremap { .. })));
        assert!(has(|o| matches!(o, Op::Madvise { .. })));
        assert!(has(|o| matches!(o, Op::Msync { .. })));
        assert!(has(|o| matches!(o, Op::Ioctl { .. })));
        assert!(has(|o| matches!(o, Op::Touch { .. })));
        assert!(has(|o| matches!(o, Op::Fork)));
        assert!(has(|o| matches!(o, Op::Lseek { .. })));
        assert!(has(|o| matches!(
            o,
            Op::Rw {
                positional: true,
                ..
            }
        )));
    }

    /// The generated sequence leans toward system calls: enough opens to
    /// keep fds live, loads and stores a minority.
    #[test]
    fn generation_favours_system_calls() {
        let size = 10 * page_size() as u64;
        let ops = generate(3, 2000, size);
        let opens = ops.iter().filter(|o| matches!(o, Op::Open { .. })).count();
        let touches = ops.iter().filter(|o| matches!(o, Op::Touch { .. })).count();
        assert!(
            opens > 100 && touches < ops.len() / 3,
            "{opens} opens, {touches} touches"
        );
    }
}
