//! gen-capture: writes a large benchmark capture by replaying the TCP connections of a small
//! real capture (a "template") over and over, each replica a new, independent connection.
//!
//! ```text
//! gen-capture [--concurrency N] [--seed S] TEMPLATE SIZE OUT
//!   TEMPLATE  a pcap or pcapng file of Ethernet/IPv4/TCP packets (e.g. fixtures/grpc-roundrobin.pcapng)
//!   SIZE      bytes to write at least: 100M, 1G, 4G, 123456 (decimal units: 1M = 10^6)
//!   OUT       the pcap to write (nanosecond timestamps, LINKTYPE_ETHERNET)
//! ```
//!
//! Replica `k` of the template is the whole template (all its connections), with, per
//! connection:
//! - a fresh client address: connection number `g` gets client `10.64.0.0/10 + g / 60000`,
//!   port `1024 + g % 60000`, so no 4-tuple ever repeats in a file;
//! - a server among 8 backends, `10.0.0.10 + g % 8`, port `P + g % 4` where `P` is the
//!   template's lowest server port (so 50051-50054 for the gRPC fixture, 18080-18083 for
//!   nghttpd): tshark needs `-d tcp.port==P-P+3,http2`;
//! - sequence numbers shifted by a per-connection, per-direction constant (ACK numbers and
//!   SACK edges by the peer's), IPv4 and TCP checksums updated incrementally (RFC 1624), so
//!   a checksum that was right stays right and a loopback one that was partial stays partial;
//! - timestamps shifted by `k * duration / concurrency`: about `concurrency` replicas are in
//!   flight at once and their packets are interleaved in time order.
//!
//! The payloads are byte-for-byte those of the template: the same HTTP/2 frames, HPACK
//! blocks and gRPC messages; each connection decodes exactly like its original. Everything
//! is a function of the arguments: the same arguments give the same file.
//!
//! Next to OUT it writes `OUT.meta` (key=value lines: packets, bytes, connections, ports...)
//! for scripts/bench.sh.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::io::{self, Write};
use std::process::ExitCode;

const USAGE: &str = "usage: gen-capture [--concurrency N] [--seed S] TEMPLATE SIZE OUT";
/// Client addresses per client IP before the next IP is used.
const PORTS_PER_CLIENT: u64 = 60_000;
const BACKEND_IPS: u64 = 8;
const BACKEND_PORTS: u64 = 4;

type Result<T> = std::result::Result<T, String>;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-capture: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut concurrency: u64 = 32;
    let mut seed: u64 = 0;
    let mut positional = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--concurrency" => {
                concurrency = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--concurrency needs a positive integer")?
            }
            "--seed" => {
                seed = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--seed needs an integer")?
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ => positional.push(a),
        }
    }
    let [template, size, out] =
        <[String; 3]>::try_from(positional).map_err(|_| USAGE.to_string())?;
    let size = parse_size(&size).ok_or_else(|| format!("bad size {size:?} (e.g. 100M, 1G)"))?;
    let data = std::fs::read(&template).map_err(|e| format!("{template}: {e}"))?;
    let t = Template::new(read_capture(&data).map_err(|e| format!("{template}: {e}"))?)
        .map_err(|e| format!("{template}: {e}"))?;
    let replicas = size.saturating_sub(24).div_ceil(t.record_bytes).max(1);
    let started = std::time::Instant::now();
    let file = File::create(&out).map_err(|e| format!("{out}: {e}"))?;
    let stats =
        write_capture(&t, replicas, concurrency, seed, file).map_err(|e| format!("{out}: {e}"))?;
    let conns = replicas * t.conns as u64;
    let secs = started.elapsed().as_secs_f64();
    let meta = format!(
        "template={template}\nsize_requested={size}\nconcurrency={concurrency}\nseed={seed}\n\
         replicas={replicas}\nconnections={conns}\npackets={}\nbytes={}\n\
         server_ports={}-{}\nclient_ips={}\n",
        stats.packets,
        stats.bytes,
        t.port_base,
        t.port_base + BACKEND_PORTS as u16 - 1,
        conns.div_ceil(PORTS_PER_CLIENT),
    );
    std::fs::write(format!("{out}.meta"), &meta).map_err(|e| format!("{out}.meta: {e}"))?;
    eprintln!(
        "gen-capture: {out}: {} bytes, {} packets, {conns} connections ({replicas} replicas of {template}) in {secs:.1} s ({:.0} MB/s)",
        stats.bytes,
        stats.packets,
        stats.bytes as f64 / 1e6 / secs
    );
    Ok(())
}

fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 1_000),
        b'M' | b'm' => (&s[..s.len() - 1], 1_000_000),
        b'G' | b'g' => (&s[..s.len() - 1], 1_000_000_000),
        _ => (s, 1),
    };
    let n: f64 = num.parse().ok()?;
    (n > 0.0).then_some((n * mult as f64) as u64)
}

/// A packet of the template capture: time since the template's first packet, and its bytes.
struct RawPacket {
    ts_ns: i128,
    orig_len: u32,
    data: Vec<u8>,
}

fn rd16(b: &[u8], o: usize, le: bool) -> Option<u16> {
    let a: [u8; 2] = b.get(o..o + 2)?.try_into().ok()?;
    Some(if le {
        u16::from_le_bytes(a)
    } else {
        u16::from_be_bytes(a)
    })
}
fn rd32(b: &[u8], o: usize, le: bool) -> Option<u32> {
    let a: [u8; 4] = b.get(o..o + 4)?.try_into().ok()?;
    Some(if le {
        u32::from_le_bytes(a)
    } else {
        u32::from_be_bytes(a)
    })
}
fn be16(b: &[u8], o: usize) -> u16 {
    u16::from_be_bytes([b[o], b[o + 1]])
}
fn be32(b: &[u8], o: usize) -> u32 {
    u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

/// Reads the packets of a pcap or pcapng file (Ethernet link type only).
fn read_capture(b: &[u8]) -> Result<Vec<RawPacket>> {
    let magic = rd32(b, 0, true).ok_or("too short")?;
    match magic {
        0xa1b2c3d4 | 0xa1b23c4d | 0xd4c3b2a1 | 0x4d3cb2a1 => read_pcap(b, magic),
        0x0a0d0d0a => read_pcapng(b),
        _ => Err(format!("not a pcap or pcapng file (magic {magic:08x})")),
    }
}

fn read_pcap(b: &[u8], magic: u32) -> Result<Vec<RawPacket>> {
    let le = matches!(magic, 0xa1b2c3d4 | 0xa1b23c4d);
    let nanos = matches!(magic, 0xa1b23c4d | 0x4d3cb2a1);
    let link = rd32(b, 20, le).ok_or("short header")?;
    if link & 0xffff != 1 {
        return Err(format!(
            "link type {link}: only Ethernet templates are supported"
        ));
    }
    let mut out = Vec::new();
    let mut o = 24;
    while o + 16 <= b.len() {
        let sec = rd32(b, o, le).unwrap() as i128;
        let frac = rd32(b, o + 4, le).unwrap() as i128;
        let caplen = rd32(b, o + 8, le).unwrap() as usize;
        let orig_len = rd32(b, o + 12, le).unwrap();
        let data = b.get(o + 16..o + 16 + caplen).ok_or("truncated record")?;
        let ts_ns = sec * 1_000_000_000 + if nanos { frac } else { frac * 1000 };
        out.push(RawPacket {
            ts_ns,
            orig_len,
            data: data.to_vec(),
        });
        o += 16 + caplen;
    }
    Ok(out)
}

fn read_pcapng(b: &[u8]) -> Result<Vec<RawPacket>> {
    let mut out = Vec::new();
    let mut le = true;
    // Per interface: (link type, ticks per second, offset in seconds).
    let mut ifaces: Vec<(u16, i128, i128)> = Vec::new();
    let mut o = 0;
    while o + 12 <= b.len() {
        let btype = rd32(b, o, true).unwrap();
        if btype == 0x0a0d0d0a {
            le = match rd32(b, o + 8, true).unwrap() {
                0x1a2b3c4d => true,
                0x4d3c2b1a => false,
                m => return Err(format!("bad byte-order magic {m:08x}")),
            };
            ifaces.clear();
        }
        let btype = rd32(b, o, le).unwrap();
        let blen = rd32(b, o + 4, le).unwrap() as usize;
        if blen < 12 || o + blen > b.len() {
            return Err(format!("bad block length {blen} at {o}"));
        }
        let body = &b[o + 8..o + blen - 4];
        match btype {
            1 => {
                let link = rd16(body, 0, le).ok_or("short IDB")?;
                let (mut tps, mut off) = (1_000_000i128, 0i128);
                let mut p = 8;
                while p + 4 <= body.len() {
                    let code = rd16(body, p, le).unwrap();
                    let len = rd16(body, p + 2, le).unwrap() as usize;
                    let v = body.get(p + 4..p + 4 + len).ok_or("bad IDB option")?;
                    match code {
                        0 => break,
                        9 if len >= 1 => {
                            let r = v[0];
                            tps = if r & 0x80 != 0 {
                                1i128 << (r & 0x7f)
                            } else {
                                10i128.pow(u32::from(r))
                            };
                        }
                        14 if len >= 8 => {
                            off = rd32(v, 0, le).unwrap() as i128
                                | (rd32(v, 4, le).unwrap() as i128) << 32
                        }
                        _ => {}
                    }
                    p += 4 + len.div_ceil(4) * 4;
                }
                ifaces.push((link, tps, off));
            }
            6 => {
                let id = rd32(body, 0, le).ok_or("short EPB")? as usize;
                let &(link, tps, off) = ifaces.get(id).ok_or("EPB of an unknown interface")?;
                if link != 1 {
                    return Err(format!(
                        "link type {link}: only Ethernet templates are supported"
                    ));
                }
                let ticks =
                    (rd32(body, 4, le).unwrap() as i128) << 32 | rd32(body, 8, le).unwrap() as i128;
                let caplen = rd32(body, 12, le).ok_or("short EPB")? as usize;
                let orig_len = rd32(body, 16, le).ok_or("short EPB")?;
                let data = body.get(20..20 + caplen).ok_or("truncated EPB")?;
                let ts_ns = off * 1_000_000_000 + ticks * 1_000_000_000 / tps;
                out.push(RawPacket {
                    ts_ns,
                    orig_len,
                    data: data.to_vec(),
                });
            }
            3 => return Err("simple packet blocks are not supported in templates".into()),
            _ => {}
        }
        o += blen;
    }
    Ok(out)
}

/// IPv4 address and port, as on the wire.
type Endpoint = [u8; 6];

/// A template connection: its number, its client (who sent the bare SYN), its server port.
type TConn = (u32, Option<Endpoint>, u16);

/// A template packet, with where the fields that change per replica are.
struct TPacket {
    /// Nanoseconds since the template's first packet.
    t: u64,
    orig_len: u32,
    data: Vec<u8>,
    conn: u32,
    from_client: bool,
    ack: bool,
    /// Offset of the IPv4 header and of the TCP header.
    ip: usize,
    tcp: usize,
    /// Offsets of SACK block edges (ACK-number space).
    sack: Vec<usize>,
}

struct Template {
    packets: Vec<TPacket>,
    conns: u32,
    /// Time from the first packet to the last.
    duration: u64,
    /// Bytes one replica adds to the file (record headers included).
    record_bytes: u64,
    /// The lowest server port of the template: servers get ports port_base..port_base+3.
    port_base: u16,
    first_ts: i128,
}

impl Template {
    fn new(raw: Vec<RawPacket>) -> Result<Self> {
        let first_ts = raw.iter().map(|p| p.ts_ns).min().ok_or("no packets")?;
        // Connections by unordered address pair; the client is whoever sent the bare SYN,
        // failing that the side with the higher port.
        let mut conns: HashMap<(Endpoint, Endpoint), TConn> = HashMap::new();
        let mut parsed = Vec::new();
        for (i, p) in raw.iter().enumerate() {
            let d = &p.data;
            if d.len() < 14 || be16(d, 12) != 0x0800 {
                return Err(format!("packet {}: not Ethernet/IPv4", i + 1));
            }
            let ip = 14;
            let ihl = usize::from(d.get(ip).ok_or("short")? & 0x0f) * 4;
            if d.len() < ip + ihl + 20 || d[ip + 9] != 6 || ihl < 20 {
                return Err(format!("packet {}: not TCP", i + 1));
            }
            let tcp = ip + ihl;
            let a: [u8; 6] = [
                d[ip + 12],
                d[ip + 13],
                d[ip + 14],
                d[ip + 15],
                d[tcp],
                d[tcp + 1],
            ];
            let b: [u8; 6] = [
                d[ip + 16],
                d[ip + 17],
                d[ip + 18],
                d[ip + 19],
                d[tcp + 2],
                d[tcp + 3],
            ];
            let key = if a < b { (a, b) } else { (b, a) };
            let n = conns.len() as u32;
            let e = conns.entry(key).or_insert((n, None, 0));
            let flags = d[tcp + 13];
            if flags & 0x12 == 0x02 {
                e.1.get_or_insert(a);
            }
            parsed.push((ip, tcp, key, a));
        }
        for e in conns.values_mut() {
            if e.1.is_none() {
                return Err(
                    "a connection without its SYN: templates must hold whole connections".into(),
                );
            }
        }
        let mut port_base = u16::MAX;
        for (&(a, b), e) in conns.iter_mut() {
            let server = if Some(a) == e.1 { b } else { a };
            e.2 = u16::from_be_bytes([server[4], server[5]]);
            port_base = port_base.min(e.2);
        }
        let port_base = port_base.min(u16::MAX - BACKEND_PORTS as u16);
        let mut packets = Vec::new();
        let mut record_bytes = 0;
        for (p, (ip, tcp, key, src)) in raw.into_iter().zip(parsed) {
            let c = conns[&key];
            let d = &p.data;
            let doff = usize::from(d[tcp + 12] >> 4) * 4;
            let mut sack = Vec::new();
            let mut o = tcp + 20;
            let end = (tcp + doff).min(d.len());
            while o < end {
                match d[o] {
                    0 => break,
                    1 => o += 1,
                    kind => {
                        let len = usize::from(*d.get(o + 1).unwrap_or(&2)).max(2);
                        if kind == 5 {
                            let mut e = o + 2;
                            while e + 4 <= (o + len).min(end) {
                                sack.push(e);
                                e += 4;
                            }
                        }
                        o += len;
                    }
                }
            }
            record_bytes += 16 + d.len() as u64;
            packets.push(TPacket {
                t: (p.ts_ns - first_ts) as u64,
                orig_len: p.orig_len,
                ack: d[tcp + 13] & 0x10 != 0,
                from_client: Some(src) == c.1,
                conn: c.0,
                ip,
                tcp,
                sack,
                data: p.data,
            });
        }
        packets.sort_by_key(|p| p.t);
        let duration = packets.last().map_or(0, |p| p.t);
        Ok(Template {
            conns: conns.len() as u32,
            packets,
            duration,
            record_bytes,
            port_base,
            first_ts,
        })
    }
}

/// splitmix64: a fixed, well-mixed function of the connection number.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d049bb133111eb);
    x ^ (x >> 31)
}

