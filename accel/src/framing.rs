//! What the compiled framers hand on, whatever the protocol: `dissectors.base`'s `Framed`
//! and `Skipped`. Only a framing problem's fields differ between protocols (`P`).

/// `Framed` and `Skipped` of `dissectors.base`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event<P> {
    Framed { start: u64, data: Vec<u8>, problems: Vec<P>, truncated: bool },
    Skipped { start: u64, length: u64, rule: &'static str, reason: String },
}

/// The framers' shared check on hostile streams: every message's bytes are the stream's
/// own at its offset (`virtual_stream`: the fed bytes, None where a gap lost them), and
/// the events come in stream order without overlap. Returns where the last one ends.
#[cfg(test)]
pub(crate) fn assert_in_stream_order<P: std::fmt::Debug>(out: &[Event<P>],
                                                         virtual_stream: &[Option<u8>]) -> u64 {
    let mut end = 0u64;
    for event in out {
        let (start, length) = match event {
            Event::Framed { start, data, .. } => {
                let held: Vec<Option<u8>> = data.iter().map(|&b| Some(b)).collect();
                let (s, e) = (*start as usize, *start as usize + data.len());
                assert_eq!(virtual_stream.get(s..e), Some(held.as_slice()));
                (*start, data.len() as u64)
            }
            Event::Skipped { start, length, .. } => (*start, *length),
        };
        assert!(start >= end, "{out:?}");
        end = start + length;
    }
    end
}
