//! Shrinking a failing sequence (ddmin over chunks of operations).

use super::ops::Op;
use super::run::{replay, Outcome};

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
pub(super) fn shrink(
    dev: &str,
    size: u64,
    ops: &[Op],
    failure: &Outcome,
    budget: usize,
) -> Vec<usize> {
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
