//! `maptest picture`: an SVG of what the kernel's allocators really
//! returned, drawn from a live run.
//!
//! Input on stdin: the kernel log of a `modprobe mapdrv show_addresses=1`
//! (the `mapdrv: report:` lines). Measured here: the physical frames behind
//! `/dev/mapdrv`'s vmalloc buffer, page by page (`/proc/self/pagemap`, which
//! shows pfns to root), and the mapping's residency (`mincore`) before and
//! after touching some pages. Output: SVG on stdout. Three panels:
//! 1. the kernel address space: the direct map and the vmalloc area, with
//!    each probed allocation placed at its offset in its region (log scale);
//! 2. virtual pages -> physical frames: the vmalloc buffer next to a
//!    physically contiguous allocation of similar size from the report;
//! 3. residency of a fresh mapping of `/dev/mapdrv`: nothing before the first
//!    touch, exactly the touched pages after.

use crate::cli::Options;
use crate::device::{self, page_size, Mapping};
use std::fmt::Write as _;
use std::io::{self, Read};

/// One report line with an address.
#[derive(Debug, PartialEq)]
pub struct Probe {
    /// e.g. `alloc_pages order=3`.
    pub label: String,
    /// `direct-map` or `vmalloc`.
    pub region: String,
    /// Kernel virtual address.
    pub virt: u64,
    /// First and last pfn.
    pub pfns: (u64, u64),
}

fn token<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace().find_map(|t| t.strip_prefix(key))
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim_start_matches("0x").trim_end_matches(':'), 16).ok()
}

/// Parses the report lines that carry addresses, and the layout line.
pub fn parse(log: &str) -> (Vec<Probe>, Option<(u64, u64, u64)>) {
    let mut probes = Vec::new();
    let mut layout = None;
    for line in log.lines() {
        let Some(rest) = line.split("mapdrv: report: ").nth(1) else {
            continue;
        };
        if rest.starts_with("layout:") {
            if let (Some(d), Some(vs), Some(ve)) = (
                token(rest, "direct_map_start=").and_then(hex),
                token(rest, "vmalloc_start=").and_then(hex),
                token(rest, "vmalloc_end=").and_then(hex),
            ) {
                layout = Some((d, vs, ve));
            }
            continue;
        }
        let (Some(region), Some(virt), Some(pfns)) = (
            token(rest, "region="),
            token(rest, "virt=").and_then(hex),
            token(rest, "pfns="),
        ) else {
            continue;
        };
        let Some((a, b)) = pfns.trim_end_matches(':').split_once("..") else {
            continue;
        };
        let (Some(a), Some(b)) = (hex(a), hex(b)) else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let label = format!(
            "{} {}",
            words.next().unwrap_or("?"),
            words.next().unwrap_or("")
        );
        probes.push(Probe {
            label,
            region: region.to_owned(),
            virt,
            pfns: (a, b),
        });
    }
    (probes, layout)
}

