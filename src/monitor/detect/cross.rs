//! Near duplicates across clients (Sybil attacks: one search spread over many API keys). A
//! global ring of the last `probing_window` queries of every client, as codes with the
//! client, the answer and an exact-value hash, indexed by locality-sensitive hashing: each of
//! [`TABLES`] tables hashes [`PER_TABLE`] fixed code positions in bins of [`BIN`] code steps
//! (3 near scales) with a random offset, so near duplicates share a bucket in some table with
//! high probability; candidates are then checked exactly (every feature but a share within the
//! near scale).
//!
//! What it reports is popularity-aware: how many distinct clients sent near duplicates of this
//! query (a popular input, a shared test image or a health-check payload, is sent by many),
//! and a confident flip — another client's near duplicate answered confidently with another
//! label. The caller counts cross-client evidence only for inputs few clients send.

use super::U64Map;
use super::neardup::{order_sign, signed};
use super::space::far;
use std::collections::VecDeque;

pub const TABLES: usize = 12;
pub const PER_TABLE: usize = 8;
/// LSH bin width in code steps.
pub const BIN: i32 = 24;
/// Queries remembered per bucket (the most recent).
const PER_BUCKET: usize = 32;

struct Entry {
    id: u64,
    client: u64,
    hash: u64,
    label: u32,
    margin: f32,
    keys: [u64; TABLES],
}

/// What one query matched among other clients' recent queries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CrossObs {
    /// Distinct other clients that sent a near duplicate (or an exact copy).
    pub clients: u32,
    /// Their matching queries.
    pub rows: u32,
    /// Distinct variants among them (exact copies of one another, or of this query, once).
    pub distinct: u32,
    /// Labels the distinct variants and this query were answered with.
    pub labels: u32,
    /// Of those, the ones answered with this query's label and a top-1 margin higher by
    /// [`super::neardup::DESCENT`] or more: this query is closer to the decision boundary.
    pub higher: u32,
    /// (client, label, margin) of another client's confident answer to a near duplicate,
    /// with another label.
    pub flip: Option<(u64, u32, f32)>,
    /// The distinct variants' (other clients') answers, oldest first, each as a signed margin
    /// for this query's label.
    pub members: Vec<f32>,
}

impl CrossObs {
    /// Mann–Kendall z of the other clients' variants in the order sent, with this query's
    /// answer `now` as the newest: strongly negative for a search over several keys that keeps
    /// what lowered the answer, about N(0, 1) for variants made independently of their answers.
    pub fn trend(&self, now: f32) -> f32 {
        let all: Vec<f32> = self.members.iter().copied().chain([now]).collect();
        let mut s = 0i64;
        for i in 0..all.len() {
            for j in i + 1..all.len() {
                s += order_sign(all[j], all[i]);
            }
        }
        let n = all.len() as u64;
        super::neardup::mann_kendall_z(s, n * (n - 1) / 2, n as u32)
    }
}

pub struct CrossIndex {
    width: usize,
    cap: usize,
    tables: Vec<[usize; PER_TABLE]>,
    offsets: Vec<[i32; PER_TABLE]>,
    seed: u64,
    codes: VecDeque<Vec<i8>>,
    entries: VecDeque<Entry>,
    next_id: u64,
    buckets: U64Map<VecDeque<u64>>,
    /// Per remembered query (slot `id % cap`), the look-up that last read it: a query falls in
    /// the same buckets as its near duplicates in several tables, up to TABLES × PER_BUCKET ids
    /// a look-up, each read once.
    read: Vec<u64>,
}

impl CrossIndex {
    /// For code rows of `width`, remembering `cap` queries.
    pub fn new(width: usize, cap: usize, key: [u8; 32]) -> CrossIndex {
        let mut rng =
            crate::util::Rng::new(u64::from_le_bytes(key[16..24].try_into().unwrap_or([0; 8])));
        let w = width.max(1);
        let tables = (0..TABLES)
            .map(|_| std::array::from_fn(|_| (rng.next_u64() % w as u64) as usize))
            .collect();
        let offsets = (0..TABLES)
            .map(|_| std::array::from_fn(|_| (rng.next_u64() % BIN as u64) as i32))
            .collect();
        CrossIndex {
            width,
            cap: cap.max(1),
            tables,
            offsets,
            seed: u64::from_le_bytes(key[24..32].try_into().unwrap_or([0; 8])),
            codes: VecDeque::new(),
            entries: VecDeque::new(),
            next_id: 0,
            buckets: U64Map::default(),
            read: Vec::new(),
        }
    }

