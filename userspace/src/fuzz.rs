//! `maptest fuzz --seed S --seconds T`: a seeded syscall fuzzer for
//! `/dev/mapdrv`, with a model of the contract to hold every result to.
//!
//! A run is a sequence of operations generated from the seed: open, close,
//! mmap, munmap, mremap, mprotect, madvise, msync, pread/pwrite, read/write
//! at the file position, lseek, ioctl, and loads and stores into live
//! mappings, with hostile arguments (odd and huge lengths and offsets,
//! bogus buffers and ioctl arguments, every prot and flag combination). An
//! operation names its fd or mapping as "the k-th live one", so most of
//! them reach the device instead of an empty slot, and half the mmaps are
//! valid requests.
//!
//! The model (`Model`) keeps a shadow of the contract: the open fds with
//! their access mode and file position, the live mappings with their
//! protection, sharing and file offset, and a byte-for-byte shadow of the
//! buffer. Before each system call it computes what the contract (and the
//! kernel's own checks before the driver, cited from Linux 7.2 where they
//! decide the errno) says the result must be: a value or one errno. Any
//! other result is a violation, in both directions: a refusal the contract
//! allows, an allowed call that fails, a wrong errno or count. Every byte
//! read (`pread`, `read`, a load from a mapping) is compared with the
//! shadow; every byte written updates it. A load or store the protection
//! allows that kills the process is a violation too (the sequence runs in
//! a forked child).
//!
//! Counted: executed system calls (the figure the summary reports), loads
//! and stores, and operations skipped because nothing was live to act on.
//!
//! On failure the driver prints the seed, then shrinks the sequence (ddmin:
//! drop chunks while the failure persists) and prints the shortest sequence
//! it found, replayable with `--seed S --calls N --keep LIST`.

use crate::abi::{MapdrvStats, MAPDRV_ABI_VERSION, MAPDRV_IOC_EXERCISE, MAPDRV_IOC_GET_STATS};
use crate::cli::Options;
use crate::device::{self, page_size};
use crate::rng::Rng;
use std::io;
use std::time::{Duration, Instant};

const FDS: usize = 4;
const MAPS: usize = 8;
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
const ADVICES: [i32; 15] = [
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
            _ => Op::Touch {
                map: slot(&mut r, MAPS),
                at: r.below(size + 1),
                write: r.chance(1, 2),
            },
        })
        .collect()
}

/// An open fd as the model tracks it.
#[derive(Clone, Copy)]
struct Fd {
    raw: i32,
    /// `O_RDONLY`, `O_WRONLY` or `O_RDWR`.
    mode: i32,
    /// The file position.
    pos: i64,
}

/// A live mapping as the model tracks it.
#[derive(Clone, Copy)]
struct Map {
    addr: usize,
    len: usize,
    prot: i32,
    shared: bool,
    /// Opened read-write (only such a shared mapping may become writable).
    fd_writable: bool,
    locked: bool,
    /// The buffer offset of the mapping's first byte.
    off: usize,
}

/// What a system call returned: a value or an errno.
type Ret = Result<i64, i32>;

/// How an operation was carried out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Done {
    /// A system call was made (and its result checked).
    Syscall,
    /// A load or store into a mapping (its byte checked or recorded).
    Access,
    /// Nothing live to act on (or an access the protection forbids).
    Skipped,
}

/// The contract's shadow: fds, mappings and the buffer's bytes.
pub struct Model {
    path: std::ffi::CString,
    size: u64,
    fds: Vec<Fd>,
    maps: Vec<Map>,
    shadow: Vec<u8>,
    scratch: Vec<u8>,
    /// Set when the target is `/dev/mapdrv` (the ioctls are part of the contract).
    device: bool,
    /// Seeds the bytes of each write.
    counter: u8,
    /// The kernel has `madvise` (`CONFIG_ADVISE_SYSCALLS`); without it
    /// every call is `ENOSYS`, which is the model's answer then.
    has_madvise: bool,
    /// RAM plus swap, in pages (`sysinfo`): the overcommit heuristic's bound.
    commit_pages: u64,
}

fn ret_of(r: isize) -> Ret {
    if r < 0 {
        Err(errno())
    } else {
        Ok(r as i64)
    }
}

fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn name(e: i32) -> String {
    let known = [
        (libc::EINVAL, "EINVAL"),
        (libc::EACCES, "EACCES"),
        (libc::ENOSPC, "ENOSPC"),
        (libc::ENOTTY, "ENOTTY"),
        (libc::EFAULT, "EFAULT"),
        (libc::EBADF, "EBADF"),
        (libc::ENOMEM, "ENOMEM"),
        (libc::ENODEV, "ENODEV"),
        (libc::EPERM, "EPERM"),
        (libc::EBUSY, "EBUSY"),
        (libc::EOVERFLOW, "EOVERFLOW"),
        (libc::ENOSYS, "ENOSYS"),
    ];
    known
        .iter()
        .find(|(n, _)| *n == e)
        .map_or(format!("errno {e}"), |(_, s)| (*s).to_owned())
}

