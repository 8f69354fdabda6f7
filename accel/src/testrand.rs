//! A tiny deterministic generator for the stable stand-ins of the fuzz targets (the
//! `*_never_panic` tests): xorshift64, so the tests need no crate and repeat exactly.

/// xorshift64 from a fixed non-zero seed.
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn new(seed: u64) -> Self {
        XorShift(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