    fn keys(&self, codes: &[i8]) -> [u64; TABLES] {
        std::array::from_fn(|t| {
            let mut h = self.seed ^ (t as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            for (k, &j) in self.tables[t].iter().enumerate() {
                let c = codes.get(j).copied().unwrap_or(0) as i32 + 128 + self.offsets[t][k];
                h = (h ^ (c / BIN) as u64).wrapping_mul(0x100_0000_01b3);
            }
            h
        })
    }

    fn get(&self, id: u64) -> Option<(&Entry, &[i8])> {
        let front = self.entries.front()?.id;
        let i = id.checked_sub(front)? as usize;
        Some((self.entries.get(i)?, self.codes.get(i)?))
    }

    /// Look a query of `client` up (near duplicates: at most `allow` far features), then
    /// remember it. `confident`: the margin above which another client's answer counts for a
    /// flip.
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &mut self,
        codes: &[i8],
        client: u64,
        hash: u64,
        label: u32,
        margin: f32,
        allow: usize,
        confident: f32,
    ) -> CrossObs {
        let keys = self.keys(codes);
        // This look-up's mark (never 0, which is unread): ids live are fewer than `cap`, so
        // their slots differ.
        let mark = self.next_id + 1;
        let mut read = std::mem::take(&mut self.read);
        read.resize(self.cap, 0);
        let mut clients: Vec<u64> = Vec::new();
        let mut variants: Vec<u64> = Vec::new();
        let mut obs = CrossObs::default();
        let mut members: Vec<(u64, f32)> = Vec::new();
        let mut labels: Vec<u32> = vec![label];
        // A bucket keeps its most recent queries: one that overflowed still holds every query
        // since its oldest, and before that only the queries that also fell in sparser buckets
        // (atypical variants), so its variants are not a fair sample of their time. The trend is
        // read from the tables whose bucket for this query is complete (every variant found
        // there however old), or, when every one has overflowed, from the variants since the
        // newest of their horizons.
        let buckets: [Option<&VecDeque<u64>>; TABLES] =
            std::array::from_fn(|t| self.buckets.get(&keys[t]));
        let full: [bool; TABLES] =
            std::array::from_fn(|t| buckets[t].is_some_and(|ids| ids.len() >= PER_BUCKET));
        let all_full = full.iter().all(|&f| f);
        let horizon = if all_full {
            buckets
                .iter()
                .filter_map(|&ids| ids?.front().copied())
                .max()
                .unwrap_or(0)
        } else {
            0
        };
        // Complete tables first, so a variant found in one counts as fair.
        let order = (0..TABLES)
            .filter(|&t| !full[t])
            .chain((0..TABLES).filter(|&t| full[t]));
        for t in order {
            let fair_table = all_full || !full[t];
            let Some(ids) = buckets[t] else {
                continue;
            };
            for &id in ids {
                let slot = &mut read[(id % self.cap as u64) as usize];
                if *slot == mark {
                    continue;
                }
                *slot = mark;
                let Some((e, c)) = self.get(id) else {
                    continue;
                };
                if e.client == client {
                    continue;
                }
                let exact = e.hash == hash;
                if !exact && far(c, codes, allow) > allow {
                    continue;
                }
                obs.rows += 1;
                if !clients.contains(&e.client) {
                    clients.push(e.client);
                }
                if !exact && fair_table && id >= horizon && !variants.contains(&e.hash) {
                    variants.push(e.hash);
                    members.push((id, signed(e.label, e.margin, label)));
                    if !labels.contains(&e.label) {
                        labels.push(e.label);
                    }
                    if e.label == label && e.margin >= margin + super::neardup::DESCENT {
                        obs.higher += 1;
                    }
                }
                if !exact
                    && e.label != label
                    && e.margin >= confident
                    && obs.flip.is_none_or(|(_, _, m)| e.margin > m)
                {
                    obs.flip = Some((e.client, e.label, e.margin));
                }
            }
        }
        obs.clients = clients.len() as u32;
        obs.distinct = variants.len() as u32;
        obs.labels = labels.len() as u32;
        members.sort_unstable_by_key(|m| m.0);
        obs.members = members.into_iter().map(|(_, m)| m).collect();
        self.read = read;
        self.remember(codes, client, hash, label, margin, keys);
        obs
    }

    fn remember(
        &mut self,
        codes: &[i8],
        client: u64,
        hash: u64,
        label: u32,
        margin: f32,
        keys: [u64; TABLES],
    ) {
        let id = self.next_id;
        self.next_id += 1;
        for k in &keys {
            let ids = self.buckets.entry(*k).or_default();
            ids.push_back(id);
            if ids.len() > PER_BUCKET {
                ids.pop_front();
            }
        }
        self.entries.push_back(Entry {
            id,
            client,
            hash,
            label,
            margin,
            keys,
        });
        self.codes
            .push_back(codes[..self.width.min(codes.len())].to_vec());
        while self.entries.len() > self.cap {
            if let Some(old) = self.entries.pop_front() {
                self.codes.pop_front();
                for k in &old.keys {
                    if let Some(ids) = self.buckets.get_mut(k) {
                        ids.retain(|&i| i != old.id);
                        if ids.is_empty() {
                            self.buckets.remove(k);
                        }
                    }
                }
            }
        }
    }