fn show(r: Ret) -> String {
    match r {
        Ok(v) => format!("{v}"),
        Err(e) => name(e),
    }
}

/// `Ok` if the call returned what the model says (a value is compared only
/// when `want` carries one other than `-1`, which stands for "any success").
fn compare(what: &str, got: Ret, want: Ret) -> Result<(), String> {
    let same = match (got, want) {
        (Ok(_), Ok(-1)) => true,
        _ => got == want,
    };
    if same {
        Ok(())
    } else {
        Err(format!(
            "{what}: got {}, the contract says {}",
            show(got),
            if want == Ok(-1) {
                "success".to_owned()
            } else {
                show(want)
            }
        ))
    }
}

/// `totalram_pages() + total_swap_pages`, from `sysinfo(2)`.
fn commit_pages() -> io::Result<u64> {
    // SAFETY: `sysinfo` fills the struct we pass; all-zero is a valid start.
    let mut si: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: `si` is a valid, writable `struct sysinfo`.
    if unsafe { libc::sysinfo(&mut si) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let unit = u64::from(si.mem_unit.max(1));
    let bytes = (widen(si.totalram) + widen(si.totalswap)) * unit;
    Ok(bytes / page_size() as u64)
}

/// A `c_ulong` as `u64`. `c_ulong` is `u64` on 64-bit targets and `u32` on
/// 32-bit ones; written at the call, both an `as` cast and `u64::from` are
/// same-type conversions on 64-bit that clippy flags (`unnecessary_cast`,
/// `useless_conversion`), so the widening happens here, generically.
fn widen<T: Into<u64>>(v: T) -> u64 {
    v.into()
}

fn page_align(len: u64) -> Option<u64> {
    let ps = page_size() as u64;
    len.checked_add(ps - 1).map(|l| l & !(ps - 1))
}

impl Model {
    /// A model of `path`, whose contents are read now with `pread`.
    pub fn new(path: &str, size: u64, device: bool) -> io::Result<Self> {
        let f = device::open(path, false)?;
        let shadow = device::pread(&f, size as usize, 0)?;
        if shadow.len() as u64 != size {
            return Err(io::Error::other("short pread of the buffer"));
        }
        Ok(Model {
            path: std::ffi::CString::new(path).map_err(io::Error::other)?,
            size,
            fds: Vec::new(),
            maps: Vec::new(),
            shadow,
            scratch: Vec::new(),
            device,
            counter: 0,
            // SAFETY: an empty range: no memory is touched.
            commit_pages: commit_pages()?,
            has_madvise: unsafe { libc::madvise(std::ptr::null_mut(), 0, libc::MADV_NORMAL) } == 0
                || errno() != libc::ENOSYS,
        })
    }

    /// Carries out `op`; `Err` is a contract violation.
    pub fn exec(&mut self, op: Op) -> Result<Done, String> {
        match op {
            Op::Open { mode, extra } => self.open(mode, extra),
            Op::Close { fd } => self.close(fd),
            Op::Mmap {
                fd,
                len,
                prot,
                flags,
                off,
            } => self.mmap(fd, len, prot, flags, off),
            Op::Munmap { map, from } => self.munmap(map, from),
            Op::Mremap {
                map,
                new_len,
                flags,
            } => self.mremap(map, new_len, flags),
            Op::Mprotect { map, prot } => self.mprotect(map, prot),
            Op::Madvise {
                map,
                from,
                len,
                advice,
            } => self.madvise(map, from, len, advice),
            Op::Msync { map, flags } => self.msync(map, flags),
            Op::Rw {
                fd,
                write,
                positional,
                len,
                off,
                bad_buf,
            } => self.rw(fd, write, positional, len as usize, off, bad_buf),
            Op::Lseek { fd, off, whence } => self.lseek(fd, off, whence),
            Op::Ioctl { fd, cmd, arg } => self.ioctl(fd, cmd, arg),
            Op::Touch { map, at, write } => self.touch(map, at, write),
        }
    }

    fn fd(&self, k: usize) -> Option<usize> {
        (!self.fds.is_empty()).then(|| k % self.fds.len())
    }

    fn map(&self, k: usize) -> Option<usize> {
        (!self.maps.is_empty()).then(|| k % self.maps.len())
    }

    fn open(&mut self, mode: i32, extra: i32) -> Result<Done, String> {
        if self.fds.len() == FDS {
            self.close(0)?;
        }
        // SAFETY: a plain open of a NUL-terminated path.
        let raw = unsafe { libc::open(self.path.as_ptr(), mode | extra) };
        compare("open", ret_of(raw as isize), Ok(-1))?;
        self.fds.push(Fd { raw, mode, pos: 0 });
        Ok(Done::Syscall)
    }

    fn close(&mut self, k: usize) -> Result<Done, String> {
        let Some(i) = self.fd(k) else {
            return Ok(Done::Skipped);
        };
        let fd = self.fds.remove(i);
        // SAFETY: an fd we opened and still own.
        compare(
            "close",
            ret_of(unsafe { libc::close(fd.raw) } as isize),
            Ok(0),
        )?;
        Ok(Done::Syscall)
    }

    /// What `mmap` must return: the syscall's, `do_mmap()`'s and the
    /// driver's checks, in the kernel's order.
    fn mmap_want(&self, fd: Fd, len: u64, prot: i32, flags: i32, off: u64) -> Ret {
        let ps = page_size() as u64;
        let kind = flags & 3;
        // x86-64 sys_mmap: the offset must be page-aligned.
        if off % ps != 0 {
            return Err(libc::EINVAL);
        }
        if len == 0 {
            return Err(libc::EINVAL);
        }
        let Some(alen) = page_align(len).filter(|l| *l != 0) else {
            return Err(libc::ENOMEM);
        };
        let pgoff = off / ps;
        if pgoff.checked_add(alen / ps).is_none() {
            return Err(libc::EOVERFLOW);
        }
        // __get_unmapped_area(): longer than TASK_SIZE is ENOMEM (see
        // `mremap` for why 2^47 stands for TASK_SIZE here).
        if alen > 1 << 47 {
            return Err(libc::ENOMEM);
        }
        // file_mmap_ok(): the end must fit the file's size limit
        // (ULONG_MAX for a character device, MAX_LFS_FILESIZE for a file).
        let max = if self.device {
            u64::MAX
        } else {
            i64::MAX as u64
        };
        if alen > max || pgoff > (max - alen) / ps {
            return Err(libc::EOVERFLOW);
        }
        // The type switch of do_mmap(): write access, then read access.
        let shared = kind == libc::MAP_SHARED || kind == libc::MAP_SHARED_VALIDATE;
        if shared && prot & libc::PROT_WRITE != 0 && fd.mode == libc::O_RDONLY {
            return Err(libc::EACCES);
        }
        if kind != 0 && fd.mode == libc::O_WRONLY {
            return Err(libc::EACCES);
        }
        if kind == 0 {
            return Err(libc::EINVAL);
        }
        // mmap_region(): a writable private mapping is charged against
        // the commit limit first (overcommit "guess": more pages than RAM
        // plus swap is ENOMEM), unless MAP_NORESERVE.
        if !shared
            && prot & libc::PROT_WRITE != 0
            && flags & libc::MAP_NORESERVE == 0
            && alen / ps > self.commit_pages
        {
            return Err(libc::ENOMEM);
        }
        // The driver: PROT_EXEC, the range, a writable private mapping.
        let in_range = pgoff
            .checked_mul(ps)
            .and_then(|o| o.checked_add(alen))
            .is_some_and(|end| end <= self.size);
        if prot & libc::PROT_EXEC != 0 || !in_range || (!shared && prot & libc::PROT_WRITE != 0) {
            return Err(libc::EINVAL);
        }
        Ok(-1)
    }

    fn mmap(
        &mut self,
        k: usize,
        len: u64,
        prot: i32,
        flags: i32,
        off: u64,
    ) -> Result<Done, String> {
        let Some(i) = self.fd(k) else {
            return Ok(Done::Skipped);
        };
        if self.maps.len() == MAPS {
            self.munmap(0, 0)?;
        }
        let fd = self.fds[i];
        let want = self.mmap_want(fd, len, prot, flags, off);
        // SAFETY: a fresh mapping chosen by the kernel; we track it.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len as usize,
                prot,
                flags,
                fd.raw,
                off as libc::off_t,
            )
        };
        let got = if p == libc::MAP_FAILED {
            Err(errno())
        } else {
            Ok(p as i64)
        };
        if got.is_ok() {
            self.maps.push(Map {
                addr: p as usize,
                len: len as usize,
                prot,
                shared: flags & 3 != libc::MAP_PRIVATE,
                fd_writable: fd.mode == libc::O_RDWR,
                // __mmap_region() drops VM_LOCKED from VM_SPECIAL mappings,
                // and the driver's are VM_DONTEXPAND.
                locked: flags & libc::MAP_LOCKED != 0 && !self.device,
                off: off as usize,
            });
        }
        compare(
            &format!("mmap(len {len:#x}, prot {prot:#x}, flags {flags:#x}, off {off:#x}) of an fd opened {:#x}", fd.mode),
            got,
            want,
        )?;
        Ok(Done::Syscall)
    }

    fn munmap(&mut self, k: usize, from: u64) -> Result<Done, String> {
        let Some(i) = self.map(k) else {
            return Ok(Done::Skipped);
        };
        let m = self.maps[i];
        let from = (from as usize).min(m.len.saturating_sub(1)) & !(page_size() - 1);
        // SAFETY: the tail of a mapping we own, from a page boundary.
        let r = unsafe { libc::munmap((m.addr + from) as *mut _, m.len - from) };
        if from == 0 {
            self.maps.remove(i);
        } else {
            self.maps[i].len = from;
        }
        compare("munmap", ret_of(r as isize), Ok(0))?;
        Ok(Done::Syscall)
    }

    fn mremap(&mut self, k: usize, new_len: u64, flags: i32) -> Result<Done, String> {
        let Some(i) = self.map(k) else {
            return Ok(Done::Skipped);
        };
        let m = self.maps[i];
        let old = page_align(m.len as u64).unwrap_or(0);
        // do_mremap(): a zero, overflowing or longer than TASK_SIZE length is EINVAL; growing a
        // VM_DONTEXPAND mapping is EFAULT (check_prep_vma()); shrinking works.
        // (No generated length lies between 2^41 and TASK_SIZE, whichever
        // paging mode sets TASK_SIZE: longer ones are all above 2^63.)
        let want = match page_align(new_len) {
            None | Some(0) => Err(libc::EINVAL),
            Some(n) if n > 1 << 47 => Err(libc::EINVAL),
            Some(n) if n > old => Err(libc::EFAULT),
            Some(_) => Ok(m.addr as i64),
        };
        // SAFETY: remaps a mapping we own; on success we track the result.
        let p = unsafe { libc::mremap(m.addr as *mut _, m.len, new_len as usize, flags) };
        let got = if p == libc::MAP_FAILED {
            Err(errno())
        } else {
            Ok(p as i64)
        };
        if let Ok(p) = got {
            self.maps[i].addr = p as usize;
            self.maps[i].len = new_len as usize;
        }
        compare(&format!("mremap({:#x} -> {new_len:#x})", m.len), got, want)?;
        Ok(Done::Syscall)
    }

    fn mprotect(&mut self, k: usize, prot: i32) -> Result<Done, String> {
        let Some(i) = self.map(k) else {
            return Ok(Done::Skipped);
        };
        let m = self.maps[i];
        // The driver cleared VM_MAYEXEC always and VM_MAYWRITE on private
        // mappings; the core clears VM_MAYWRITE for a read-only fd.
        let may_write = m.shared && m.fd_writable;
        let want = if prot & libc::PROT_EXEC != 0 || (prot & libc::PROT_WRITE != 0 && !may_write) {
            Err(libc::EACCES)
        } else {
            Ok(0)
        };
        // SAFETY: changes protection of a mapping we own.
        let got = ret_of(unsafe { libc::mprotect(m.addr as *mut _, m.len, prot) } as isize);
        if got.is_ok() {
            self.maps[i].prot = prot;
        }
        compare(
            &format!(
                "mprotect({prot:#x}) of a {} mapping",
                if m.shared { "shared" } else { "private" }
            ),
            got,
            want,
        )?;
        Ok(Done::Syscall)
    }

    /// What `madvise` must return on one of mapdrv's VMAs (file-backed,
    /// `VM_DONTEXPAND`, so in `VM_SPECIAL`), from mm/madvise.c.
    fn madvise_want(m: &Map, len: u64, advice: i32) -> Ret {
        if !ADVICES[..ADVICES.len() - 1].contains(&advice) {
            return Err(libc::EINVAL);
        }
        if len == 0 {
            return Ok(0);
        }
        match advice {
            // madvise_vma_behavior(): VM_SPECIAL refuses fork/dump changes.
            libc::MADV_DONTFORK | libc::MADV_DOFORK | libc::MADV_DODUMP => Err(libc::EINVAL),
            // madvise_dontneed_free_valid_vma(), can_madv_lru_vma().
            libc::MADV_DONTNEED | libc::MADV_COLD | libc::MADV_PAGEOUT if m.locked => {
                Err(libc::EINVAL)
            }
            // madvise_free_single_vma(): anonymous memory only.
            libc::MADV_FREE => Err(libc::EINVAL),
            // madvise_remove(): then vfs_fallocate() on a character device.
            libc::MADV_REMOVE if m.locked => Err(libc::EINVAL),
            libc::MADV_REMOVE if !(m.shared && m.fd_writable) => Err(libc::EACCES),
            libc::MADV_REMOVE => Err(libc::ENODEV),
            // madvise_populate(): check_vma_flags() failures are EINVAL.
            libc::MADV_POPULATE_READ if m.prot & libc::PROT_READ == 0 => Err(libc::EINVAL),
            libc::MADV_POPULATE_WRITE if m.prot & libc::PROT_WRITE == 0 => Err(libc::EINVAL),
            _ => Ok(0),
        }
    }

    fn madvise(&mut self, k: usize, from: u64, len: u64, advice: i32) -> Result<Done, String> {
        let Some(i) = self.map(k) else {
            return Ok(Done::Skipped);
        };
        let m = self.maps[i];
        let mapped = page_align(m.len as u64).unwrap_or(0);
        if from >= mapped {
            return Ok(Done::Skipped);
        }
        let len = len.min(mapped - from);
        let want = if self.has_madvise {
            Self::madvise_want(&m, len, advice)
        } else {
            Err(libc::ENOSYS)
        };
        // SAFETY: advice on a range of a mapping we own; none of these
        // advices changes what we may touch (DONTNEED refaults the buffer).
        let got = ret_of(unsafe {
            libc::madvise((m.addr + from as usize) as *mut _, len as usize, advice)
        } as isize);
        compare(&format!("madvise({advice}) of {len:#x} bytes"), got, want)?;
        Ok(Done::Syscall)
    }

    fn msync(&mut self, k: usize, flags: i32) -> Result<Done, String> {
        let Some(i) = self.map(k) else {
            return Ok(Done::Skipped);
        };
        let m = self.maps[i];
        let known = libc::MS_SYNC | libc::MS_ASYNC | libc::MS_INVALIDATE;
        // mm/msync.c: unknown bits or SYNC|ASYNC are EINVAL; INVALIDATE of
        // a locked mapping is EBUSY; MS_SYNC of a shared mapping calls
        // vfs_fsync_range(), EINVAL for a file without ->fsync (the device);
        // a shared mapping of a read-only fd is not VM_SHARED (do_mmap()).
        let want = if flags & !known != 0
            || flags & (libc::MS_SYNC | libc::MS_ASYNC) == libc::MS_SYNC | libc::MS_ASYNC
        {
            Err(libc::EINVAL)
        } else if flags & libc::MS_INVALIDATE != 0 && m.locked {
            Err(libc::EBUSY)
        } else if flags & libc::MS_SYNC != 0 && m.shared && m.fd_writable && self.device {
            Err(libc::EINVAL)
        } else {
            Ok(0)
        };
        // SAFETY: msync of a mapping we own.
        let got = ret_of(unsafe { libc::msync(m.addr as *mut _, m.len, flags) } as isize);
        compare(&format!("msync({flags:#x})"), got, want)?;
        Ok(Done::Syscall)
    }

    /// What a read or write of `len` bytes at `off` must return.
    fn rw_want(&self, fd: Fd, write: bool, len: usize, off: i64, bad_buf: bool) -> Ret {
        // ksys_pread64(): a negative offset first; vfs_read()/vfs_write():
        // the access mode; then the driver.
        if off < 0 {
            return Err(libc::EINVAL);
        }
        let allowed = if write {
            fd.mode != libc::O_RDONLY
        } else {
            fd.mode != libc::O_WRONLY
        };
        if !allowed {
            return Err(libc::EBADF);
        }
        if len == 0 {
            return Ok(0);
        }
        let size = self.size as i64;
        if off >= size {
            return if write { Err(libc::ENOSPC) } else { Ok(0) };
        }
        if bad_buf {
            return Err(libc::EFAULT);
        }
        Ok(len.min((size - off) as usize) as i64)
    }

    fn rw(
        &mut self,
        k: usize,
        write: bool,
        positional: bool,
        len: usize,
        off: i64,
        bad_buf: bool,
    ) -> Result<Done, String> {
        let Some(i) = self.fd(k) else {
            return Ok(Done::Skipped);
        };
        let fd = self.fds[i];
        let at = if positional { fd.pos } else { off };
        // read()/write() at the position: rw_verify_area() sees the same offset.
        let want = self.rw_want(fd, write, len, at, bad_buf);
        if self.scratch.len() < len {
            self.scratch.resize(len, 0);
        }
        self.counter = self.counter.wrapping_add(1);
        for (j, b) in self.scratch[..len].iter_mut().enumerate() {
            *b = (j as u8).wrapping_mul(3).wrapping_add(self.counter);
        }
        let buf = if bad_buf {
            0x10 as *mut libc::c_void
        } else {
            self.scratch.as_mut_ptr().cast()
        };
        // SAFETY: `buf` is either our scratch buffer of at least `len`
        // bytes or a bogus address the kernel must refuse with EFAULT.
        let n = unsafe {
            match (write, positional) {
                (true, false) => libc::pwrite(fd.raw, buf, len, off),
                (false, false) => libc::pread(fd.raw, buf, len, off),
                (true, true) => libc::write(fd.raw, buf, len),
                (false, true) => libc::read(fd.raw, buf, len),
            }
        };
        let got = ret_of(n);
        let call = match (write, positional) {
            (true, false) => "pwrite",
            (false, false) => "pread",
            (true, true) => "write",
            (false, true) => "read",
        };
        compare(&format!("{call} of {len} bytes at {at}"), got, want)?;
        if let Ok(n @ 1..) = got {
            let (from, n) = (at as usize, n as usize);
            if write {
                self.shadow[from..from + n].copy_from_slice(&self.scratch[..n]);
            } else if self.scratch[..n] != self.shadow[from..from + n] {
                let d = (0..n)
                    .find(|&j| self.scratch[j] != self.shadow[from + j])
                    .unwrap_or(0);
                return Err(format!(
                    "{call} at {at}: byte {} reads {:#04x}, the buffer holds {:#04x}",
                    from + d,
                    self.scratch[d],
                    self.shadow[from + d]
                ));
            }
            if positional {
                self.fds[i].pos += n as i64;
            }
        }
        Ok(Done::Syscall)
    }

    fn lseek(&mut self, k: usize, off: i64, whence: i32) -> Result<Done, String> {
        let Some(i) = self.fd(k) else {
            return Ok(Done::Skipped);
        };
        let fd = self.fds[i];
        let size = self.size as i64;
        // fixed_size_llseek(): SET/CUR/END only; vfs_setpos(): 0..=size.
        let target = match whence {
            libc::SEEK_SET => Some(off),
            libc::SEEK_CUR => Some(fd.pos.wrapping_add(off)),
            libc::SEEK_END => Some(size.wrapping_add(off)),
            _ => None,
        };
        let want = match target {
            Some(t) if (0..=size).contains(&t) => Ok(t),
            _ => Err(libc::EINVAL),
        };
        // SAFETY: lseek on an fd we own.
        let got = unsafe { libc::lseek(fd.raw, off, whence) };
        let got = if got < 0 { Err(errno()) } else { Ok(got) };
        if let Ok(p) = got {
            self.fds[i].pos = p;
        }
        compare(
            &format!("lseek({off}, {whence}) from {}", fd.pos),
            got,
            want,
        )?;
        Ok(Done::Syscall)
    }

    fn ioctl(&mut self, k: usize, cmd: u32, arg: u64) -> Result<Done, String> {
        let Some(i) = self.fd(k) else {
            return Ok(Done::Skipped);
        };
        // Numbers the VFS answers before the driver (do_vfs_ioctl()) are
        // not the device's contract: not sent.
        const VFS: [u32; 6] = [0x5450, 0x5451, 0x5421, 0x5452, 0x5460, 0x2];
        let ours = cmd == MAPDRV_IOC_GET_STATS || cmd == MAPDRV_IOC_EXERCISE;
        if VFS.contains(&cmd) || (!ours && (cmd >> 8) & 0xff == b'f' as u32) {
            return Ok(Done::Skipped);
        }
        let valid = arg == u64::MAX && cmd == MAPDRV_IOC_GET_STATS;
        if arg == u64::MAX && !valid {
            return Ok(Done::Skipped);
        }
        let mut stats = MapdrvStats::default();
        let ptr = if valid {
            &mut stats as *mut MapdrvStats as u64
        } else {
            arg
        };
        let want = if !ours || !self.device {
            Err(libc::ENOTTY)
        } else if valid {
            Ok(0)
        } else {
            Err(libc::EFAULT)
        };
        // SAFETY: the argument is a bogus address (the kernel must fail
        // with EFAULT) or `stats`, which GET_STATS fills.
        let got = ret_of(unsafe { libc::ioctl(self.fds[i].raw, cmd as _, ptr) } as isize);
        compare(&format!("ioctl({cmd:#x}, {arg:#x})"), got, want)?;
        if valid
            && got.is_ok()
            && (stats.version != MAPDRV_ABI_VERSION || stats.buffer_size != self.size)
        {
            return Err(format!(
                "GET_STATS: version {}, buffer_size {}",
                stats.version, stats.buffer_size
            ));
        }
        Ok(Done::Syscall)
    }

    fn touch(&mut self, k: usize, at: u64, write: bool) -> Result<Done, String> {
        let Some(i) = self.map(k) else {
            return Ok(Done::Skipped);
        };
        let m = self.maps[i];
        let at = at as usize % m.len;
        let p = (m.addr + at) as *mut u8;
        let b = m.off + at;
        if write && m.prot & libc::PROT_WRITE != 0 {
            self.counter = self.counter.wrapping_add(1);
            // SAFETY: inside a live mapping we own with PROT_WRITE; the
            // contract says the store succeeds (else the child dies and
            // the driver reports it).
            unsafe { std::ptr::write_volatile(p, self.counter) };
            self.shadow[b] = self.counter;
        } else if !write && m.prot & libc::PROT_READ != 0 {
            // SAFETY: as above, a readable mapping.
            let got = unsafe { std::ptr::read_volatile(p) };
            if got != self.shadow[b] {
                return Err(format!(
                    "a load at buffer byte {b} reads {got:#04x}, the buffer holds {:#04x}",
                    self.shadow[b]
                ));
            }
        } else {
            return Ok(Done::Skipped);
        }
        Ok(Done::Access)
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        for m in &self.maps {
            // SAFETY: mappings we own.
            unsafe { libc::munmap(m.addr as *mut _, m.len) };
        }
        for f in &self.fds {
            // SAFETY: fds we own.
            unsafe { libc::close(f.raw) };
        }
    }
}

