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
//! 2. virtual pages -> physical frames, run by run: the report's vmalloc
//!    buffer made on fragmented memory (`after=`, its runs from
//!    `pfn_runs=`), `/dev/mapdrv`'s buffer, and a physically contiguous
//!    allocation, on one physical axis;
//! 3. residency of a fresh mapping of `/dev/mapdrv`: nothing before the first
//!    touch, exactly the touched pages after.
//!
//! Labels never cross lines: panel 1 writes them vertically below their
//! marks, pushed right where marks crowd, with a short leader above the
//! text; panel 2 writes each row's title on a line of its own.

use crate::cli::Options;
use crate::device::{self, page_size, Mapping};
use std::fmt::Write as _;
use std::io::{self, Read};

/// One report line with an address.
#[derive(Debug, PartialEq)]
pub struct Probe {
    /// e.g. `alloc_pages order=3`, or `vmalloc size=64MiB
    /// after=16-interleaved-4MiB-blocks`.
    pub label: String,
    /// `direct-map` or `vmalloc`.
    pub region: String,
    /// Kernel virtual address.
    pub virt: u64,
    /// First and last pfn.
    pub pfns: (u64, u64),
    /// The physically contiguous runs, in virtual order: first pfn,
    /// length (from `pfn_runs=`; one run from `pfns=` without it).
    pub runs: Vec<(u64, u64)>,
    /// `pfn_runs=` ended in `...`: more runs than listed.
    pub more_runs: bool,
}

fn token<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace().find_map(|t| t.strip_prefix(key))
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim_start_matches("0x").trim_end_matches(':'), 16).ok()
}

/// `0xSTART+LEN,...[,...]` as runs, and whether the list was cut.
fn parse_runs(list: &str) -> (Vec<(u64, u64)>, bool) {
    let list = list.trim_end_matches(':');
    let mut runs = Vec::new();
    let mut more = false;
    for item in list.split(',') {
        match item.split_once('+') {
            Some((a, n)) => runs.extend(hex(a).zip(n.parse().ok())),
            None => more |= item == "...",
        }
    }
    (runs, more)
}

/// Parses one report line that carries addresses.
fn parse_probe(rest: &str) -> Option<Probe> {
    let region = token(rest, "region=")?;
    let virt = token(rest, "virt=").and_then(hex)?;
    let (a, b) = token(rest, "pfns=")?
        .trim_end_matches(':')
        .split_once("..")?;
    let (a, b) = (hex(a)?, hex(b)?);
    let mut words = rest.split_whitespace();
    let mut label = format!("{} {}", words.next()?, words.next().unwrap_or(""));
    if let Some(after) = token(rest, "after=") {
        label += &format!(" after={after}");
    }
    let (runs, more_runs) = match token(rest, "pfn_runs=") {
        Some(list) => parse_runs(list),
        None => (vec![(a, b - a + 1)], false),
    };
    Some(Probe {
        label,
        region: region.to_owned(),
        virt,
        pfns: (a, b),
        runs,
        more_runs,
    })
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
        probes.extend(parse_probe(rest));
    }
    (probes, layout)
}

