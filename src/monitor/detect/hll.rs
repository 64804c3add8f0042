//! Distinct inputs a client was answered: a HyperLogLog sketch (Flajolet et al. 2007) of
//! 1,024 one-byte registers, about 3 % standard error, fixed size, and mergeable (the register
//! maximum), so it can be kept per client anywhere and combined across replicas.

const P: u32 = 10;
const M: usize = 1 << P;

#[derive(Clone, Debug)]
pub struct Hll {
    registers: Box<[u8; M]>,
}

impl Default for Hll {
    fn default() -> Self {
        Hll {
            registers: Box::new([0; M]),
        }
    }
}

impl Hll {
    /// Add an item by its (uniform) 64-bit hash.
    pub fn add(&mut self, hash: u64) {
        let idx = (hash >> (64 - P)) as usize;
        let rest = hash << P | 1 << (P - 1);
        let rank = rest.leading_zeros() as u8 + 1;
        if rank > self.registers[idx] {
            self.registers[idx] = rank;
        }
    }

    /// The estimated number of distinct items (linear counting while registers are empty).
    pub fn count(&self) -> f64 {
        let m = M as f64;
        let (mut sum, mut zeros) = (0f64, 0usize);
        for &r in self.registers.iter() {
            sum += inv_pow2(r);
            zeros += (r == 0) as usize;
        }
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let raw = alpha * m * m / sum;
        if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        }
    }

    /// Fold another sketch in (the union of both sets).
    pub fn merge(&mut self, other: &Hll) {
        for (a, b) in self.registers.iter_mut().zip(other.registers.iter()) {
            *a = (*a).max(*b);
        }
    }

    pub fn clear(&mut self) {
        self.registers.fill(0);
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
