//! A file read on a second thread while this one works on what was read.
//!
//! Why: the split's weighing pass (`flowweights`) runs alone, before any worker starts,
//! with the machine's other cores idle; about half of its time was the kernel copying
//! the file into its buffer. Read here, that copy runs beside the walk over the chunks
//! already read, and the walk pays only for taking each chunk from memory the other
//! thread just filled.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Bytes each read of the second thread asks for.
const CHUNK: usize = 1 << 20;
/// Chunks read ahead of the walk at most (memory: `DEPTH + 2` chunks in all).
const DEPTH: usize = 2;

/// The bytes of the reader given to [`with_read_ahead`], read on another thread, chunk
/// by chunk, in order. A read error ends the stream there as that error.
pub struct ReadAhead {
    chunks: Receiver<io::Result<Vec<u8>>>,
    spent: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
    done: bool,
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.current.len() {
            if self.done {
                return Ok(0);
            }
            match self.chunks.recv() {
                Ok(Ok(chunk)) => {
                    let spent = std::mem::replace(&mut self.current, chunk);
                    let _ = self.spent.try_send(spent); // for the reader to fill again
                    self.at = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true; // the reader is at the end
                }
            }
        }
        let n = out.len().min(self.current.len() - self.at);
        out[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// `work(stream)`, where `stream` reads `source` on a second thread as `work` goes; the
/// thread ends with `work` (its reads stop once nobody takes them).
pub fn with_read_ahead<R: Read + Send, T>(mut source: R, work: impl FnOnce(ReadAhead) -> T) -> T {
    let (send_chunk, chunks) = sync_channel::<io::Result<Vec<u8>>>(DEPTH);
    let (spent, reuse) = sync_channel::<Vec<u8>>(DEPTH + 2);
    std::thread::scope(|scope| {
        scope.spawn(move || read_chunks(&mut source, &send_chunk, &reuse));
        work(ReadAhead { chunks, spent, current: Vec::new(), at: 0, done: false })
        // `work`'s stream is dropped here: the reader's next send fails and it ends.
    })
}

fn read_chunks<R: Read>(source: &mut R, out: &SyncSender<io::Result<Vec<u8>>>,
                        reuse: &Receiver<Vec<u8>>) {
    loop {
        let mut chunk = reuse.try_recv().unwrap_or_default();
        chunk.resize(CHUNK, 0);
        let mut filled = 0;
        let mut failed = None;
        while filled < CHUNK {
            match source.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        chunk.truncate(filled);
        let end = filled < CHUNK;
        if filled > 0 && out.send(Ok(chunk)).is_err() {
            return;
        }
        if let Some(e) = failed {
            let _ = out.send(Err(e));
            return;
        }
        if end {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes a call, then fails at `fail_at`.
    struct Stingy {
        data: Vec<u8>,
        at: usize,
        step: usize,
        fail_at: Option<usize>,
    }

    impl Read for Stingy {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if Some(self.at) == self.fail_at {
                return Err(io::Error::other("disk gone"));
            }
            let mut n = out.len().min(self.step).min(self.data.len() - self.at);
            if let Some(fail) = self.fail_at {
                n = n.min(fail - self.at);
            }
            out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn every_byte_comes_in_order_whatever_the_reads() {
        for (len, step, take) in [(0, 10, 5), (5, 1, 3), (3 * CHUNK + 17, 65_536, 100_003),
                                  (CHUNK, CHUNK, CHUNK), (2 * CHUNK - 1, 999_999, 7)] {
            let src = data(len);
            let source = Stingy { data: src.clone(), at: 0, step, fail_at: None };
            let got = with_read_ahead(source, |mut stream| {
                let mut got = Vec::new();
                let mut buf = vec![0u8; take];
                loop {
                    let n = stream.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                got
            });
            assert!(got == src, "len {len} step {step} take {take}");
        }
    }

    #[test]
    fn a_read_error_comes_after_the_bytes_before_it() {
        let src = data(CHUNK + 500);
        let source = Stingy { data: src.clone(), at: 0, step: 4096, fail_at: Some(CHUNK + 100) };
        let (got, err) = with_read_ahead(source, |mut stream| {
            let mut got = Vec::new();
            let err = stream.read_to_end(&mut got).unwrap_err();
            (got, err)
        });
        assert_eq!(got, src[..CHUNK + 100]);
        assert_eq!(err.to_string(), "disk gone");
    }

    #[test]
    fn stopping_early_ends_the_reader() {
        let source = Stingy { data: data(20 * CHUNK), at: 0, step: CHUNK, fail_at: None };
        let first = with_read_ahead(source, |mut stream| {
            let mut buf = [0u8; 3];
            stream.read_exact(&mut buf).unwrap();
            buf
        });
        assert_eq!(first.to_vec(), data(3));
    }
}