/// Counts of what a run did, per `Done` kind.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Tally {
    /// Operations carried out so far (the index of the next one).
    pub index: u64,
    /// System calls made and checked.
    pub syscalls: u64,
    /// Loads and stores into mappings.
    pub accesses: u64,
    /// Operations with nothing live to act on.
    pub skipped: u64,
}

impl Tally {
    fn add(&mut self, d: Done) {
        match d {
            Done::Syscall => self.syscalls += 1,
            Done::Access => self.accesses += 1,
            Done::Skipped => self.skipped += 1,
        }
    }
}

/// Runs `ops` against `path` in this process, recording progress in
/// `tally`; `Err((index, what))` is the first violation.
pub fn run_ops(
    path: &str,
    size: u64,
    device: bool,
    ops: &[Op],
    tally: &mut Tally,
) -> Result<(), (u64, String)> {
    let mut model =
        Model::new(path, size, device).map_err(|e| (0, format!("setting up the model: {e}")))?;
    for (i, op) in ops.iter().enumerate() {
        tally.index = i as u64;
        let d = model.exec(*op).map_err(|what| (i as u64, what))?;
        tally.add(d);
    }
    tally.index = ops.len() as u64;
    Ok(())
}

/// Where a child records its progress (shared with the parent).
struct Shared(*mut Tally);