/// What one connection of one replica becomes.
#[derive(Clone, Copy)]
struct Rewrite {
    client: [u8; 6],
    server: [u8; 6],
    /// Added to the client's and the server's sequence numbers.
    delta: [u32; 2],
}

impl Rewrite {
    fn new(g: u64, port_base: u16, seed: u64) -> Self {
        let host = g / PORTS_PER_CLIENT;
        let cport = 1024 + (g % PORTS_PER_CLIENT) as u16;
        let cip = 0x0a40_0000u32 | (host as u32 & 0x003f_ffff);
        let b = g % (BACKEND_IPS * BACKEND_PORTS);
        let sip = 0x0a00_000au32 + (b % BACKEND_IPS) as u32;
        let sport = port_base + (b % BACKEND_PORTS) as u16;
        let mut client = [0; 6];
        client[..4].copy_from_slice(&cip.to_be_bytes());
        client[4..].copy_from_slice(&cport.to_be_bytes());
        let mut server = [0; 6];
        server[..4].copy_from_slice(&sip.to_be_bytes());
        server[4..].copy_from_slice(&sport.to_be_bytes());
        let h = mix(g ^ seed.rotate_left(17));
        Rewrite {
            client,
            server,
            delta: [h as u32, (h >> 32) as u32],
        }
    }
}

