//! A small, portable, seedable RNG (xoshiro256++ seeded through splitmix64).
//!
//! The simulator's determinism rests on this generator being identical across
//! platforms and crate versions, so it is implemented here rather than taken
//! from `rand::rngs::SmallRng` (which documents that it may change).

use rand::RngCore;
use rand_distr::{Distribution, Exp1, StandardNormal};

/// xoshiro256++.
#[derive(Clone, Debug)]
pub struct SimRng {
    s: [u64; 4],
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SimRng {
    /// Creates the generator of one independent stream of a seed.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut state = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut s = [0u64; 4];
        for word in &mut s {
            *word = splitmix64(&mut state);
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Self { s }
    }

    /// Returns the next 64 random bits.
    #[inline]
    pub fn next_bits(&mut self) -> u64 {
        let result = self.s[0]
            .wrapping_add(self.s[3])
            .rotate_left(23)
            .wrapping_add(self.s[0]);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Returns a uniform float in `[0, 1)`.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        (self.next_bits() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Returns a uniform integer in `0..n` (`n > 0`), Lemire's method without rejection
    /// (the bias is below 2^-32 for the small `n` used here).
    #[inline]
    pub fn below(&mut self, n: u32) -> u32 {
        (((self.next_bits() >> 32) * u64::from(n)) >> 32) as u32
    }

    /// Returns a standard exponential variate.
    #[inline]
    pub fn exp1(&mut self) -> f64 {
        Exp1.sample(self)
    }

    /// Returns a standard normal variate.
    #[inline]
    pub fn normal(&mut self) -> f64 {
        StandardNormal.sample(self)
    }

    /// Returns true with probability `p`.
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }
}

impl RngCore for SimRng {
    #[inline]
    fn next_u32(&mut self) -> u32 {
        (self.next_bits() >> 32) as u32
    }

    #[inline]
    fn next_u64(&mut self) -> u64 {
        self.next_bits()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_bits().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_stream_give_same_sequence() {
        let mut a = SimRng::new(7, 3);
        let mut b = SimRng::new(7, 3);
        let mut c = SimRng::new(7, 4);
        let xs: Vec<u64> = (0..8).map(|_| a.next_bits()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_bits()).collect();
        let zs: Vec<u64> = (0..8).map(|_| c.next_bits()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn uniform_is_in_unit_interval_and_centered() {
        let mut r = SimRng::new(1, 0);
        let n = 100_000;
        let mut sum = 0.0;
        for _ in 0..n {
            let u = r.uniform();
            assert!((0.0..1.0).contains(&u));
            sum += u;
        }
        assert!((sum / f64::from(n) - 0.5).abs() < 0.01);
    }
}
