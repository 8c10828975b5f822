//! `maptest verify`: every behaviour of `/dev/mapdrv`'s contract, checked
//! against the running module (see `src/driver.rs` in the module for the
//! contract). One line per check, then `N passed, N failed`.
//!
//! Run it on a freshly loaded module, alone: it checks the initial "ok"
//! contents and exact fault counts. It puts the initial contents back at
//! the end, so it can be run again.

use crate::cli::{Expect, Options};
use crate::device::{self, page_size, Mapping};
use crate::json;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileTypeExt;

type CheckResult = Result<(), String>;

/// The outcome of one check.
struct Outcome {
    name: String,
    ok: bool,
    detail: String,
}

/// Collects and prints check results.
struct Checks {
    json: bool,
    outcomes: Vec<Outcome>,
}

impl Checks {
    fn check(&mut self, name: &str, f: impl FnOnce() -> CheckResult) {
        let (ok, detail) = match f() {
            Ok(()) => (true, String::new()),
            Err(d) => (false, d),
        };
        if !self.json {
            if ok {
                println!("PASS  {name}");
            } else {
                println!("FAIL  {name}: {detail}");
            }
        }
        self.outcomes.push(Outcome {
            name: name.to_owned(),
            ok,
            detail,
        });
    }
}

/// `Ok` if `r` failed with `errno`.
fn expect_errno<T>(r: io::Result<T>, errno: i32, what: &str) -> CheckResult {
    match r {
        Ok(_) => Err(format!("{what} succeeded, expected {}", errno_name(errno))),
        Err(e) if e.raw_os_error() == Some(errno) => Ok(()),
        Err(e) => Err(format!(
            "{what} failed with {e}, expected {}",
            errno_name(errno)
        )),
    }
}

fn errno_name(e: i32) -> &'static str {
    match e {
        libc::EINVAL => "EINVAL",
        libc::EACCES => "EACCES",
        libc::ENOSPC => "ENOSPC",
        libc::ENOTTY => "ENOTTY",
        libc::EFAULT => "EFAULT",
        _ => "another errno",
    }
}

fn ensure(cond: bool, msg: impl FnOnce() -> String) -> CheckResult {
    if cond {
        Ok(())
    } else {
        Err(msg())
    }
}

fn io(e: io::Error) -> String {
    e.to_string()
}

/// Runs `child` in a forked process and returns its exit status (0 = ok).
/// The child must not allocate locks held by other threads; `maptest` is
/// single-threaded.
fn in_child(child: impl FnOnce() -> i32) -> Result<i32, String> {
    // SAFETY: single-threaded process; the child only runs `child` and `_exit`s.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", io::Error::last_os_error()));
    }
    if pid == 0 {
        let code = child();
        // SAFETY: `_exit` skips atexit handlers and destructors, as a fork child should.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for the child we just created.
    if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
        return Err(format!("waitpid: {}", io::Error::last_os_error()));
    }
    if libc::WIFEXITED(status) {
        Ok(libc::WEXITSTATUS(status))
    } else {
        Err(format!("child died (status {status:#x})"))
    }
}