/// Ones'-complement checksum update for 16-bit words `old` replaced by `new` (RFC 1624, eqn. 3).
fn csum_update(ck: u16, old: &[u16], new: &[u16]) -> u16 {
    let mut sum = u32::from(!ck);
    for (&o, &n) in old.iter().zip(new) {
        sum += u32::from(!o) + u32::from(n);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The 16-bit words a rewrite changed, for the incremental checksum update.
struct Patch {
    old: [u16; 64],
    new: [u16; 64],
    n: usize,
}

impl Patch {
    fn put(&mut self, d: &mut [u8], o: usize, v: u16) {
        if self.n < self.old.len() {
            self.old[self.n] = be16(d, o);
            self.new[self.n] = v;
            self.n += 1;
            d[o..o + 2].copy_from_slice(&v.to_be_bytes());
        }
    }

    fn add32(&mut self, d: &mut [u8], o: usize, delta: u32) {
        let v = be32(d, o).wrapping_add(delta);
        self.put(d, o, (v >> 16) as u16);
        self.put(d, o + 2, v as u16);
    }
}

/// Rewrites a copy of a template packet in place (`d` holds exactly the packet's bytes).
fn rewrite(p: &TPacket, r: &Rewrite, d: &mut [u8]) {
    let (ip, tcp) = (p.ip, p.tcp);
    let (src, dst) = if p.from_client {
        (r.client, r.server)
    } else {
        (r.server, r.client)
    };
    let mine = r.delta[usize::from(!p.from_client)];
    let peer = r.delta[usize::from(p.from_client)];
    // The TCP checksum covers the addresses (pseudo-header), ports, seq, ack and options.
    let mut patch = Patch {
        old: [0; 64],
        new: [0; 64],
        n: 0,
    };
    let addrs = [&src[0..2], &src[2..4], &dst[0..2], &dst[2..4]];
    for (i, w) in addrs.into_iter().enumerate() {
        patch.put(d, ip + 12 + 2 * i, u16::from_be_bytes([w[0], w[1]]));
    }
    // The IPv4 header checksum covers the addresses only, among what changes.
    let ipck = csum_update(be16(d, ip + 10), &patch.old[..4], &patch.new[..4]);
    d[ip + 10..ip + 12].copy_from_slice(&ipck.to_be_bytes());
    patch.put(d, tcp, u16::from_be_bytes([src[4], src[5]]));
    patch.put(d, tcp + 2, u16::from_be_bytes([dst[4], dst[5]]));
    patch.add32(d, tcp + 4, mine);
    if p.ack {
        patch.add32(d, tcp + 8, peer);
    }
    for &e in &p.sack {
        patch.add32(d, e, peer);
    }
    let ck = csum_update(
        be16(d, tcp + 16),
        &patch.old[..patch.n],
        &patch.new[..patch.n],
    );
    d[tcp + 16..tcp + 18].copy_from_slice(&ck.to_be_bytes());
}

struct Stats {
    packets: u64,
    bytes: u64,
}

fn write_capture(
    t: &Template,
    replicas: u64,
    concurrency: u64,
    seed: u64,
    mut f: File,
) -> io::Result<Stats> {
    const FLUSH: usize = 8 << 20;
    let mut buf: Vec<u8> = Vec::with_capacity(FLUSH + 300_000);
    // pcap header: nanosecond magic, version 2.4, snaplen 262144, LINKTYPE_ETHERNET.
    buf.extend_from_slice(&0xa1b23c4du32.to_le_bytes());
    buf.extend_from_slice(&2u16.to_le_bytes());
    buf.extend_from_slice(&4u16.to_le_bytes());
    buf.extend_from_slice(&[0; 8]);
    buf.extend_from_slice(&262144u32.to_le_bytes());
    buf.extend_from_slice(&1u32.to_le_bytes());
    let stride = (t.duration / concurrency).max(1);
    let start = |k: u64| k * stride;
    // (time, replica, packet index): the next packet of every replica in flight.
    let mut heap: BinaryHeap<Reverse<(u64, u64, u32)>> = BinaryHeap::new();
    let mut rewrites: HashMap<u64, Vec<Rewrite>> = HashMap::new();
    let mut next = 0u64;
    let mut stats = Stats {
        packets: 0,
        bytes: 24,
    };
    loop {
        while next < replicas
            && heap
                .peek()
                .is_none_or(|Reverse((ts, _, _))| start(next) <= *ts)
        {
            let rw = (0..u64::from(t.conns))
                .map(|j| Rewrite::new(next * u64::from(t.conns) + j, t.port_base, seed))
                .collect();
            rewrites.insert(next, rw);
            heap.push(Reverse((start(next) + t.packets[0].t, next, 0)));
            next += 1;
        }
        let Some(Reverse((ts, k, i))) = heap.pop() else {
            break;
        };
        let p = &t.packets[i as usize];
        let rw = &rewrites[&k];
        let abs = t.first_ts + i128::from(ts);
        let (sec, nsec) = (abs.div_euclid(1_000_000_000), abs.rem_euclid(1_000_000_000));
        buf.extend_from_slice(&(sec as u32).to_le_bytes());
        buf.extend_from_slice(&(nsec as u32).to_le_bytes());
        buf.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
        buf.extend_from_slice(&p.orig_len.to_le_bytes());
        let at = buf.len();
        buf.extend_from_slice(&p.data);
        rewrite(p, &rw[p.conn as usize], &mut buf[at..]);
        stats.packets += 1;
        stats.bytes += 16 + p.data.len() as u64;
        if let Some(q) = t.packets.get(i as usize + 1) {
            heap.push(Reverse((start(k) + q.t, k, i + 1)));
        } else {
            rewrites.remove(&k);
        }
        if buf.len() >= FLUSH {
            f.write_all(&buf)?;
            buf.clear();
        }
    }
    f.write_all(&buf)?;
    f.flush()?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_sum(words: &[u16]) -> u16 {
        let mut s: u32 = words.iter().map(|&w| u32::from(w)).sum();
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        !(s as u16)
    }

    #[test]
    fn incremental_checksum_matches_a_full_one() {
        let mut w = [
            0x4500, 0x0073, 0x0000, 0x4000, 0x4011, 0, 0xc0a8, 0x0001, 0xc0a8, 0x00c7,
        ];
        w[5] = full_sum(&w);
        let old = [w[6], w[7]];
        let new = [0x0a40, 0x1234];
        w[6] = new[0];
        w[7] = new[1];
        let ck = csum_update(w[5], &old, &new);
        w[5] = 0;
        assert_eq!(ck, full_sum(&w));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("100M"), Some(100_000_000));
        assert_eq!(parse_size("1.5G"), Some(1_500_000_000));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("x"), None);
    }
}