/// The pfn behind each page of `m` (`/proc/self/pagemap`; 0 if not present).
fn pfns_of(m: &Mapping, pages: usize) -> anyhow::Result<Vec<u64>> {
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

/// Runs of consecutive pfns, in the order given: first pfn, length.
pub fn runs_of(pfns: &[u64]) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for &p in pfns {
        match runs.last_mut() {
            Some((start, len)) if *start + *len == p => *len += 1,
            _ => runs.push((p, 1)),
        }
    }
    runs
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// What the picture shows, measured before drawing.
struct Measured {
    probes: Vec<Probe>,
    layout: Option<(u64, u64, u64)>,
    /// `/dev/mapdrv`'s frames, page by page.
    frames: Vec<u64>,
    /// Residency before any touch and after touching `touched`.
    before: Vec<bool>,
    after: Vec<bool>,
    touched: Vec<usize>,
}

/// Reads the log and measures the device.
fn measure(opts: &Options) -> anyhow::Result<Measured> {
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
    for i in 0..pages {
        let _ = map.get(i * page_size());
    }
    let frames = pfns_of(&map, pages)?;
    Ok(Measured {
        probes,
        layout,
        frames,
        before,
        after,
        touched,
    })
}

/// `maptest picture`.
pub fn run(opts: &Options) -> anyhow::Result<bool> {
    let m = measure(opts)?;
    let (w, h) = (1000.0, 1420.0);
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
    address_panel(&mut s, &m.probes, m.layout, 60.0);
    let rows = frame_rows(&m);
    frames_panel(&mut s, &rows, 700.0);
    residency_panel(&mut s, &m.before, &m.after, 1320.0);
    let _ = writeln!(s, "</svg>");
    print!("{s}");
    let ok = m.before.iter().all(|r| !r)
        && m.after
            .iter()
            .enumerate()
            .all(|(i, &r)| r == m.touched.contains(&i));
    let scattered = rows.iter().map(|r| r.runs.len()).max().unwrap_or(0);
    eprintln!(
        "maptest picture: {} probes with addresses, {} buffer pages in {} run(s), the most scattered row {} run(s), residency {}",
        m.probes.len(),
        m.frames.len(),
        runs_of(&m.frames).len(),
        scattered,
        if ok { "as expected" } else { "NOT as expected" }
    );
    Ok(ok)
}

/// Where each of `xs` (sorted) gets its label: at its own x unless that
/// is within `gap` of the previous label, then `gap` to the right of it;
/// then pulled back left (keeping the gaps) so that none passes `max`.
pub fn label_positions(xs: &[f64], gap: f64, max: f64) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::with_capacity(xs.len());
    for &x in xs {
        let at = out.last().map_or(x, |&p| x.max(p + gap));
        out.push(at);
    }
    let mut limit = max;
    for p in out.iter_mut().rev() {
        *p = p.min(limit);
        limit = *p - gap;
    }
    out
}

/// A probe's name for panel 1: the API, and its order or size (`after=`
/// and cache names are panel 2's and the log's business), so that every
/// label fits the room under its bar.
fn short_label(label: &str) -> String {
    let mut words = label.split_whitespace();
    let api = words.next().unwrap_or("?");
    match words.next() {
        Some(w) if w.starts_with("order=") || w.starts_with("size=") => format!("{api} {w}"),
        _ => api.to_owned(),
    }
}

/// Panel 1: the direct map and the vmalloc area, each probe at its offset
/// in its region (log scale), labelled vertically below the bar.
fn address_panel(s: &mut String, probes: &[Probe], layout: Option<(u64, u64, u64)>, y: f64) {
    let _ = writeln!(
        s,
        r#"<text x="20" y="{y}" font-size="14" font-weight="bold">1. Kernel virtual addresses: the direct map and the vmalloc area (offset in region, log scale)</text>"#
    );
    let regions = [
        (
            "direct-map",
            "direct map (all of RAM, linearly from PAGE_OFFSET)",
            y + 30.0,
            "#dbe9f6",
            0,
        ),
        (
            "vmalloc",
            "vmalloc area (VMALLOC_START..END)",
            y + 330.0,
            "#f6e3d0",
            1,
        ),
    ];
    for (key, title, top, color, which) in regions {
        let _ = writeln!(
            s,
            r#"<text x="24" y="{:.1}">{title}</text><rect x="20" y="{:.1}" width="960" height="30" fill="{color}" stroke="black"/>"#,
            top + 12.0,
            top + 18.0
        );
        let base = layout.map_or(0, |(d, vs, _)| [d, vs][which]);
        let mut marks: Vec<(f64, String)> = probes
            .iter()
            .filter(|p| p.region == key)
            .map(|p| {
                let off = p.virt.saturating_sub(base);
                let x = 20.0 + 960.0 * (((off + 1) as f64).log2() / 48.0).min(1.0);
                (x, format!("{} +{off:#x}", short_label(&p.label)))
            })
            .collect();
        marks.sort_by(|a, b| a.0.total_cmp(&b.0));
        let xs: Vec<f64> = marks.iter().map(|m| m.0).collect();
        let bar_bottom = top + 48.0;
        for ((x, label), lx) in marks.iter().zip(label_positions(&xs, 12.0, 975.0)) {
            // Mark in the bar, leader in the 10 px below it (no text
            // there), text from 14 px below downwards.
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{bar_bottom:.1}" stroke="#c0392b"/><line x1="{x:.1}" y1="{bar_bottom:.1}" x2="{lx:.1}" y2="{:.1}" stroke="#e6b0aa"/><text transform="translate({:.1},{:.1}) rotate(90)" font-size="10">{}</text>"##,
                top + 18.0,
                bar_bottom + 10.0,
                lx - 3.0,
                bar_bottom + 14.0,
                esc(label)
            );
        }
    }
}

