//! The development mode's report of a refused system call. In that mode the runner's
//! SIGSYS handler does not end the process: it writes one fixed-size record per call the
//! filter refused (the call's number, its six arguments, and the words on the stack that
//! point into the plugin's code, as offsets from where the plugin is loaded) on the
//! violation pipe, makes the call fail with `EPERM`, and lets the plugin go on.
//!
//! The pipe is the plugin's process's: a plugin can write records of its own. They are a
//! diagnosis for the plugin's author, never evidence the host acts on, and they are read
//! by a total function.

/// Stack words that point into the plugin's code, at most, per record.
pub const MAX_FRAMES: usize = 8;

/// Bytes of one record: magic, number, six arguments, the frame count, the frames.
pub const RECORD_LEN: usize = 4 + 4 + 6 * 8 + 8 + MAX_FRAMES * 8;

/// What every record begins with (`SBXD`, little-endian).
pub const MAGIC: u32 = u32::from_le_bytes(*b"SBXD");

/// One refused call, as the runner reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedCall {
    /// The system call's number (x86_64).
    pub nr: i32,
    /// Its arguments, in order.
    pub args: [u64; 6],
    /// Offsets into the plugin's loaded image of the words on the stack that point into its
    /// code, innermost first: the return addresses of the calls that led to the refused one
    /// (and some stale words besides: a scan, not an unwinder).
    pub frames: Vec<u64>,
}

/// The bytes of one record. Allocates nothing: the SIGSYS handler calls it.
pub fn encode(
    nr: i32,
    args: &[u64; 6],
    frames: &[u64; MAX_FRAMES],
    count: usize,
) -> [u8; RECORD_LEN] {
    let mut out = [0u8; RECORD_LEN];
    out[0..4].copy_from_slice(&MAGIC.to_le_bytes());
    out[4..8].copy_from_slice(&nr.to_le_bytes());
    for (i, a) in args.iter().enumerate() {
        out[8 + i * 8..16 + i * 8].copy_from_slice(&a.to_le_bytes());
    }
    let count = count.min(MAX_FRAMES);
    out[56..64].copy_from_slice(&(count as u64).to_le_bytes());
    for (i, f) in frames.iter().take(count).enumerate() {
        out[64 + i * 8..72 + i * 8].copy_from_slice(&f.to_le_bytes());
    }
    out
}

/// The records in `bytes`, in order, and how many bytes were not a record (a torn or
/// forged one is skipped to the next magic). Total.
pub fn decode(bytes: &[u8]) -> (Vec<RefusedCall>, usize) {
    let mut calls = Vec::new();
    let mut skipped = 0;
    let mut rest = bytes;
    while !rest.is_empty() {
        match decode_one(rest) {
            Some(call) => {
                calls.push(call);
                rest = &rest[RECORD_LEN..];
            }
            None => {
                skipped += 1;
                rest = &rest[1..];
            }
        }
    }
    (calls, skipped)
}

fn decode_one(bytes: &[u8]) -> Option<RefusedCall> {
    let record = bytes.get(..RECORD_LEN)?;
    let word = |at: usize| u64::from_le_bytes(record[at..at + 8].try_into().unwrap_or([0; 8]));
    if u32::from_le_bytes(record[0..4].try_into().ok()?) != MAGIC {
        return None;
    }
    let count = usize::try_from(word(56))
        .ok()
        .filter(|c| *c <= MAX_FRAMES)?;
    Some(RefusedCall {
        nr: i32::from_le_bytes(record[4..8].try_into().ok()?),
        args: std::array::from_fn(|i| word(8 + i * 8)),
        frames: (0..count).map(|i| word(64 + i * 8)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_garbage_is_skipped() {
        let frames = [0x1234, 0x5678, 0, 0, 0, 0, 0, 0];
        let one = encode(41, &[2, 1, 0, 0, 0, 0], &frames, 2);
        let two = encode(59, &[7; 6], &[0; MAX_FRAMES], 0);
        let mut bytes = b"junk".to_vec();
        bytes.extend_from_slice(&one);
        bytes.extend_from_slice(&two);
        bytes.extend_from_slice(&one[..10]);
        let (calls, skipped) = decode(&bytes);
        assert_eq!(
            calls,
            [
                RefusedCall {
                    nr: 41,
                    args: [2, 1, 0, 0, 0, 0],
                    frames: vec![0x1234, 0x5678],
                },
                RefusedCall {
                    nr: 59,
                    args: [7; 6],
                    frames: vec![],
                },
            ]
        );
        assert_eq!(skipped, 4 + 10);
        // A count beyond the bound is no record.
        let mut forged = one;
        forged[56] = 9;
        assert_eq!(decode(&forged).0, []);
    }
}
