//! A split capture's JSON rows put back in number order from the files its workers wrote
//! (`cvipsniff/report/rowspool.py`, `SpooledRows`).
//!
//! Why here: the parent does this alone once the workers are done, and in Python it was
//! a loop over every transaction and a read per run of rows (a run is often one row: the
//! workers' flows interleave), about 0.04–0.05 s on each 200 MB bench capture, the
//! largest serial step the split had left after the weighing pass. Here the loop is over
//! plain arrays, and each part file is read straight on in large blocks: a part's rows
//! are in number order, so its file is consumed from front to back.

use std::io;

/// The part of a row that no part holds (rendered by the caller).
pub const NONE: u8 = 0xFF;
/// Bytes read from a part file at once.
const BLOCK: usize = 1 << 20;

/// Where each transaction's row is: per transaction number - 1 its part ([`NONE`]: no
/// part), the row's offset in that part's file and its size.
pub struct Layout {
    pub parts: Vec<u8>,
    pub offsets: Vec<i64>,
    pub sizes: Vec<u32>,
}

/// Reads of the part files at offsets (a part's file is never moved).
pub trait ReadAt {
    /// Read into `buf` from part `part`'s file at `offset`; how many bytes (0: its end).
    fn read_at(&mut self, part: usize, buf: &mut [u8], offset: u64) -> io::Result<usize>;
}

/// What was read of one part file: a block from where a run of its rows starts.
#[derive(Default)]
struct Block {
    data: Vec<u8>,
    /// The file offset of `data[0]`.
    start: u64,
}

/// Append `size` bytes of part `part` at `offset` to `out`, through its `block`.
fn copy(source: &mut impl ReadAt, part: usize, block: &mut Block, offset: u64, size: usize,
        out: &mut Vec<u8>) -> io::Result<()> {
    let end = offset + size as u64;
    if offset >= block.start && end <= block.start + block.data.len() as u64 {
        let at = (offset - block.start) as usize;
        out.extend_from_slice(&block.data[at..at + size]);
        return Ok(());
    }
    if size >= BLOCK {
        // A run larger than a block: straight to the output.
        let at = out.len();
        out.resize(at + size, 0);
        let got = fill(source, part, &mut out[at..], offset)?;
        if got < size {
            out.truncate(at);
            return Err(ended_early());
        }
        return Ok(());
    }
    block.data.resize(BLOCK, 0);
    let got = fill(source, part, &mut block.data, offset);
    let got = match got {
        Ok(got) if got >= size => got,
        other => {
            block.data.clear();
            return other.and(Err(ended_early()));
        }
    };
    block.data.truncate(got);
    block.start = offset;
    out.extend_from_slice(&block.data[..size]);
    Ok(())
}

fn ended_early() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "a part of the report's rows ended early")
}

/// Read `buf` full from `offset`, or up to the file's end; how many bytes.
fn fill(source: &mut impl ReadAt, part: usize, buf: &mut [u8], offset: u64)
        -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        let n = match source.read_at(part, &mut buf[got..], offset + got as u64) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => other?,
        };
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok(got)
}

/// The rows of a [`Layout`], gathered from its part files.
pub struct Gatherer {
    layout: Layout,
    blocks: Vec<Block>,
}