/// One row of panel 2: a title and the runs behind it, in virtual order.
struct FrameRow {
    title: String,
    runs: Vec<(u64, u64)>,
}

/// The rows of panel 2: the report's vmalloc buffer made on fragmented
/// memory (if the log has it), `/dev/mapdrv`'s buffer, and the report's
/// largest physically contiguous direct-map allocation.
fn frame_rows(m: &Measured) -> Vec<FrameRow> {
    let mut rows = Vec::new();
    let scattered = m
        .probes
        .iter()
        .filter(|p| p.label.contains("after="))
        .max_by_key(|p| p.runs.len());
    if let Some(p) = scattered {
        let listed = if p.more_runs {
            " (the first 32 listed)"
        } else {
            ""
        };
        rows.push(FrameRow {
            title: format!("report: {}: {} runs{listed}", p.label, p.runs.len()),
            runs: p.runs.clone(),
        });
    }
    let mine = runs_of(&m.frames);
    rows.push(FrameRow {
        title: format!(
            "/dev/mapdrv's vmalloc buffer, {} pages (pfns from /proc/self/pagemap): {} run(s)",
            m.frames.len(),
            mine.len()
        ),
        runs: mine,
    });
    let contiguous = m
        .probes
        .iter()
        .filter(|p| p.region == "direct-map" && p.runs.len() == 1)
        .max_by_key(|p| p.pfns.1 - p.pfns.0);
    if let Some(c) = contiguous {
        rows.push(FrameRow {
            title: format!("report: {}: 1 run, physically contiguous", c.label),
            runs: c.runs.clone(),
        });
    }
    rows
}

/// Panel 2: for each row, virtual pages (top bar, run by run) joined to
/// the frames behind them (bottom bar, one physical axis for all rows), so
/// that a contiguous block is one band and a scattered buffer a fan.
fn frames_panel(s: &mut String, rows: &[FrameRow], y0: f64) {
    let _ = writeln!(
        s,
        r#"<text x="20" y="{y0}" font-size="14" font-weight="bold">2. Virtual pages (top bar) and the physical frames behind them (bottom bar, pfn order), run by run</text>"#
    );
    let ends = rows
        .iter()
        .flat_map(|r| r.runs.iter().map(|&(a, n)| (a, a + n)))
        .filter(|r| r.0 > 0);
    let (lo, hi) = ends.fold((u64::MAX, 0), |(lo, hi), (a, b)| (lo.min(a), hi.max(b)));
    let (lo, hi) = if lo >= hi { (0, 1) } else { (lo, hi) };
    let px = |pfn: u64| 20.0 + (pfn.saturating_sub(lo)) as f64 / (hi - lo) as f64 * 960.0;
    let colors = ["#58d68d", "#5dade2", "#f5b041", "#af7ac5"];
    for (r, row) in rows.iter().enumerate() {
        let top = y0 + 20.0 + r as f64 * 190.0;
        let _ = writeln!(
            s,
            r#"<text x="20" y="{:.1}">{}</text>"#,
            top + 12.0,
            esc(&row.title)
        );
        let total: u64 = row.runs.iter().map(|r| r.1).sum::<u64>().max(1);
        let (vy, py) = (top + 22.0, top + 130.0);
        let mut done = 0;
        for (i, &(start, len)) in row.runs.iter().enumerate() {
            let vx0 = 20.0 + done as f64 / total as f64 * 960.0;
            let vx1 = 20.0 + (done + len) as f64 / total as f64 * 960.0;
            // At least 2 px wide, so that a small run stays visible.
            let (p0, p1) = (px(start), px(start + len).max(px(start) + 2.0));
            let c = colors[i % colors.len()];
            let _ = writeln!(
                s,
                r##"<polygon points="{vx0:.1},{:.1} {vx1:.1},{:.1} {p1:.1},{py:.1} {p0:.1},{py:.1}" fill="{c}" fill-opacity="0.35" stroke="{c}"/><rect x="{vx0:.1}" y="{vy:.1}" width="{:.1}" height="18" fill="{c}" stroke="black" stroke-width="0.5"/><rect x="{p0:.1}" y="{py:.1}" width="{:.1}" height="18" fill="{c}" stroke="black" stroke-width="0.5"/>"##,
                vy + 18.0,
                vy + 18.0,
                vx1 - vx0,
                p1 - p0
            );
            done += len;
        }
        let _ = writeln!(
            s,
            r#"<text x="20" y="{:.1}" font-size="10">pfn {lo:#x}</text><text x="980" y="{:.1}" font-size="10" text-anchor="end">pfn {hi:#x}</text>"#,
            py + 32.0,
            py + 32.0
        );
    }
}

