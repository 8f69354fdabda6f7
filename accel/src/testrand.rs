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

    /// One to four random edits of `data`: a byte set, a byte inserted, or up to eight
    /// bytes deleted.
    pub(crate) fn mutate(&mut self, data: &mut Vec<u8>) {
        for _ in 0..1 + self.next() % 4 {
            let at = (self.next() as usize) % (data.len() + 1);
            match self.next() % 3 {
                0 if at < data.len() => data[at] = self.next() as u8,
                1 => data.insert(at, self.next() as u8),
                _ => {
                    let end = (at + 1 + self.next() as usize % 8).min(data.len());
                    data.drain(at.min(end)..end);
                }
            }
        }
    }
}
