//! Ranking the capture positions of a split capture's workers
//! (`cvipsniff.split_analysis.rank`, the reference it must equal): each worker's keys come
//! in capture order, and a key's rank among all workers' keys is the global number of
//! what it stands for (a message, a transaction). The reference sorts every key and walks
//! the sorted list in Python, a few hundred thousand steps on a large capture while the
//! workers wait; here the sorted runs are merged once.

/// Per run, the 1-based rank of each of its keys among all runs' keys, ties between runs
/// going to the lower run (the callers' keys hold their run's index in their low bits, so
/// keys of two runs are never equal); None where a run is not in non-decreasing order (the
/// caller's keys are not what it said: it ranks them the slow way, which says so).
pub fn rank_runs(runs: &[&[u64]]) -> Option<Vec<Vec<u64>>> {
    if runs.iter().any(|run| run.windows(2).any(|pair| pair[0] > pair[1])) {
        return None;
    }
    let mut out: Vec<Vec<u64>> = runs.iter().map(|run| Vec::with_capacity(run.len())).collect();
    let mut heads = vec![0usize; runs.len()];
    let total: usize = runs.iter().map(|run| run.len()).sum();
    for rank in 1..=total as u64 {
        // Few runs (one per worker): the smallest head by a scan.
        let mut best: Option<(usize, u64)> = None;
        for (index, run) in runs.iter().enumerate() {
            if let Some(&key) = run.get(heads[index]) {
                if best.is_none_or(|(_, smallest)| key < smallest) {
                    best = Some((index, key));
                }
            }
        }
        let (index, _) = best?; // unreachable: `total` keys remain until the last rank
        out[index].push(rank);
        heads[index] += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testrand::XorShift;

    /// The reference's way: sort every (key, run, place) and number them in that order.
    fn by_sorting(runs: &[&[u64]]) -> Vec<Vec<u64>> {
        let mut all: Vec<(u64, usize, usize)> = runs.iter().enumerate()
            .flat_map(|(r, run)| run.iter().enumerate().map(move |(i, &k)| (k, r, i)))
            .collect();
        all.sort_unstable();
        let mut out: Vec<Vec<u64>> = runs.iter().map(|run| vec![0; run.len()]).collect();
        for (rank, (_, r, i)) in all.into_iter().enumerate() {
            out[r][i] = rank as u64 + 1;
        }
        out
    }

    #[test]
    fn merged_runs_rank_as_sorting_everything() {
        let mut rng = XorShift::new(17);
        for _ in 0..300 {
            let workers = 1 + rng.next() % 4;
            let mut runs: Vec<Vec<u64>> = vec![Vec::new(); workers as usize];
            let mut frame = 0u64;
            for _ in 0..rng.next() % 200 {
                frame += rng.next() % 3; // several of one frame, and frames skipped
                let worker = rng.next() % workers;
                runs[worker as usize].push(frame << 8 | worker);
            }
            let views: Vec<&[u64]> = runs.iter().map(Vec::as_slice).collect();
            assert_eq!(rank_runs(&views), Some(by_sorting(&views)));
        }
    }

    #[test]
    fn a_run_out_of_order_is_declined() {
        assert_eq!(rank_runs(&[&[1 << 8, 3 << 8], &[2 << 8 | 1, 1 << 8 | 1]]), None);
        assert_eq!(rank_runs(&[&[], &[]]), Some(vec![vec![], vec![]]));
        assert_eq!(rank_runs(&[]), Some(vec![]));
        assert_eq!(rank_runs(&[&[5, 5, 7], &[6]]), Some(vec![vec![1, 2, 4], vec![3]]));
    }
}
