use h2scope::capture::CaptureReader;
use h2scope::reassembly::{Config, StreamEvent};
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let mut r = CaptureReader::open(std::path::Path::new(&path)).unwrap();
    let mut sink = |ev: StreamEvent<'_>| match ev {
        StreamEvent::Data {
            conn, dir, data, ..
        } => println!(
            "data {conn} {dir:?} {} {:02x?}",
            data.len(),
            &data[..data.len().min(32)]
        ),
        StreamEvent::Gap { conn, dir, len, .. } => println!("gap {conn} {dir:?} {len}"),
        StreamEvent::Open {
            conn,
            client,
            server,
            handshake,
            ..
        } => println!("open {conn} {client} {server} {handshake}"),
        StreamEvent::Closed { conn, .. } => println!("closed {conn}"),
        _ => {}
    };
    h2scope::engine::run_reader(&mut r, Config::default(), &mut sink);
}
