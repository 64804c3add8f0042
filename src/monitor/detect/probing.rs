//! The global near-duplicate table (after Blacklight).

use super::U64Map;
use std::collections::VecDeque;

/// Hashes per fingerprint.
const HASHES: usize = 50;
/// Query ids remembered per hash value: the most recent ones (a hash shared by very many
/// queries says little, and attack queries follow each other closely).
const PER_HASH: usize = 16;

/// The global near-duplicate table.
pub struct Probing {
    key: [u8; 32],
    subsets: Vec<Vec<usize>>,
    /// Quantisation: value → bucket per feature.
    lo: Vec<f32>,
    step: Vec<f32>,
    window: usize,
    /// Remembered queries, oldest first; ids are consecutive, so id − front id is the index.
    ring: VecDeque<Stored>,
    index: U64Map<VecDeque<u64>>,
    next_id: u64,
    clusters: U64Map<Cluster>,
    /// Remembered queries per cluster (a cluster is forgotten with its last member).
    members: U64Map<usize>,
}

struct Stored {
    id: u64,
    cluster: u64,
    hashes: Vec<u64>,
}

#[derive(Clone, Debug, Default)]
pub struct Cluster {
    /// Near-duplicate queries in the cluster.
    pub near: usize,
    /// Near duplicates by client (at most 16 clients listed).
    pub clients: Vec<(String, usize)>,
}

/// What one query matched.
#[derive(Clone, Debug)]
pub struct Match {
    /// Hashes shared with the closest earlier query (0 when none).
    pub shared: usize,
    pub near_duplicate: bool,
    pub cluster: Cluster,
}

impl Probing {
    /// For inputs of `d` values; `lo`/`hi` per feature set the quantisation (256 steps per
    /// range); `window` queries are remembered.
    pub fn new(d: usize, lo: Vec<f32>, hi: Vec<f32>, window: usize, key: [u8; 32]) -> Probing {
        let mut rng =
            crate::util::Rng::new(u64::from_le_bytes(key[..8].try_into().unwrap_or([0; 8])));
        let s = (d / 8).clamp(1, 16).min(d);
        let subsets = (0..HASHES)
            .map(|_| {
                let mut idx: Vec<usize> = (0..d).collect();
                for i in (1..d).rev() {
                    idx.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
                }
                let mut sub = idx[..s].to_vec();
                sub.sort_unstable();
                sub
            })
            .collect();
        let step = lo
            .iter()
            .zip(&hi)
            .map(|(l, h)| ((h - l) / 256.0).max(1e-6))
            .collect();
        Probing {
            key,
            subsets,
            lo,
            step,
            window: window.max(1),
            ring: VecDeque::new(),
            index: U64Map::default(),
            next_id: 0,
            clusters: U64Map::default(),
            members: U64Map::default(),
        }
    }

    fn stored(&self, id: u64) -> Option<&Stored> {
        let front = self.ring.front()?.id;
        self.ring.get(id.checked_sub(front)? as usize)
    }

    fn fingerprint(&self, x: &[f32]) -> Vec<u64> {
        // Keyed xxh3 (the seed is secret), as the research note measured: SHA-256 is not
        // needed when the key is the secret.
        let seed = u64::from_le_bytes(self.key[8..16].try_into().unwrap_or([0; 8]));
        let mut buf: Vec<u8> = Vec::with_capacity(8 * 16 + 4);
        self.subsets
            .iter()
            .enumerate()
            .map(|(j, sub)| {
                buf.clear();
                buf.extend_from_slice(&(j as u32).to_le_bytes());
                for &f in sub {
                    let v = x.get(f).copied().unwrap_or(0.0);
                    let q = ((v - self.lo.get(f).copied().unwrap_or(0.0))
                        / self.step.get(f).copied().unwrap_or(1.0))
                    .floor();
                    let q = if q.is_finite() { q as i64 } else { i64::MIN };
                    buf.extend_from_slice(&q.to_le_bytes());
                }
                xxhash_rust::xxh3::xxh3_64_with_seed(&buf, seed)
            })
            .collect()
    }

    /// Look a query up, then remember it.
    pub fn observe(&mut self, x: &[f32], client: &str, threshold: usize) -> Match {
        let hashes = self.fingerprint(x);
        let mut counts: U64Map<usize> = U64Map::default();
        counts.reserve(HASHES * PER_HASH);
        for h in &hashes {
            if let Some(ids) = self.index.get(h) {
                for &id in ids {
                    *counts.entry(id).or_default() += 1;
                }
            }
        }
        let best = counts
            .into_iter()
            .max_by_key(|&(id, c)| (c, std::cmp::Reverse(id)));
        let id = self.next_id;
        self.next_id += 1;
        let (shared, near, cluster_id) = match best {
            Some((bid, c)) if c >= threshold => {
                let cl = self.stored(bid).map(|s| s.cluster).unwrap_or(bid);
                (c, true, cl)
            }
            Some((_, c)) => (c, false, id),
            None => (0, false, id),
        };
        let cluster = self.clusters.entry(cluster_id).or_default();
        if near {
            cluster.near += 1;
            if let Some((_, n)) = cluster.clients.iter_mut().find(|(c, _)| c == client) {
                *n += 1;
            } else if cluster.clients.len() < 16 {
                cluster.clients.push((client.to_string(), 1));
            }
        }
        let snapshot = cluster.clone();
        for &h in &hashes {
            let ids = self.index.entry(h).or_default();
            ids.push_back(id);
            if ids.len() > PER_HASH {
                ids.pop_front();
            }
        }
        self.ring.push_back(Stored {
            id,
            cluster: cluster_id,
            hashes,
        });
        *self.members.entry(cluster_id).or_default() += 1;
        while self.ring.len() > self.window {
            if let Some(old) = self.ring.pop_front() {
                for h in old.hashes {
                    if let Some(ids) = self.index.get_mut(&h) {
                        ids.retain(|&i| i != old.id);
                        if ids.is_empty() {
                            self.index.remove(&h);
                        }
                    }
                }
                if let Some(n) = self.members.get_mut(&old.cluster) {
                    *n -= 1;
                    if *n == 0 {
                        self.members.remove(&old.cluster);
                        self.clusters.remove(&old.cluster);
                    }
                }
            }
        }
        Match {
            shared,
            near_duplicate: near,
            cluster: snapshot,
        }
    }

    /// Queries remembered.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probing_sees_near_duplicates_across_clients_not_distinct_rows() {
        let d = 64;
        let mut p = Probing::new(d, vec![0.0; d], vec![1.0; d], 1000, [7; 32]);
        let mut rng = crate::util::Rng::new(1);
        // Distinct random rows: no near duplicates.
        for _ in 0..200 {
            let x: Vec<f32> = (0..d).map(|_| rng.unit()).collect();
            assert!(!p.observe(&x, "benign", 25).near_duplicate);
        }
        // A random search around one row, changing 2 features a query, split over 5 clients.
        let mut x: Vec<f32> = (0..d).map(|_| rng.unit()).collect();
        let mut last = Match {
            shared: 0,
            near_duplicate: false,
            cluster: Cluster::default(),
        };
        for q in 0..40 {
            for _ in 0..2 {
                let f = (rng.next_u64() % d as u64) as usize;
                x[f] = (x[f] + 0.2).min(1.0);
            }
            last = p.observe(&x, &format!("key{}", q % 5), 25);
        }
        assert!(last.near_duplicate);
        assert!(last.cluster.near >= 30, "{:?}", last.cluster);
        assert_eq!(last.cluster.clients.len(), 5);
        assert!(p.len() <= 1000);
    }
}