/// The pfn behind each page of `m` (`/proc/self/pagemap`; 0 if not present).
fn pfns_of(m: &Mapping, pages: usize) -> io::Result<Vec<u64>> {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open("/proc/self/pagemap")?;
    let mut out = Vec::new();
    for i in 0..pages {
        let va = (m.addr() + i * page_size()) as u64;
        let mut e = [0u8; 8];
        f.read_exact_at(&mut e, va / page_size() as u64 * 8)?;
        let e = u64::from_le_bytes(e);
        out.push(if e >> 63 == 1 { e & ((1 << 55) - 1) } else { 0 });
    }
    Ok(out)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `maptest picture`.
pub fn run(opts: &Options) -> io::Result<bool> {
    let mut log = String::new();
    io::stdin().read_to_string(&mut log)?;
    let (probes, layout) = parse(&log);
    let file = device::open(&opts.device, true)?;
    let size = device::stats(&file)?.buffer_size as usize;
    let pages = size / page_size();
    let map = Mapping::new(&file, size, libc::PROT_READ, libc::MAP_SHARED, 0)?;
    let before = map.resident()?;
    let touched: Vec<usize> = (0..pages).filter(|i| i % 3 == 0).collect();
    for &i in &touched {
        let _ = map.get(i * page_size());
    }
    let after = map.resident()?;
    let _ = map.get(0);
    for i in 0..pages {
        let _ = map.get(i * page_size());
    }
    let frames = pfns_of(&map, pages)?;

    let (w, h) = (1000, 885);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="20" y="28" font-size="18" font-weight="bold">mapdrv: where the kernel's allocators put things (a live run)</text>"#
    );

    // Panel 1: address space.
    let _ = writeln!(
        s,
        r#"<text x="20" y="60" font-size="14" font-weight="bold">1. Kernel virtual addresses: the direct map and the vmalloc area (offset in region, log scale)</text>"#
    );
    let regions = [
        (
            "direct-map",
            "direct map (all RAM, PAGE_OFFSET + phys)",
            80.0,
            "#dbe9f6",
        ),
        (
            "vmalloc",
            "vmalloc area (VMALLOC_START..END)",
            330.0,
            "#f6e3d0",
        ),
    ];
    for (key, title, y, color) in regions {
        let _ = writeln!(
            s,
            r#"<rect x="20" y="{y}" width="960" height="40" fill="{color}" stroke="black"/><text x="24" y="{}">{title}</text>"#,
            y - 4.0
        );
        let base = match (key, layout) {
            ("direct-map", Some((d, _, _))) => d,
            ("vmalloc", Some((_, vs, _))) => vs,
            _ => 0,
        };
        for (n, p) in probes.iter().filter(|p| p.region == key).enumerate() {
            let off = p.virt.saturating_sub(base) as f64 + 1.0;
            let x = 20.0 + 960.0 * (off.log2() / 48.0).min(1.0);
            // One label per line under the region (two columns), with a
            // leader from the mark to the label.
            let ly = y + 56.0 + 12.0 * (n % 14) as f64;
            let lx = 520.0 + 240.0 * (n / 14) as f64 - 500.0 * ((n / 14) == 0) as u8 as f64;
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{y}" x2="{x:.1}" y2="{}" stroke="#c0392b"/><line x1="{x:.1}" y1="{}" x2="{lx:.1}" y2="{:.1}" stroke="#e6b0aa"/><text x="{:.1}" y="{ly:.1}" font-size="10">{} at +{:#x}</text>"##,
                y + 40.0,
                y + 40.0,
                ly - 4.0,
                lx + 2.0,
                esc(&p.label),
                p.virt.saturating_sub(base)
            );
        }
    }

    // Panel 2: frames.
    let y0 = 445.0;
    let _ = writeln!(
        s,
        r#"<text x="20" y="{y0}" font-size="14" font-weight="bold">2. Virtual pages (top) and the physical frames behind them (bottom, pfn order)</text>"#
    );
    let contiguous = probes
        .iter()
        .filter(|p| p.region == "direct-map" && p.pfns.1 > p.pfns.0)
        .min_by_key(|p| ((p.pfns.1 - p.pfns.0 + 1) as i64 - pages as i64).abs());
    let mut rows: Vec<(String, Vec<u64>)> = vec![(
        format!("/dev/mapdrv's vmalloc buffer ({pages} pages, pfns from /proc/self/pagemap)"),
        frames.clone(),
    )];
    if let Some(c) = contiguous {
        rows.push((
            format!("{} (report pfns)", c.label),
            (c.pfns.0..=c.pfns.1).collect(),
        ));
    }
    // One physical axis for both rows, so that a contiguous block shows
    // as one compact group and a scattered buffer as spread-out frames.
    let all: Vec<u64> = rows
        .iter()
        .flat_map(|(_, p)| p.iter().copied())
        .filter(|&p| p > 0)
        .collect();
    let lo = all.iter().copied().min().unwrap_or(0);
    let hi = all.iter().copied().max().unwrap_or(0).max(lo + 1);
    let span = (hi - lo + 1) as f64;
    let fw = (900.0 / span).clamp(2.0, 60.0);
    for (r, (title, pfns)) in rows.iter().enumerate() {
        let top = y0 + 20.0 + r as f64 * 150.0;
        let _ = writeln!(
            s,
            r#"<text x="20" y="{:.1}">{}</text>"#,
            top + 12.0,
            esc(title)
        );
        let bw = (900.0 / pfns.len().max(1) as f64).min(60.0);
        let runs = pfns.windows(2).filter(|w| w[1] != w[0] + 1).count() + 1;
        let _ = writeln!(
            s,
            r#"<text x="640" y="{:.1}">{} physically contiguous run(s)</text>"#,
            top + 12.0,
            runs
        );
        for (i, &pfn) in pfns.iter().enumerate() {
            let x = 20.0 + i as f64 * bw;
            let px = 20.0 + (pfn.saturating_sub(lo)) as f64 / span * (900.0 - fw);
            let _ = writeln!(
                s,
                r##"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="22" fill="#dbe9f6" stroke="black"/><rect x="{px:.1}" y="{:.1}" width="{:.1}" height="22" fill="#58d68d" stroke="black" stroke-width="0.5"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#555"/>"##,
                top + 20.0,
                bw - 1.0,
                top + 100.0,
                fw,
                x + bw / 2.0,
                top + 42.0,
                px + fw / 2.0,
                top + 100.0
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="20" y="{:.1}" font-size="10">pfn {lo:#x}</text><text x="840" y="{:.1}" font-size="10">pfn {hi:#x}</text>"#,
            top + 136.0,
            top + 136.0
        );
    }

    // Panel 3: residency.
    let y3 = 785.0;
    let _ = writeln!(
        s,
        r#"<text x="20" y="{y3}" font-size="14" font-weight="bold">3. Residency of a fresh mapping of /dev/mapdrv (mincore): before any touch, and after touching every third page</text>"#
    );
    for (r, (title, res)) in [("before", &before), ("after", &after)].iter().enumerate() {
        let y = y3 + 12.0 + r as f64 * 40.0;
        let _ = writeln!(s, r#"<text x="20" y="{:.1}">{title}</text>"#, y + 16.0);
        let bw = (860.0 / res.len().max(1) as f64).min(40.0);
        for (i, &on) in res.iter().enumerate() {
            let fill = if on { "#2e86c1" } else { "#f2f3f4" };
            let _ = writeln!(
                s,
                r#"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="24" fill="{fill}" stroke="black"/>"#,
                80.0 + i as f64 * bw,
                bw - 1.0
            );
        }
    }
    let _ = writeln!(s, "</svg>");
    print!("{s}");
    let ok = before.iter().all(|r| !r)
        && after
            .iter()
            .enumerate()
            .all(|(i, &r)| r == touched.contains(&i));
    eprintln!(
        "maptest picture: {} probes with addresses, {} buffer pages in {} run(s), residency {}",
        probes.len(),
        pages,
        frames.windows(2).filter(|w| w[1] != w[0] + 1).count() + 1,
        if ok { "as expected" } else { "NOT as expected" }
    );
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_report_lines() {
        let log = "[ 1.0] mapdrv: report: layout: direct_map_start=0xff00000000000000 vmalloc_start=0xff10000000000000 vmalloc_end=0xff1fffffffffffff
[ 1.1] mapdrv: report: alloc_pages order=3 size=32KiB gfp=GFP_KERNEL region=direct-map zone=Normal contiguous=yes pages=8 runs=1 virt=0xff00000001000000 phys=0x1000000 pfns=0x1000..0x1007: PASS
[ 1.2] mapdrv: report: alloc_pages order=11 gfp=GFP_KERNEL result=error expected=EINVAL: PASS";
        let (p, l) = parse(log);
        assert_eq!(
            l,
            Some((0xff00000000000000, 0xff10000000000000, 0xff1fffffffffffff))
        );
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].label, "alloc_pages order=3");
        assert_eq!(p[0].pfns, (0x1000, 0x1007));
        assert_eq!(p[0].region, "direct-map");
    }
}