/// Panel 3: residency of a fresh mapping before and after touching every
/// third page.
fn residency_panel(s: &mut String, before: &[bool], after: &[bool], y3: f64) {
    let _ = writeln!(
        s,
        r#"<text x="20" y="{y3}" font-size="14" font-weight="bold">3. Residency of a fresh mapping of /dev/mapdrv (mincore): before any touch, and after touching every third page</text>"#
    );
    for (r, (title, res)) in [("before", before), ("after", after)].iter().enumerate() {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_report_lines() {
        let log = "[ 1.0] mapdrv: report: layout: direct_map_start=0xff00000000000000 vmalloc_start=0xff10000000000000 vmalloc_end=0xff1fffffffffffff
[ 1.1] mapdrv: report: alloc_pages order=3 size=32KiB gfp=GFP_KERNEL region=direct-map zone=Normal contiguous=yes pages=8 runs=1 virt=0xff00000001000000 phys=0x1000000 pfns=0x1000..0x1007: PASS
[ 1.2] mapdrv: report: alloc_pages order=11 gfp=GFP_KERNEL result=error expected=EINVAL: PASS
[ 1.3] mapdrv: report: vmalloc size=64MiB after=16-interleaved-4MiB-blocks gfp=GFP_KERNEL region=vmalloc zone=Normal contiguous=no pages=16384 runs=16 pieces=16 virt=0xff10000000100000 phys=0x2000000 pfns=0x2000..0x9fff pfn_runs=0x2000+1024,0x4000+1024,...: PASS";
        let (p, l) = parse(log);
        assert_eq!(
            l,
            Some((0xff00000000000000, 0xff10000000000000, 0xff1fffffffffffff))
        );
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].label, "alloc_pages order=3");
        assert_eq!(p[0].pfns, (0x1000, 0x1007));
        assert_eq!(p[0].runs, [(0x1000, 8)]);
        assert_eq!(p[0].region, "direct-map");
        assert_eq!(
            p[1].label,
            "vmalloc size=64MiB after=16-interleaved-4MiB-blocks"
        );
        assert_eq!(p[1].runs, [(0x2000, 1024), (0x4000, 1024)]);
        assert!(p[1].more_runs && !p[0].more_runs);
    }

    #[test]
    fn short_labels() {
        assert_eq!(short_label("alloc_pages order=3"), "alloc_pages order=3");
        assert_eq!(
            short_label("vmalloc size=64MiB after=16-interleaved-4MiB-blocks"),
            "vmalloc size=64MiB"
        );
        assert_eq!(
            short_label("kmem_cache_alloc cache=\"mapdrv_object\""),
            "kmem_cache_alloc"
        );
    }

    #[test]
    fn runs_of_pfns() {
        assert_eq!(runs_of(&[5, 6, 7, 1, 2, 9]), [(5, 3), (1, 2), (9, 1)]);
        assert_eq!(runs_of(&[]), []);
    }

    #[test]
    fn labels_keep_their_distance_and_stay_inside() {
        let xs = [10.0, 12.0, 13.0, 100.0, 995.0, 996.0];
        let at = label_positions(&xs, 12.0, 990.0);
        for w in at.windows(2) {
            assert!(w[1] - w[0] >= 12.0 - 1e-9, "{at:?}");
        }
        assert!(at.iter().all(|&x| x <= 990.0));
        assert_eq!(at[0], 10.0);
        assert_eq!(at[3], 100.0);
    }
}