    /// Queries remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(rng: &mut crate::util::Rng) -> Vec<i8> {
        (0..64)
            .map(|_| ((rng.next_u64() % 160) as i16 - 80) as i8)
            .collect()
    }

    #[test]
    fn jittered_copies_from_other_clients_are_found_and_counted_by_client() {
        let mut rng = crate::util::Rng::new(7);
        let mut x = CrossIndex::new(64, 1000, [5; 32]);
        for i in 0..500 {
            let o = x.observe(&row(&mut rng), i % 20, i, 1, 0.9, 6, 0.5);
            assert_eq!(o.rows, 0, "unrelated rows do not match");
        }
        let base = row(&mut rng);
        x.observe(&base, 100, 1000, 2, 0.95, 6, 0.5);
        // Jittered copies (every code off by up to 3 steps, FAR is 8) from 10 other clients:
        // each finds the earlier ones (recall of the hashing, checked exactly).
        let mut found = 0;
        for c in 0..10u64 {
            let v: Vec<i8> = base
                .iter()
                .map(|&b| b.saturating_add((rng.next_u64() % 7) as i8 - 3))
                .collect();
            let o = x.observe(&v, 200 + c, 2000 + c, 2, 0.9, 6, 0.5);
            found += (o.clients == c as u32 + 1) as u32;
        }
        assert!(found >= 9, "{found} of 10");
        // A copy answered with another label: a flip of the confident earlier answers.
        let o = x.observe(&base, 300, 3000, 7, 0.1, 6, 0.5);
        assert_eq!(o.flip.map(|f| f.1), Some(2));
        // The same client's own queries are not cross-client evidence.
        let o = x.observe(&base, 300, 3001, 7, 0.1, 6, 0.5);
        assert!(o.clients >= 10);
        // One query each, each read once however many of its buckets it shares.
        assert_eq!(o.rows, o.clients);
        assert!(x.len() <= 1000);
    }

    #[test]
    fn each_remembered_query_is_read_once_as_the_ring_turns() {
        // A ring of 7 (slots reused every 7 queries): 4 clients re-sending one row in turn each
        // find the other 3 latest, once each.
        let mut rng = crate::util::Rng::new(9);
        let mut x = CrossIndex::new(64, 7, [6; 32]);
        let r = row(&mut rng);
        for i in 0..100u64 {
            let o = x.observe(&r, i % 4, 1, 1, 0.9, 6, 0.5);
            if i >= 7 {
                assert_eq!((o.rows, o.clients), (6, 3), "query {i}");
            }
        }
    }

    #[test]
    fn variants_that_outlive_a_full_bucket_do_not_make_a_trend() {
        // Clients send copies of one glyph: 12 bold prints first (6 features 12 codes darker,
        // still near duplicates, answered 0.9), then 60 plain ones (answered 0.6). A bold
        // print's buckets are the plain glyph's in some tables and its own in others. The
        // plain buckets keep their 32 most recent; the bold ones' own buckets keep all 12. A new
        // bold print finds the old bold prints through those and only recent plain ones through
        // the rest: read together, the answers seem to fall in the order sent, though every
        // client answers the same.
        let mut rng = crate::util::Rng::new(9);
        let mut x = CrossIndex::new(64, 10_000, [3; 32]);
        let plain = row(&mut rng);
        let bold: Vec<i8> = plain
            .iter()
            .enumerate()
            .map(|(f, &b)| if f < 6 { b.saturating_add(12) } else { b })
            .collect();
        let (kp, kb) = (x.keys(&plain), x.keys(&bold));
        let shared = (0..TABLES).filter(|&t| kp[t] == kb[t]).count();
        assert!(shared > 0 && shared < TABLES, "{shared}");
        for i in 0..12u64 {
            x.observe(&bold, i % 5, 1000 + i, 4, 0.9, 6, 0.5);
        }
        for i in 12..72u64 {
            x.observe(&plain, i % 5, 1000 + i, 4, 0.6, 6, 0.5);
        }
        let o = x.observe(&bold, 99, 5000, 4, 0.5, 6, 0.5);
        assert!(o.clients >= 5 && o.distinct >= 12, "{o:?}");
        // Read from the bold print's complete buckets: every variant there, however old.
        assert!(o.members.iter().all(|&m| m == 0.9), "{o:?}");
        assert!(o.trend(0.5) > -2.0, "{} {o:?}", o.trend(0.5));
        // A plain print's buckets are all full: the variants since the newest horizon (the
        // plain ones and the new bold print), not the old bold ones.
        let o = x.observe(&plain, 98, 5001, 4, 0.5, 6, 0.5);
        assert!(o.distinct >= 30 && !o.members.contains(&0.9), "{o:?}");
    }
}
