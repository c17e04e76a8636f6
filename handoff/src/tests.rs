extern crate std;
use std::format;

use super::*;

const PROGRAM: [u8; 16] = [6, 0, 0, 0, 0, 0, 0xff, 0x7f, 6, 0, 0, 0, 1, 0, 5, 0];

fn frame(program: &[u8], flags: u32) -> ([u8; 64], usize, u64) {
    let mut out = [0u8; 64];
    let (len, sum) = encode(program, flags, &mut out).expect("encodes");
    (out, len, sum)
}

#[test]
fn encoded_frame_decodes_to_the_same_program_and_flags() {
    let (out, len, sum) = frame(&PROGRAM, 4);
    let announce = Announce {
        fd: 3,
        len,
        checksum: sum,
    };
    let decoded = decode(&out[..len], Some(&announce)).expect("decodes");
    assert_eq!(decoded.program, &PROGRAM);
    assert_eq!(decoded.flags, 4);
    assert_eq!(decoded.len(), 2);
}

#[test]
fn every_truncation_is_refused() {
    let (out, len, _) = frame(&PROGRAM, 0);
    for cut in 0..len {
        assert!(decode(&out[..cut], None).is_err(), "cut at {cut}");
    }
}

#[test]
fn every_flipped_bit_is_refused() {
    let (out, len, sum) = frame(&PROGRAM, 2);
    let announce = Announce {
        fd: 3,
        len,
        checksum: sum,
    };
    for byte in 0..len {
        for bit in 0..8 {
            let mut bad = out;
            bad[byte] ^= 1 << bit;
            assert!(
                decode(&bad[..len], Some(&announce)).is_err(),
                "byte {byte} bit {bit}"
            );
        }
    }
}

#[test]
fn a_frame_announced_with_another_checksum_is_refused() {
    let (out, len, sum) = frame(&PROGRAM, 0);
    let announce = Announce {
        fd: 3,
        len,
        checksum: sum ^ 1,
    };
    assert_eq!(
        decode(&out[..len], Some(&announce)),
        Err(Error::BadChecksum)
    );
    let announce = Announce {
        fd: 3,
        len: len + 8,
        checksum: sum,
    };
    assert_eq!(decode(&out[..len], Some(&announce)), Err(Error::BadLength));
}

#[test]
fn empty_and_ragged_programs_are_not_encoded() {
    let mut out = [0u8; 64];
    assert_eq!(encode(&[], 0, &mut out), Err(Error::BadCount));
    assert_eq!(encode(&PROGRAM[..12], 0, &mut out), Err(Error::BadCount));
    assert_eq!(encode(&PROGRAM, 0, &mut out[..30]), Err(Error::BadLength));
}

#[test]
fn announce_round_trips_through_its_text() {
    let announce = Announce {
        fd: 2_147_483_647,
        len: MAX_FRAME_LEN,
        checksum: u64::MAX,
    };
    let mut text = [0u8; 40];
    let n = format_announce(&announce, &mut text);
    assert_eq!(&text[..n], b"2147483647:32792:ffffffffffffffff");
    assert_eq!(parse_announce(&text[..n]), Ok(announce));
}

#[test]
fn malformed_announcements_are_refused() {
    for bad in [
        &b""[..],
        b"3",
        b"3:24",
        b"3:24:ab:1",
        b"-3:24:ab",
        b"3:-24:ab",
        b"3:24:xyz",
        b"2147483648:24:ab",
        b"3:32793:ab",
        b"3:24:10000000000000000",
        b" 3:24:ab",
        b"3::ab",
    ] {
        assert_eq!(parse_announce(bad), Err(Error::BadVariable), "{bad:?}");
    }
}

#[test]
fn markers_round_trip_through_their_text() {
    for checksum in [0, 1, 0xabc, u64::MAX] {
        for query_allowed in [false, true] {
            let marker = Marker {
                checksum,
                query_allowed,
            };
            let mut text = [0u8; MARKER_LEN];
            let n = format_marker(&marker, &mut text);
            assert_eq!(parse_marker(&text[..n]), Some(marker));
        }
    }
    for bad in [
        &b""[..],
        b"+q",
        b"0x1",
        b"10000000000000000",
        b"abc+",
        b"abc+qq",
    ] {
        assert_eq!(parse_marker(bad), None, "{bad:?}");
    }
}

#[test]
fn kernel_releases_are_compared_on_their_first_two_numbers() {
    let (major, minor) = precompiled::MIN_KERNEL;
    assert!(kernel_allows_precompiled(b"6.18.44-fc-v1147"));
    assert!(kernel_allows_precompiled(
        format!("{major}.{minor}").as_bytes()
    ));
    assert!(kernel_allows_precompiled(
        format!("{major}.{minor}-rc1").as_bytes()
    ));
    if minor > 0 {
        let older = format!("{major}.{}.99", minor - 1);
        assert!(!kernel_allows_precompiled(older.as_bytes()));
    }
    for bad in [
        &b""[..],
        b"6",
        b"x.y",
        b".8",
        b"6.",
        b"99999999999999999999999.1",
    ] {
        assert!(!kernel_allows_precompiled(bad), "{bad:?}");
    }
}

#[test]
fn the_precompiled_default_is_a_valid_frame() {
    let frame = precompiled_default().expect("a frame for this architecture");
    let decoded = decode(frame, None).expect("decodes");
    assert!(decoded.len() > 100);
}

#[test]
fn the_checksum_finds_any_change_to_one_word() {
    let (out, len, sum) = frame(&PROGRAM, 4);
    let frame = &out[..len];
    assert_eq!(frame_checksum(&[&frame[..16], &frame[HEADER_LEN..]]), sum);
    for at in (0..len).filter(|at| !(16..HEADER_LEN).contains(at)) {
        for bit in 0..8 {
            let mut damaged = [0u8; 64];
            damaged[..len].copy_from_slice(frame);
            damaged[at] ^= 1 << bit;
            let damaged_sum = frame_checksum(&[&damaged[..16], &damaged[HEADER_LEN..len]]);
            assert_ne!(damaged_sum, sum, "byte {at} bit {bit}");
        }
    }
    // Word order counts too: swapping two words is a change.
    let swapped = frame_checksum(&[&frame[8..16], &frame[..8], &frame[HEADER_LEN..]]);
    assert_ne!(swapped, sum);
}

#[test]
fn the_checksum_finds_the_same_bit_changed_in_two_words() {
    // 64 instructions; every pair of words with the same bit flipped in both.
    let mut program = [0u8; 8 * 64];
    for (i, byte) in program.iter_mut().enumerate() {
        *byte = (i * 7 + 3) as u8;
    }
    let base = frame_checksum(&[&program]);
    for bit in [0, 7, 31, 32, 62, 63] {
        for a in 0..64 {
            for b in a + 1..64 {
                let mut damaged = program;
                damaged[a * 8 + bit / 8] ^= 1 << (bit % 8);
                damaged[b * 8 + bit / 8] ^= 1 << (bit % 8);
                assert_ne!(
                    frame_checksum(&[&damaged]),
                    base,
                    "bit {bit}, words {a} and {b}"
                );
            }
        }
    }
}