/// `maptest verify`.
pub fn verify(opts: &Options, expect: Expect) -> io::Result<bool> {
    let mut c = Checks {
        json: opts.json,
        outcomes: Vec::new(),
    };
    let ps = page_size();
    let dev = opts.device.as_str();

    c.check("the device node is a character device", || {
        let m = std::fs::metadata(dev).map_err(|e| format!("{dev}: {e}"))?;
        ensure(m.file_type().is_char_device(), || {
            format!("{dev} is not a character device")
        })
    });
    let file = match device::open(dev, true) {
        Ok(f) => f,
        Err(e) => {
            c.check("the device opens read-write", || Err(io(e)));
            return Ok(finish(&c, opts, 0));
        }
    };
    let s0 = match device::stats(&file) {
        Ok(s) => s,
        Err(e) => {
            c.check("MAPDRV_IOC_GET_STATS answers", || Err(io(e)));
            return Ok(finish(&c, opts, 0));
        }
    };
    // What the checks below expect comes from the caller (what it loaded)
    // when given; only otherwise from the module's own stats.
    let pages = expect.pages.map_or(s0.buffer_pages, u64::from) as usize;
    let size = pages * ps;
    let mode = expect.mode.unwrap_or(s0.map_mode);
    let around = expect.window.unwrap_or(s0.fault_around_pages).max(1) as usize;
    c.check(
        &format!(
            "the module runs what the test loaded ({})",
            if expect == Expect::default() {
                "nothing stated: taken from its stats".to_owned()
            } else {
                format!("{expect:?}")
            }
        ),
        || {
            let got = (
                s0.buffer_pages,
                s0.buffer_size,
                s0.map_mode,
                s0.fault_around_pages,
            );
            // The module reports a window only in fault-around mode (0 otherwise).
            let window = if mode == crate::abi::map_mode::FAULT_AROUND {
                expect.window.unwrap_or(s0.fault_around_pages)
            } else {
                0
            };
            let want = (pages as u64, size as u64, mode, window);
            ensure(got == want, || {
                format!("stats say (pages, size, mode, window) = {got:?}, the test loaded {want:?}")
            })
        },
    );
    c.check(
        "MAPDRV_IOC_GET_STATS answers with this ABI version and the full struct",
        || {
            ensure(
                s0.size as usize == std::mem::size_of::<crate::abi::MapdrvStats>(),
                || {
                    format!(
                        "size {} != {}",
                        s0.size,
                        std::mem::size_of::<crate::abi::MapdrvStats>()
                    )
                },
            )
        },
    );
    c.check(
        "a version 1 caller (MAPDRV_IOC_GET_STATS_V1) gets the version 1 prefix",
        || {
            let mut v1 = [0u8; crate::abi::MAPDRV_STATS_V1_SIZE + 8];
            v1[crate::abi::MAPDRV_STATS_V1_SIZE..].fill(0xa5);
            // SAFETY: the ioctl writes MAPDRV_STATS_V1_SIZE bytes at the
            // pointer, which has room for them (and 8 canary bytes).
            let r = unsafe {
                libc::ioctl(
                    std::os::fd::AsRawFd::as_raw_fd(&file),
                    crate::abi::MAPDRV_IOC_GET_STATS_V1 as _,
                    v1.as_mut_ptr(),
                )
            };
            let version = u32::from_ne_bytes(v1[..4].try_into().unwrap());
            let size = u32::from_ne_bytes(v1[4..8].try_into().unwrap());
            let buffer_size = u64::from_ne_bytes(v1[8..16].try_into().unwrap());
            // Labelled as what was copied: version 1, 112 bytes.
            ensure(
                r == 0
                    && version == 1
                    && size as usize == crate::abi::MAPDRV_STATS_V1_SIZE
                    && buffer_size == s0.buffer_size
                    && v1[crate::abi::MAPDRV_STATS_V1_SIZE..]
                        .iter()
                        .all(|&b| b == 0xa5),
                || {
                    format!(
                        "ioctl {r}, version {version}, size {size}, buffer_size {buffer_size}, canary {:?}",
                        &v1[crate::abi::MAPDRV_STATS_V1_SIZE..]
                    )
                },
            )
        },
    );
    c.check("the buffer is buffer_pages whole pages", || {
        ensure(pages > 0 && size == pages * ps, || {
            format!("{size} bytes, {pages} pages")
        })
    });
    let mut initial = vec![0u8; size];
    initial[..2].copy_from_slice(b"ok");
    c.check("the buffer reads \"ok\", NUL, then zeros (pread)", || {
        let got = device::pread(&file, size, 0).map_err(io)?;
        ensure(got == initial, || {
            let first_bad = got
                .iter()
                .zip(&initial)
                .position(|(a, b)| a != b)
                .unwrap_or(got.len());
            format!(
                "{} bytes read, first difference at byte {first_bad}",
                got.len()
            )
        })
    });

    // The classic maptest and the protections that stick.
    let ro = File::open(dev).map_err(|e| io::Error::new(e.kind(), format!("{dev}: {e}")))?;
    c.check(
        "classic: a read-only MAP_PRIVATE mapping reads \"ok\"",
        || {
            let m = Mapping::new(&ro, ps, libc::PROT_READ, libc::MAP_PRIVATE, 0).map_err(io)?;
            let s = device::c_string(&m.read_bytes(16));
            ensure(s == "ok", || format!("read \"{s}\""))
        },
    );
    c.check(
        "mprotect(PROT_WRITE) on a read-only MAP_PRIVATE mapping fails with EACCES",
        || {
            let m = Mapping::new(&file, ps, libc::PROT_READ, libc::MAP_PRIVATE, 0).map_err(io)?;
            expect_errno(
                m.protect(libc::PROT_READ | libc::PROT_WRITE),
                libc::EACCES,
                "mprotect",
            )
        },
    );
    c.check("mprotect(PROT_EXEC) on a mapping fails with EACCES", || {
        let m = Mapping::new(&file, ps, libc::PROT_READ, libc::MAP_SHARED, 0).map_err(io)?;
        expect_errno(
            m.protect(libc::PROT_READ | libc::PROT_EXEC),
            libc::EACCES,
            "mprotect",
        )
    });
    // The next five requests are the driver's own refusals (the core lets
    // them through to `mmap`): each must be counted in `mmaps_refused`.
    let refused0 = device::stats(&file).map(|s| s.mmaps_refused);
    c.check("a writable MAP_PRIVATE mmap fails with EINVAL", || {
        expect_errno(
            Mapping::new(
                &file,
                ps,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE,
                0,
            ),
            libc::EINVAL,
            "mmap",
        )
    });
    c.check("a PROT_EXEC mmap fails with EINVAL", || {
        expect_errno(
            Mapping::new(
                &file,
                ps,
                libc::PROT_READ | libc::PROT_EXEC,
                libc::MAP_SHARED,
                0,
            ),
            libc::EINVAL,
            "mmap",
        )
    });
    c.check("an mmap longer than the buffer fails with EINVAL", || {
        expect_errno(
            Mapping::new(&file, size + ps, libc::PROT_READ, libc::MAP_SHARED, 0),
            libc::EINVAL,
            "mmap",
        )
    });
    c.check("an mmap at offset == size fails with EINVAL", || {
        expect_errno(
            Mapping::new(&file, ps, libc::PROT_READ, libc::MAP_SHARED, size),
            libc::EINVAL,
            "mmap",
        )
    });
    c.check("an mmap crossing the end fails with EINVAL", || {
        expect_errno(
            Mapping::new(&file, 2 * ps, libc::PROT_READ, libc::MAP_SHARED, size - ps),
            libc::EINVAL,
            "mmap",
        )
    });
    c.check(
        "the driver refused those five mmaps itself and counted each (mmaps_refused)",
        || {
            let before = refused0.as_ref().map_err(|e| e.to_string())?;
            let after = device::stats(&file).map_err(io)?.mmaps_refused;
            ensure(after - before == 5, || {
                format!("mmaps_refused went from {before} to {after}")
            })
        },
    );
    c.check(
        "an mmap of just the last page works and reads like pread",
        || {
            let m = Mapping::new(&file, ps, libc::PROT_READ, libc::MAP_SHARED, size - ps)
                .map_err(io)?;
            let want = device::pread(&file, ps, (size - ps) as u64).map_err(io)?;
            ensure(m.read_bytes(ps) == want, || "contents differ".into())
        },
    );
    c.check(
        "a shared writable mmap of an O_RDONLY fd fails with EACCES",
        || {
            expect_errno(
                Mapping::new(
                    &ro,
                    ps,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    0,
                ),
                libc::EACCES,
                "mmap",
            )
        },
    );

    // Laziness: the fault handler maps one page per first touch (the
    // default mode), the aligned window around it (fault-around), or
    // everything at mmap (eager). `window(p)` is what touching page p maps.
    let window = |p: usize| -> std::ops::Range<usize> {
        match mode {
            crate::abi::map_mode::FAULT_AROUND => {
                let lo = p - p % around;
                lo..(lo + around).min(pages)
            }
            crate::abi::map_mode::EAGER => 0..pages,
            _ => p..p + 1,
        }
    };
    let mode_name = crate::abi::map_mode::NAMES
        .get(mode as usize)
        .copied()
        .unwrap_or("unknown");
    let map = Mapping::new(
        &file,
        size,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_SHARED,
        0,
    );
    let map = match map {
        Ok(m) => m,
        Err(e) => {
            c.check(
                "a read-write MAP_SHARED mapping of the whole buffer works",
                || Err(io(e)),
            );
            return Ok(finish(&c, opts, size));
        }
    };
    let expect = |touched: &[usize]| -> Vec<bool> {
        let mut want = vec![mode == crate::abi::map_mode::EAGER; pages];
        for &p in touched {
            for i in window(p) {
                want[i] = true;
            }
        }
        want
    };
    c.check(
        &format!("{mode_name} mode: a fresh mapping has exactly the pages mmap maps resident (none unless eager)"),
        || {
            let rss = map.rss_kb().map_err(io)?;
            let res = map.resident().map_err(io)?;
            let want = expect(&[]);
            let n = want.iter().filter(|r| **r).count();
            ensure(rss == (n * ps / 1024) as u64 && res == want, || {
                format!(
                    "Rss {rss} kB, {} pages resident, want {n}",
                    res.iter().filter(|r| **r).count()
                )
            })
        },
    );
    c.check(
        &format!("{mode_name} mode: each first touch maps exactly its page or window (Rss, mincore, fault count)"),
        || {
            let mut order = vec![0, pages / 2, pages - 1];
            order.dedup();
            let f0 = device::stats(&file).map_err(io)?.faults;
            let mut want_faults = 0;
            for (k, &p) in order.iter().enumerate() {
                let before = expect(&order[..k]);
                if !before[p] {
                    want_faults += 1;
                }
                let _ = map.get(p * ps + 1);
                let _ = map.get(p * ps + 2); // same page again: no new fault
                let rss = map.rss_kb().map_err(io)?;
                let res = map.resident().map_err(io)?;
                let faults = device::stats(&file).map_err(io)?.faults - f0;
                let want_res = expect(&order[..=k]);
                let n = want_res.iter().filter(|r| **r).count();
                if rss != (n * ps / 1024) as u64 || res != want_res || faults != want_faults {
                    return Err(format!(
                        "after touching page {p}: Rss {rss} kB, resident {:?}, {faults} faults (want {n} pages, {want_faults} faults)",
                        res.iter()
                            .enumerate()
                            .filter(|(_, r)| **r)
                            .map(|(i, _)| i)
                            .collect::<Vec<_>>()
                    ));
                }
            }
            Ok(())
        },
    );
    c.check(
        "writes through the mapping are seen by pread, and pwrite through the mapping",
        || {
            map.set(size - 1, 0x5a);
            let back = device::pread(&file, 1, (size - 1) as u64).map_err(io)?;
            ensure(back == [0x5a], || format!("pread saw {back:?}"))?;
            device::pwrite(&file, b"\x77", 3).map_err(io)?;
            ensure(map.get(3) == 0x77, || {
                format!("mapping saw {:#x}", map.get(3))
            })
        },
    );
    c.check(
        "two mappings at different offsets alias the same pages",
        || {
            let off = if pages >= 2 { 1 } else { 0 };
            let other = Mapping::new(
                &file,
                ps,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                off * ps,
            )
            .map_err(io)?;
            other.set(7, 0xa1);
            ensure(map.get(off * ps + 7) == 0xa1, || {
                "write through the second mapping not seen".into()
            })?;
            map.set(off * ps + 8, 0xa2);
            ensure(other.get(8) == 0xa2, || {
                "write through the first mapping not seen".into()
            })
        },
    );
    c.check(
        "a fork child's writes through the inherited mapping reach the parent",
        || {
            let code = in_child(|| {
                map.set(9, 0xc1);
                0
            })?;
            ensure(code == 0 && map.get(9) == 0xc1, || {
                format!("child exit {code}, byte {:#x}", map.get(9))
            })
        },
    );
    c.check(
        "another process's own open and mmap alias the same buffer",
        || {
            map.set(10, 0xd1);
            let code = in_child(|| {
                let Ok(f) = device::open(dev, true) else {
                    return 2;
                };
                let Ok(m) = Mapping::new(
                    &f,
                    ps,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    0,
                ) else {
                    return 3;
                };
                if m.get(10) != 0xd1 {
                    return 4;
                }
                m.set(11, 0xd2);
                0
            })?;
            ensure(code == 0 && map.get(11) == 0xd2, || {
                format!("child exit {code}, byte {:#x}", map.get(11))
            })
        },
    );
    c.check(
        "live_mappings and open_files count mappings (fork copies too) and fds",
        || {
            let s1 = device::stats(&file).map_err(io)?;
            let extra =
                Mapping::new(&file, ps, libc::PROT_READ, libc::MAP_SHARED, 0).map_err(io)?;
            let s2 = device::stats(&file).map_err(io)?;
            let base = s2.live_mappings;
            let code = in_child(|| {
                // The child's copies of every mapping count too.
                match device::stats(&file) {
                    Ok(s) if s.live_mappings >= base * 2 => 0,
                    _ => 1,
                }
            })?;
            drop(extra);
            let s3 = device::stats(&file).map_err(io)?;
            let f2 = device::open(dev, false).map_err(io)?;
            let s4 = device::stats(&file).map_err(io)?;
            drop(f2);
            let s5 = device::stats(&file).map_err(io)?;
            ensure(
                s2.live_mappings == s1.live_mappings + 1
                    && code == 0
                    && s3.live_mappings == s1.live_mappings
                    && s4.open_files == s3.open_files + 1
                    && s5.open_files == s3.open_files,
                || {
                    format!(
                        "mappings {} -> {} -> {}, fork child {code}, open files {} -> {} -> {}",
                        s1.live_mappings,
                        s2.live_mappings,
                        s3.live_mappings,
                        s3.open_files,
                        s4.open_files,
                        s5.open_files
                    )
                },
            )
        },
    );
    c.check("a mapping keeps working after its fd is closed", || {
        let f = device::open(dev, true).map_err(io)?;
        let m = Mapping::new(
            &f,
            ps,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            0,
        )
        .map_err(io)?;
        drop(f);
        m.set(12, 0xe1);
        ensure(map.get(12) == 0xe1, || "write after close not seen".into())
    });
    c.check("growing a mapping with mremap fails", || {
        let mut m = Mapping::new(&file, ps, libc::PROT_READ, libc::MAP_SHARED, 0).map_err(io)?;
        match m.remap(2 * ps) {
            Ok(()) => Err("mremap grew the mapping".into()),
            Err(_) => Ok(()),
        }
    });

    // read/write/lseek at the end.
    c.check("pread at or past the end returns 0 bytes", || {
        let a = device::pread(&file, 16, size as u64).map_err(io)?;
        let b = device::pread(&file, 16, (size + 5 * ps) as u64).map_err(io)?;
        ensure(a.is_empty() && b.is_empty(), || {
            format!("{} and {} bytes", a.len(), b.len())
        })
    });
    c.check("a pread crossing the end is short", || {
        let a = device::pread(&file, 100, (size - 10) as u64).map_err(io)?;
        ensure(a.len() == 10, || format!("{} bytes", a.len()))
    });
    c.check("pwrite at the end fails with ENOSPC", || {
        expect_errno(
            device::pwrite(&file, b"x", size as u64),
            libc::ENOSPC,
            "pwrite",
        )
    });
    c.check("a pwrite crossing the end is short", || {
        let n = device::pwrite(&file, &[0u8; 100], (size - 10) as u64).map_err(io)?;
        ensure(n == 10, || format!("{n} bytes written"))
    });
    c.check(
        "lseek(SEEK_END) is the buffer size; past it is EINVAL",
        || {
            use std::io::{Seek, SeekFrom};
            let mut f = &file;
            let end = f.seek(SeekFrom::End(0)).map_err(io)?;
            ensure(end == size as u64, || format!("SEEK_END gave {end}"))?;
            expect_errno(
                f.seek(SeekFrom::Start((size + 1) as u64)),
                libc::EINVAL,
                "lseek",
            )
        },
    );
    c.check("an unknown ioctl fails with ENOTTY", || {
        use std::os::fd::AsRawFd;
        // SAFETY: an ioctl number the driver does not know; no argument is read.
        let r = unsafe { libc::ioctl(file.as_raw_fd(), 0x4d63 as _, 0) };
        expect_errno(
            if r < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            },
            libc::ENOTTY,
            "ioctl",
        )
    });

    for (name, r) in crate::contents::run(&file, dev, pages, ps) {
        c.check(&name, || r);
    }

    drop(map);
    // Put the initial contents back, so that verify can run again.
    c.check("the initial contents can be restored with pwrite", || {
        let n = device::pwrite(&file, &initial, 0).map_err(io)?;
        ensure(n == size, || format!("{n} bytes written"))
    });
    Ok(finish(&c, opts, size))
}

fn finish(c: &Checks, opts: &Options, size: usize) -> bool {
    let passed = c.outcomes.iter().filter(|o| o.ok).count();
    let failed = c.outcomes.len() - passed;
    if opts.json {
        let items: Vec<String> = c
            .outcomes
            .iter()
            .map(|o| {
                format!(
                    "{{\"name\":{},\"ok\":{},\"detail\":{}}}",
                    json::string(&o.name),
                    o.ok,
                    json::string(&o.detail)
                )
            })
            .collect();
        println!(
            "{{\"device\":{},\"buffer_size\":{size},\"checks\":[{}],\"passed\":{passed},\"failed\":{failed}}}",
            json::string(&opts.device),
            items.join(",")
        );
    } else {
        println!("{passed} passed, {failed} failed");
    }
    failed == 0 && passed > 0
}