impl Gatherer {
    pub fn new(layout: Layout) -> io::Result<Gatherer> {
        let n = layout.parts.len();
        if layout.offsets.len() != n || layout.sizes.len() != n {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "a layout of unequal arrays"));
        }
        Ok(Gatherer { layout, blocks: Vec::new() })
    }

    /// How many transactions the layout places (any further one is no part's).
    pub fn len(&self) -> usize {
        self.layout.parts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.layout.parts.is_empty()
    }

    /// Append the rows of transactions `from`, `from + 1`, … to `out`, read from
    /// `source`, stopping before the first that no part holds, at the end of the layout,
    /// or once `out` holds `limit` bytes or more; the index it stopped at.
    pub fn gather(&mut self, source: &mut impl ReadAt, from: usize, limit: usize,
                  out: &mut Vec<u8>) -> io::Result<usize> {
        let layout = &self.layout;
        let n = layout.parts.len();
        let mut index = from;
        while index < n && out.len() < limit {
            let part = layout.parts[index];
            if part == NONE {
                break;
            }
            // A run: the rows after it that lie right after it in the same part, up to
            // the piece's limit.
            let offset = layout.offsets[index];
            let room = (limit - out.len()) as i64;
            let mut end = offset + i64::from(layout.sizes[index]);
            index += 1;
            while index < n && layout.parts[index] == part && layout.offsets[index] == end
                    && end - offset < room {
                end += i64::from(layout.sizes[index]);
                index += 1;
            }
            let (Ok(start), Ok(size)) = (u64::try_from(offset), usize::try_from(end - offset))
            else {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "a row at a negative offset"));
            };
            let part = usize::from(part);
            if self.blocks.len() <= part {
                self.blocks.resize_with(part + 1, Block::default);
            }
            copy(source, part, &mut self.blocks[part], start, size, out)?;
        }
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Part files in memory, read at most `step` bytes a call.
    struct Files {
        data: Vec<Vec<u8>>,
        step: usize,
        reads: usize,
    }

    impl ReadAt for Files {
        fn read_at(&mut self, part: usize, buf: &mut [u8], offset: u64) -> io::Result<usize> {
            self.reads += 1;
            let Some(data) = self.data.get(part) else {
                return Err(io::Error::new(io::ErrorKind::NotFound, "a row of no part file"));
            };
            let at = (offset as usize).min(data.len());
            let n = buf.len().min(self.step).min(data.len() - at);
            buf[..n].copy_from_slice(&data[at..at + n]);
            Ok(n)
        }
    }

    /// Rows "r<i>;" of `count` transactions dealt to parts by `part_of`; the layout,
    /// the part files' bytes and every row's text in number order.
    fn dealt(count: usize, parts: usize, part_of: impl Fn(usize) -> u8)
             -> (Layout, Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let mut files = vec![Vec::new(); parts];
        let mut layout = Layout { parts: vec![], offsets: vec![], sizes: vec![] };
        let mut rows = Vec::new();
        for i in 0..count {
            let row = format!(",r{i};{}", "x".repeat(i % 7)).into_bytes();
            let part = part_of(i);
            layout.parts.push(part);
            if part == NONE {
                layout.offsets.push(0);
                layout.sizes.push(0);
            } else {
                let file = &mut files[usize::from(part)];
                layout.offsets.push(file.len() as i64);
                layout.sizes.push(row.len() as u32);
                file.extend_from_slice(&row);
            }
            rows.push(row);
        }
        (layout, files, rows)
    }

    fn gather_all(g: &mut Gatherer, files: &mut Files, rows: &[Vec<u8>], limit: usize)
                  -> (Vec<u8>, usize) {
        let (mut out, mut pieces, mut index) = (Vec::new(), 0, 0);
        while index < g.len() {
            let mut piece = Vec::new();
            let next = g.gather(files, index, limit, &mut piece).unwrap();
            assert!(next > index || g.layout.parts[index] == NONE);
            if piece.is_empty() {
                out.extend_from_slice(&rows[index]); // the caller renders it
                index += 1;
            } else {
                pieces += 1;
                out.extend_from_slice(&piece);
                index = next;
            }
        }
        (out, pieces)
    }

    #[test]
    fn rows_come_in_number_order_from_interleaved_parts() {
        let mut rng = crate::testrand::XorShift::new(7);
        for round in 0..40 {
            let count = (rng.next() % 3000) as usize;
            let parts = 1 + round % 3;
            let choice: Vec<u8> = (0..count).map(|_| {
                let r = rng.next() % 10;
                if r == 0 { NONE } else { (r % parts as u64) as u8 }
            }).collect();
            let (layout, data, rows) = dealt(count, parts, |i| choice[i]);
            let mut files = Files { data, step: [7, 1 << 20][round % 2], reads: 0 };
            let mut g = Gatherer::new(layout).unwrap();
            let limit = [1, 100, 4096, 1 << 20][round % 4];
            let (out, _) = gather_all(&mut g, &mut files, &rows, limit);
            assert_eq!(out, rows.concat(), "round {round}");
        }
    }

    #[test]
    fn a_piece_stops_near_its_limit_and_a_long_run_is_one_read() {
        let (layout, data, rows) = dealt(20_000, 2, |i| (i / 5000) as u8 % 2);
        let mut files = Files { data, step: 1 << 20, reads: 0 };
        let mut g = Gatherer::new(layout).unwrap();
        let (out, pieces) = gather_all(&mut g, &mut files, &rows, 8192);
        assert_eq!(out, rows.concat());
        let total = out.len();
        assert!(pieces >= total / 8192 && pieces <= total / 8192 + 8, "{pieces} pieces");
        // Each part's file read in blocks as it is consumed, not once a run.
        assert!(files.reads <= 2 * (total / BLOCK + 2), "{} reads", files.reads);
        let mut piece = Vec::new();
        let next = g.gather(&mut files, 0, 100, &mut piece).unwrap();
        assert!(piece.len() >= 100 && piece.len() < 100 + 20 && next > 0);
    }

    #[test]
    fn a_part_file_that_ends_early_is_an_error() {
        for big in [false, true] {
            let (mut layout, mut data, _) = dealt(50, 2, |i| (i % 2) as u8);
            if big {
                // A run longer than a block, cut short.
                layout = Layout { parts: vec![0], offsets: vec![0], sizes: vec![BLOCK as u32 + 5] };
                data = vec![vec![b'x'; BLOCK + 2]];
            } else {
                let cut = data[1].len() - 3;
                data[1].truncate(cut);
            }
            let mut files = Files { data, step: 1000, reads: 0 };
            let mut g = Gatherer::new(layout).unwrap();
            let err = g.gather(&mut files, 0, 4 << 20, &mut Vec::new()).unwrap_err();
            assert_eq!(err.to_string(), "a part of the report's rows ended early");
        }
        let bad = Layout { parts: vec![3], offsets: vec![0], sizes: vec![1] };
        let mut files = Files { data: vec![b"x".to_vec()], step: 10, reads: 0 };
        let mut g = Gatherer::new(bad).unwrap();
        assert!(g.gather(&mut files, 0, 10, &mut Vec::new()).is_err(), "a row of no part file");
        let unequal = Layout { parts: vec![0], offsets: vec![], sizes: vec![1] };
        assert!(Gatherer::new(unequal).is_err());
    }
}