impl Shared {
    fn new() -> io::Result<Self> {
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
            return Err(io::Error::last_os_error());
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
fn replay(dev: &str, size: u64, ops: &[Op]) -> io::Result<(Outcome, Tally)> {
    let mut shared = Shared::new()?;
    let mut fds = [0i32; 2];
    // SAFETY: room for both ends.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: single-threaded; the child runs the ops and `_exit`s.
    let pid = unsafe { libc::fork() };
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
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut status = 0;
    // SAFETY: waits for our child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    let mut buf = vec![0u8; 4096];
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

fn same_failure(a: &Outcome, b: &Outcome) -> bool {
    match (a, b) {
        (Outcome::Violation { what: x, .. }, Outcome::Violation { what: y, .. }) => {
            x.split(':').next() == y.split(':').next()
        }
        (Outcome::Died { status: x, .. }, Outcome::Died { status: y, .. }) => x == y,
        _ => false,
    }
}

/// Shrinks `ops` (ddmin over chunks) while the failure persists, within
/// `budget` replays. Returns the indices kept.
fn shrink(dev: &str, size: u64, ops: &[Op], failure: &Outcome, budget: usize) -> Vec<usize> {
    let mut keep: Vec<usize> = (0..ops.len()).collect();
    let mut chunks = 2usize;
    let mut used = 0;
    while keep.len() > 1 && used < budget {
        let chunk = keep.len().div_ceil(chunks);
        let mut reduced = false;
        for start in (0..keep.len()).step_by(chunk) {
            if used >= budget {
                break;
            }
            let candidate: Vec<usize> = keep[..start]
                .iter()
                .chain(keep[(start + chunk).min(keep.len())..].iter())
                .copied()
                .collect();
            if candidate.is_empty() {
                continue;
            }
            let seq: Vec<Op> = candidate.iter().map(|&i| ops[i]).collect();
            used += 1;
            if let Ok((out, _)) = replay(dev, size, &seq) {
                if same_failure(&out, failure) {
                    keep = candidate;
                    chunks = (chunks - 1).max(2);
                    reduced = true;
                    break;
                }
            }
        }
        if !reduced {
            if chunk == 1 {
                break;
            }
            chunks = (chunks * 2).min(keep.len());
        }
    }
    keep
}

/// Totals over all runs.
#[derive(Default)]
struct Totals {
    runs: u64,
    t: Tally,
}

impl Totals {
    fn add(&mut self, t: &Tally) {
        self.runs += 1;
        self.t.index += t.index;
        self.t.syscalls += t.syscalls;
        self.t.accesses += t.accesses;
        self.t.skipped += t.skipped;
    }
}

/// `maptest fuzz`.
pub fn run(opts: &Options, seed: u64, seconds: u64, calls_per_run: usize) -> io::Result<bool> {
    let file = device::open(&opts.device, false)?;
    let size = device::stats(&file)?.buffer_size;
    drop(file);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut totals = Totals::default();
    let mut s = seed;
    loop {
        let ops = generate(s, calls_per_run, size);
        let (out, tally) = replay(&opts.device, size, &ops)?;
        totals.add(&tally);
        if out != Outcome::Pass {
            let idx = match &out {
                Outcome::Violation { index, .. } | Outcome::Died { index, .. } => *index as usize,
                Outcome::Pass => 0,
            };
            println!("fuzz: FAILURE with seed {s} ({calls_per_run} operations per run): {out:?}");
            let prefix = &ops[..=idx.min(ops.len() - 1)];
            let keep = shrink(&opts.device, size, prefix, &out, 300);
            println!(
                "fuzz: shortest reproducing sequence ({} operations, replay with --seed {s} --calls {calls_per_run} --keep {}):",
                keep.len(),
                keep.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
            );
            for i in &keep {
                println!("  #{i}: {:?}", prefix[*i]);
            }
            print_summary(opts, seed, &totals, false);
            return Ok(false);
        }
        if Instant::now() >= deadline {
            break;
        }
        s = s.wrapping_add(1);
    }
    print_summary(opts, seed, &totals, true);
    Ok(true)
}

/// `maptest fuzz --seed S --calls N --keep I,J,...`: replay a sequence.
pub fn replay_kept(opts: &Options, seed: u64, calls: usize, keep: &[usize]) -> io::Result<bool> {
    let file = device::open(&opts.device, false)?;
    let size = device::stats(&file)?.buffer_size;
    drop(file);
    let ops = generate(seed, calls, size);
    let seq: Vec<Op> = keep.iter().filter_map(|&i| ops.get(i).copied()).collect();
    for (i, op) in keep.iter().zip(&seq) {
        println!("  #{i}: {op:?}");
    }
    let (out, _) = replay(&opts.device, size, &seq)?;
    println!("fuzz: replay: {out:?}");
    Ok(out == Outcome::Pass)
}

fn print_summary(opts: &Options, seed: u64, totals: &Totals, ok: bool) {
    let t = &totals.t;
    if opts.json {
        /// The `--json` record of `maptest fuzz`.
        #[derive(serde::Serialize)]
        struct Summary {
            seed: u64,
            runs: u64,
            operations: u64,
            syscalls: u64,
            accesses: u64,
            skipped: u64,
            ok: bool,
        }
        let summary = Summary {
            seed,
            runs: totals.runs,
            operations: t.index,
            syscalls: t.syscalls,
            accesses: t.accesses,
            skipped: t.skipped,
            ok,
        };
        match crate::json::line(&summary) {
            Ok(line) => println!("{line}"),
            Err(e) => eprintln!("maptest: {e}"),
        }
    } else {
        println!(
            "fuzz: seed {seed}: {} runs, {} system calls and {} loads/stores executed and checked ({} of {} operations skipped), {}",
            totals.runs,
            t.syscalls,
            t.accesses,
            t.skipped,
            t.index,
            if ok { "no contract violation" } else { "FAILED" }
        );
    }
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
        assert!(has(|o| matches!(o, Op::Lseek { .. })));
        assert!(has(|o| matches!(
            o,
            Op::Rw {
                positional: true,
                ..
            }
        )));
    }

    /// A regular file of `pages` pages, for running the model against.
    fn file(name: &str, pages: u64) -> String {
        let path = std::env::temp_dir().join(format!("maptest-fuzz-{}-{name}", std::process::id()));
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(pages * page_size() as u64).unwrap();
        path.to_string_lossy().into_owned()
    }

    /// A regular file breaks the device's contract (it takes PROT_EXEC,
    /// writable private mappings, writes past the end...): the model must
    /// catch it on every seed, quickly.
    #[test]
    fn a_regular_file_breaks_the_contract() {
        let size = 8 * page_size() as u64;
        let path = file("plain", 8);
        for seed in 1..=20 {
            let mut t = Tally::default();
            let r = run_ops(&path, size, false, &generate(seed, 400, size), &mut t);
            assert!(r.is_err(), "seed {seed}: no violation found in {t:?}");
        }
        std::fs::remove_file(path).unwrap();
    }

    /// Data is checked both ways: a file whose bytes change behind the
    /// model's back (here: the file is bigger than the model believes, so
    /// a pread at the model's end returns data instead of 0 bytes, and a
    /// pwrite there succeeds instead of ENOSPC) fails.
    #[test]
    fn bytes_and_counts_are_checked() {
        let ps = page_size() as u64;
        let path = file("bigger", 4);
        let ops = [
            Op::Open {
                mode: libc::O_RDWR,
                extra: 0,
            },
            Op::Rw {
                fd: 0,
                write: true,
                positional: false,
                len: 16,
                off: (2 * ps) as i64,
                bad_buf: false,
            },
        ];
        let mut t = Tally::default();
        let r = run_ops(&path, 2 * ps, false, &ops, &mut t);
        assert!(
            matches!(&r, Err((1, w)) if w.contains("pwrite") && w.contains("ENOSPC")),
            "{r:?}"
        );
        // Bytes: the model's shadow says zeros; write something behind its back.
        std::fs::write(&path, [7u8; 64]).unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(4 * ps).unwrap();
        let mut model = Model::new(&path, 4 * ps, false).unwrap();
        model
            .exec(Op::Open {
                mode: libc::O_RDWR,
                extra: 0,
            })
            .unwrap();
        use std::os::unix::fs::FileExt;
        f.write_at(&[9u8], 3).unwrap();
        let e = model
            .exec(Op::Rw {
                fd: 0,
                write: false,
                positional: false,
                len: 8,
                off: 0,
                bad_buf: false,
            })
            .unwrap_err();
        assert!(
            e.contains("byte 3 reads 0x09, the buffer holds 0x07"),
            "{e}"
        );
        std::fs::remove_file(path).unwrap();
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
