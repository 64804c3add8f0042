//! Distinct inputs a client was answered: a HyperLogLog sketch (Flajolet et al. 2007) of
//! 1,024 one-byte registers, about 3 % standard error, fixed size, and mergeable (the register
//! maximum), so it can be kept per client anywhere and combined across replicas.

const P: u32 = 10;
const M: usize = 1 << P;

#[derive(Clone, Debug)]
pub struct Hll {
    registers: Box<[u8; M]>,
    /// Σ 2^−r over the registers, exactly, in units of 2^−64 (a register is at most 55), the
    /// empty registers and the largest: kept as registers change, so an estimate does not read
    /// all 1,024 (it is asked for on every request that sent score vectors).
    sum: u128,
    zeros: u16,
    max: u8,
}

impl Default for Hll {
    fn default() -> Self {
        Hll {
            registers: Box::new([0; M]),
            sum: (M as u128) << 64,
            zeros: M as u16,
            max: 0,
        }
    }
}

/// 2^−r in units of 2^−64.
fn term(r: u8) -> u128 {
    1u128 << (64 - u32::from(r.min(64)))
}

/// Registers up to this value keep every partial sum of the 2^−r exact in an `f64` (multiples
/// of 2^−42 below 2^11 fit its 53 bits), so the kept sum is the one the registers would give.
const EXACT: u8 = 42;

impl Hll {
    /// Add an item by its (uniform) 64-bit hash.
    pub fn add(&mut self, hash: u64) {
        let idx = (hash >> (64 - P)) as usize;
        let rest = hash << P | 1 << (P - 1);
        let rank = rest.leading_zeros() as u8 + 1;
        let old = self.registers[idx];
        if rank > old {
            self.registers[idx] = rank;
            self.sum = self.sum - term(old) + term(rank);
            self.zeros -= u16::from(old == 0);
            self.max = self.max.max(rank);
        }
    }

    /// The estimated number of distinct items (linear counting while registers are empty).
    pub fn count(&self) -> f64 {
        let m = M as f64;
        let (sum, zeros) = if self.max <= EXACT {
            // Exact: a multiple of 2^22 below 2^75, at most 53 significant bits.
            (self.sum as f64 * 2f64.powi(-64), usize::from(self.zeros))
        } else {
            self.read_registers()
        };
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let raw = alpha * m * m / sum;
        if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        }
    }

    /// Σ 2^−r and the empty registers, read from the registers in order.
    fn read_registers(&self) -> (f64, usize) {
        let (mut sum, mut zeros) = (0f64, 0usize);
        for &r in self.registers.iter() {
            sum += inv_pow2(r);
            zeros += (r == 0) as usize;
        }
        (sum, zeros)
    }

    /// Fold another sketch in (the union of both sets).
    pub fn merge(&mut self, other: &Hll) {
        for (a, b) in self.registers.iter_mut().zip(other.registers.iter()) {
            *a = (*a).max(*b);
        }
        self.sum = self.registers.iter().map(|&r| term(r)).sum();
        self.zeros = self.registers.iter().filter(|&&r| r == 0).count() as u16;
        self.max = self.registers.iter().copied().max().unwrap_or(0);
    }

    pub fn clear(&mut self) {
        *self = Hll::default();
    }
}

/// 2^−r, exactly, from its exponent field (a register is at most 55; any byte works): the
/// estimate reads all 1,024 registers for every request that sent score vectors.
#[inline]
fn inv_pow2(r: u8) -> f64 {
    f64::from_bits((1023 - u64::from(r)) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_sum_is_the_registers_sum() {
        let mut rng = crate::util::Rng::new(3);
        let (mut a, mut b) = (Hll::default(), Hll::default());
        for n in 0..20_000u32 {
            a.add(rng.next_u64());
            if n % 3 == 0 {
                b.add(rng.next_u64());
            }
            if n % 997 == 0 || n < 2_000 {
                let (sum, zeros) = a.read_registers();
                assert_eq!(
                    (a.sum as f64 * 2f64.powi(-64), usize::from(a.zeros)),
                    (sum, zeros)
                );
            }
        }
        a.merge(&b);
        let (sum, zeros) = a.read_registers();
        assert_eq!(
            (a.sum as f64 * 2f64.powi(-64), usize::from(a.zeros)),
            (sum, zeros)
        );
        // A register past EXACT (one item in 2^42): the estimate reads the registers.
        a.registers[7] = 50;
        a.max = 50;
        assert_eq!(a.count(), {
            let (sum, zeros) = a.read_registers();
            let m = M as f64;
            let raw = 0.7213 / (1.0 + 1.079 / m) * m * m / sum;
            if raw <= 2.5 * m && zeros > 0 {
                m * (m / zeros as f64).ln()
            } else {
                raw
            }
        });
        a.clear();
        assert_eq!((a.count(), a.zeros, a.max), (0.0, M as u16, 0));
    }

    #[test]
    fn a_registers_term_is_two_to_the_minus_its_value_exactly() {
        for r in 0..=u8::MAX {
            assert_eq!(inv_pow2(r), 2f64.powi(-i32::from(r)));
        }
    }

    #[test]
    fn counts_distinct_items_within_a_few_percent_and_ignores_repeats() {
        let h = |i: u64| xxhash_rust::xxh3::xxh3_64(&i.to_le_bytes());
        for n in [10u64, 100, 1000, 5000, 50_000] {
            let mut s = Hll::default();
            for i in 0..n {
                s.add(h(i));
                s.add(h(i)); // repeats change nothing
            }
            let err = (s.count() - n as f64).abs() / n as f64;
            assert!(err < 0.08, "{n}: {}", s.count());
        }
        let (mut a, mut b) = (Hll::default(), Hll::default());
        (0..600).for_each(|i| a.add(h(i)));
        (300..900).for_each(|i| b.add(h(i)));
        a.merge(&b);
        assert!((a.count() - 900.0).abs() < 60.0, "{}", a.count());
        a.clear();
        assert_eq!(a.count(), 0.0);
    }
}
