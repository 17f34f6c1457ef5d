use super::*;
use std::io::Write;

fn sample() -> Vec<u8> {
    // Compressible but not trivial: a protobuf-ish repeated record.
    (0..5000u32)
        .flat_map(|i| {
            [
                0x0a,
                0x04,
                b'u',
                b's',
                (i % 7) as u8 + b'0',
                b'r',
                0x10,
                (i % 128) as u8,
            ]
        })
        .collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn header_names() {
    assert_eq!(Encoding::from_header(b"gzip"), Encoding::Gzip);
    assert_eq!(Encoding::from_header(b" GZip "), Encoding::Gzip);
    assert_eq!(Encoding::from_header(b"deflate"), Encoding::Deflate);
    assert_eq!(Encoding::from_header(b"zstd"), Encoding::Zstd);
    assert_eq!(Encoding::from_header(b"snappy"), Encoding::Snappy);
    assert_eq!(Encoding::from_header(b"identity"), Encoding::Identity);
    assert_eq!(Encoding::from_header(b""), Encoding::Identity);
    assert_eq!(
        Encoding::from_header(b"lz4"),
        Encoding::Unknown("lz4".into())
    );
    let long = Encoding::from_header(&[b'x'; 1000]);
    assert_eq!(long.name().len(), MAX_ENCODING_NAME);
    assert_eq!(Encoding::Zstd.to_string(), "zstd");
}

#[test]
fn gzip_round_trip() {
    let data = sample();
    let packed = gzip(&data);
    assert!(packed.len() < data.len() / 4);
    assert_eq!(
        decompress(&Encoding::Gzip, &packed, DEFAULT_DECOMPRESS_CAP).unwrap(),
        data
    );
}

/// The per-thread decoder starts clean for every message, whatever the last one did, and
/// agrees with flate2's gzip reader on every outcome (the bytes, or which error: the
/// wording of a corrupt stream's reason is each decoder's own).
#[test]
fn gzip_decoder_reuse_is_invisible() {
    let data = sample();
    let packed = gzip(&data);
    let mut truncated = packed.clone();
    truncated.truncate(packed.len() / 2);
    let mut bad_crc = packed.clone();
    let n = bad_crc.len();
    bad_crc[n - 6] ^= 0xff;
    let inputs: [&[u8]; 7] = [
        &packed,
        &truncated,
        &packed,
        &bad_crc,
        b"junk",
        &packed,
        &[],
    ];
    for cap in [DEFAULT_DECOMPRESS_CAP, 100] {
        for input in inputs {
            let outcome = |r: Result<Vec<u8>, CompressionError>| match r {
                Err(CompressionError::Corrupt { encoding, .. }) => Err(encoding.to_string()),
                Err(e) => Err(e.to_string()),
                Ok(bytes) => Ok(bytes),
            };
            let fresh = read_capped(flate2::read::GzDecoder::new(input), cap, "gzip");
            let reused = decompress(&Encoding::Gzip, input, cap);
            assert_eq!(outcome(reused), outcome(fresh));
        }
    }
}

/// Header fields (extra, name, comment, header CRC) are skipped to reach the deflate data.
#[test]
fn gzip_header_fields_are_skipped() {
    let data = sample();
    let mut e = flate2::GzBuilder::new()
        .extra(b"xx-extra".to_vec())
        .filename("message.bin")
        .comment("from a test")
        .write(Vec::new(), flate2::Compression::default());
    e.write_all(&data).unwrap();
    let mut packed = e.finish().unwrap();
    assert_eq!(decompress(&Encoding::Gzip, &packed, 1 << 20).unwrap(), data);
    // FHCRC: flate2 does not write it; set the flag and insert two header-CRC bytes.
    packed[3] |= FHCRC;
    let at = 10 + 2 + 8 + "message.bin\0from a test\0".len();
    packed.splice(at..at, [0xaa, 0xbb]);
    assert_eq!(decompress(&Encoding::Gzip, &packed, 1 << 20).unwrap(), data);
    // A header cut inside its name is corrupt, not a panic.
    assert!(matches!(
        decompress(&Encoding::Gzip, &packed[..15], 1 << 20),
        Err(CompressionError::Corrupt { .. })
    ));
}

#[test]
fn deflate_is_zlib_and_raw_deflate_is_accepted() {
    let data = sample();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&data).unwrap();
    let zlib = z.finish().unwrap();
    assert!(looks_like_zlib(&zlib));
    assert_eq!(
        decompress(&Encoding::Deflate, &zlib, 1 << 20).unwrap(),
        data
    );

    let mut r = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    r.write_all(&data).unwrap();
    let raw = r.finish().unwrap();
    assert_eq!(decompress(&Encoding::Deflate, &raw, 1 << 20).unwrap(), data);
}

#[test]
fn zstd_round_trip_with_the_ruzstd_encoder() {
    let data = sample();
    let packed =
        ruzstd::encoding::compress_to_vec(&data[..], ruzstd::encoding::CompressionLevel::Fastest);
    assert!(packed.len() < data.len() / 4);
    assert_eq!(decompress(&Encoding::Zstd, &packed, 1 << 20).unwrap(), data);
    // Two concatenated frames are one message.
    let two = [packed.clone(), packed].concat();
    assert_eq!(
        decompress(&Encoding::Zstd, &two, 1 << 20).unwrap(),
        [data.clone(), data].concat()
    );
}

