use super::*;

/// Splits an event file into its records, checking both CRCs of each.
fn records(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (len, tail) = rest.split_at(8);
        let n = u64::from_le_bytes(len.try_into().unwrap()) as usize;
        let crc = u32::from_le_bytes(tail[..4].try_into().unwrap());
        assert_eq!(crc, masked_crc32c(len), "length crc");
        let data = &tail[4..4 + n];
        let crc = u32::from_le_bytes(tail[4 + n..8 + n].try_into().unwrap());
        assert_eq!(crc, masked_crc32c(data), "data crc");
        out.push(data.to_vec());
        rest = &tail[8 + n..];
    }
    out
}

fn events(path: &Path) -> Vec<Event> {
    let bytes = std::fs::read(path).unwrap();
    records(&bytes)
        .iter()
        .map(|r| Event::decode(r.as_slice()).unwrap())
        .collect()
}

#[test]
fn masked_crc32c_of_the_check_string() {
    // CRC-32C("123456789") = 0xE3069283 (the catalogue's check value), then TFRecord's mask.
    let want = 0xE306_9283u32.rotate_right(15).wrapping_add(0xa282_ead8);
    assert_eq!(masked_crc32c(b"123456789"), want);
    assert_eq!(masked_crc32c(b""), 0xa282_ead8);
}

#[test]
fn record_frames_length_data_and_crcs() {
    let r = record(b"abc");
    assert_eq!(r.len(), 8 + 4 + 3 + 4);
    assert_eq!(&r[..8], &3u64.to_le_bytes());
    assert_eq!(records(&r), [b"abc".to_vec()]);
}

#[test]
fn a_second_file_sorts_after_the_first_and_marks_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = EventWriter::create(dir.path(), None).unwrap();
    first.scalars(4, &[("loss/g".into(), 0.5)]).unwrap();
    let second = EventWriter::create(dir.path(), Some(5)).unwrap();
    assert!(second.path() > first.path());
    let a = events(first.path());
    assert_eq!(a.len(), 2);
    assert_eq!(
        a[0].what,
        Some(proto::What::FileVersion("brain.Event:2".into()))
    );
    let Some(proto::What::Summary(s)) = &a[1].what else {
        panic!("{:?}", a[1])
    };
    assert_eq!((a[1].step, s.value[0].tag.as_str()), (4, "loss/g"));
    assert_eq!(s.value[0].kind, Some(Kind::SimpleValue(0.5)));
    let b = events(second.path());
    let Some(proto::What::SessionLog(log)) = &b[1].what else {
        panic!("{:?}", b[1])
    };
    assert_eq!((b[1].step, log.status), (5, SessionStatus::Start as i32));
}