#[test]
fn snappy_framed_and_raw() {
    let data = sample();
    let mut w = snap::write::FrameEncoder::new(Vec::new());
    w.write_all(&data).unwrap();
    let framed = w.into_inner().unwrap();
    assert!(framed.starts_with(SNAPPY_STREAM_ID));
    assert_eq!(
        decompress(&Encoding::Snappy, &framed, 1 << 20).unwrap(),
        data
    );

    let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
    assert_eq!(decompress(&Encoding::Snappy, &raw, 1 << 20).unwrap(), data);
    // Raw snappy states its length: over the cap is refused before decoding.
    assert_eq!(
        decompress(&Encoding::Snappy, &raw, 100),
        Err(CompressionError::TooLarge { cap: 100 })
    );
    assert_eq!(
        decompress(&Encoding::Snappy, &framed, 100),
        Err(CompressionError::TooLarge { cap: 100 })
    );
}

#[test]
fn identity_is_a_capped_copy() {
    assert_eq!(decompress(&Encoding::Identity, b"abc", 3).unwrap(), b"abc");
    assert_eq!(
        decompress(&Encoding::Identity, b"abcd", 3),
        Err(CompressionError::TooLarge { cap: 3 })
    );
}

#[test]
fn exactly_the_cap_is_fine_one_more_is_too_large() {
    let data = vec![9u8; 1000];
    let packed = gzip(&data);
    assert_eq!(decompress(&Encoding::Gzip, &packed, 1000).unwrap(), data);
    assert_eq!(
        decompress(&Encoding::Gzip, &packed, 999),
        Err(CompressionError::TooLarge { cap: 999 })
    );
    let z =
        ruzstd::encoding::compress_to_vec(&data[..], ruzstd::encoding::CompressionLevel::Fastest);
    assert_eq!(decompress(&Encoding::Zstd, &z, 1000).unwrap(), data);
    assert_eq!(
        decompress(&Encoding::Zstd, &z, 999),
        Err(CompressionError::TooLarge { cap: 999 })
    );
}

/// 1 GiB of zeros, gzip-compressed in the test by streaming through the encoder (about
/// 1 MiB): decompression stops at the cap, quickly, without holding the gigabyte.
#[test]
fn gzip_bomb_is_too_large_not_an_oom() {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        e.write_all(&zeros).unwrap();
    }
    let bomb = e.finish().unwrap();
    assert!(bomb.len() < 2 << 20, "bomb is {} bytes", bomb.len());
    let started = std::time::Instant::now();
    assert_eq!(
        decompress(&Encoding::Gzip, &bomb, DEFAULT_DECOMPRESS_CAP),
        Err(CompressionError::TooLarge {
            cap: DEFAULT_DECOMPRESS_CAP
        })
    );
    assert!(started.elapsed().as_secs() < 10);
}

#[test]
fn zstd_bomb_and_huge_window_are_refused() {
    let zeros = vec![0u8; 4 << 20];
    let bomb =
        ruzstd::encoding::compress_to_vec(&zeros[..], ruzstd::encoding::CompressionLevel::Fastest);
    assert_eq!(
        decompress(&Encoding::Zstd, &bomb, 1 << 20),
        Err(CompressionError::TooLarge { cap: 1 << 20 })
    );
    // A frame header declaring a 1 GiB window (Window_Descriptor exponent 20): refused
    // before anything is allocated for it.
    let header = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 20 << 3, 0, 0, 0, 0];
    assert!(matches!(
        decompress(&Encoding::Zstd, &header, 1 << 20),
        Err(CompressionError::Corrupt {
            encoding: "zstd",
            ..
        })
    ));
}

#[test]
fn unknown_encoding() {
    assert_eq!(
        decompress(&Encoding::from_header(b"br"), b"x", 10),
        Err(CompressionError::UnknownEncoding("br".into()))
    );
}

#[test]
fn corrupted_data_is_an_error_for_every_encoding() {
    let data = sample();
    let mut gz = gzip(&data);
    let mid = gz.len() / 2;
    gz[mid] ^= 0xff;
    gz.truncate(gz.len() - 3);
    for enc in [
        Encoding::Gzip,
        Encoding::Deflate,
        Encoding::Zstd,
        Encoding::Snappy,
    ] {
        for bad in [
            &b""[..],
            b"\x00",
            b"garbage that is not compressed",
            &gz[..],
        ] {
            match decompress(&enc, bad, 1 << 20) {
                Err(CompressionError::Corrupt { .. }) => {}
                // Raw deflate and raw snappy can read some junk as valid: never more
                // than the cap, never a panic.
                Ok(out) => assert!(
                    matches!(enc, Encoding::Deflate | Encoding::Snappy) && out.len() <= 1 << 20,
                    "{enc}: {bad:?} decoded to {} bytes",
                    out.len()
                ),
                Err(e) => panic!("{enc}: {e}"),
            }
        }
    }
}

proptest::proptest! {
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
        for enc in [Encoding::Gzip, Encoding::Deflate, Encoding::Zstd, Encoding::Snappy] {
            if let Ok(out) = decompress(&enc, &data, 4096) {
                proptest::prop_assert!(out.len() <= 4096);
            }
            let mut framed = SNAPPY_STREAM_ID.to_vec();
            framed.extend_from_slice(&data);
            let _ = decompress(&Encoding::Snappy, &framed, 4096);
            let mut z = vec![0x28, 0xb5, 0x2f, 0xfd];
            z.extend_from_slice(&data);
            let _ = decompress(&Encoding::Zstd, &z, 4096);
            let mut g = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
            g.extend_from_slice(&data);
            let _ = decompress(&Encoding::Gzip, &g, 4096);
        }
    }
}
