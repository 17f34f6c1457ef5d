//! The `h2scope` binary: parses the command line, runs the library, and maps errors to
//! messages and exit codes (0 success, 1 a damaged capture that was read in part, 2 nothing read).

mod cli;

use anyhow::Context;
use clap::Parser;
use cli::{CaptureBackend, Cli, Command, ExportArgs, OpenArgs, SchemaArgs, SniffArgs};
use h2scope::capture::CaptureReader;
use h2scope::export;
use h2scope::grpc::Descriptors;
use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

// mimalloc instead of glibc's malloc: an export makes and frees millions of small strings
// and vectors (header fields, JSON records), and with `-j2` many are freed on the other
// thread; docs/performance.md has the figures.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Export(args) => run_export(args),
        Command::Sniff(args) => run_sniff(args),
        Command::Open(args) => run_open(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                // `h2scope export x | head` closing the pipe early is not a failure.
                return ExitCode::SUCCESS;
            }
            say(&format!("{e:#}"));
            ExitCode::from(2)
        }
    }
}

/// Standard output as a plain file (a duplicate of its descriptor). The export writes it in
/// 64 KiB blocks; the standard library's line-buffered stdout would search every block for
/// a newline first.
fn stdout_file() -> io::Result<File> {
    use std::os::fd::AsFd;
    Ok(File::from(io::stdout().as_fd().try_clone_to_owned()?))
}

/// One line on stderr. Messages quote file and interface names and whatever an error says of
/// the capture, any of which may carry escape sequences: shown escaped for the eye by the
/// text policy, never interpreted.
fn say(message: &str) {
    let _ = writeln!(io::stderr(), "h2scope: {}", h2scope::text::visible(message));
}

fn run_export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let source = args.file.to_string_lossy().into_owned();
    let reader =
        CaptureReader::open(&args.file).with_context(|| format!("cannot read {source}"))?;
    let descriptors = load_descriptors(&args.schemas)?;
    let options = export::Options {
        filter: parse_filter(args.filter.text.as_deref())?,
        frames: args.frames,
        no_messages: args.no_messages,
        descriptors,
        backend_header: args.backend_header.clone(),
        reassembly: args.limits.to_limits().reassembly(),
        limits: args.limits.to_limits(),
        keep_streams: None,
        // More than two would idle: the export has two stages.
        threads: args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(2))),
    };
    let (written, error) = match &args.output {
        Some(path) => {
            let f =
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            let (w, e) = export::export(&source, reader, &options, args.ndjson, args.pretty, f);
            (
                w.with_context(|| format!("cannot write {}", path.display())),
                e,
            )
        }
        None => {
            // Every layout is written by compact_json, whose strings are inert already.
            let out = stdout_file()?;
            let (w, e) = export::export(&source, reader, &options, args.ndjson, args.pretty, out);
            (w.map_err(anyhow::Error::from), e)
        }
    };
    written?;
    Ok(match error {
        Some(e) => {
            say(&format!(
                "{source}: {e} (the output holds everything before it)"
            ));
            ExitCode::from(1)
        }
        None => ExitCode::SUCCESS,
    })
}

/// Live capture: the terminal UI, or headless with `--export FILE` or `--ndjson`.
#[cfg(unix)]
fn run_sniff(args: SniffArgs) -> anyhow::Result<ExitCode> {
    use h2scope::capture::live::{self, stop_on_signals};
    use h2scope::capture::writer::PcapngWriter;
    use h2scope::engine::{self, Until};

    let headless = args.export.is_some() || args.ndjson;
    if !headless && !io::stdout().is_terminal() {
        say(
            "sniff shows its terminal UI and standard output is not a terminal; use --ndjson or --export FILE",
        );
        return Ok(ExitCode::from(2));
    }
    let descriptors = load_descriptors(&args.schemas)?;
    let keep_calls = (args.keep_calls > 0).then_some(args.keep_calls);
    let options = export::Options {
        no_messages: args.no_messages,
        descriptors,
        backend_header: args.backend_header.clone(),
        reassembly: args.limits.to_limits().reassembly(),
        limits: args.limits.to_limits(),
        keep_streams: keep_calls,
        ..export::Options::default()
    };
    let backend = args.capture_backend.map(|b| match b {
        CaptureBackend::Afpacket => live::Backend::AfPacket,
        CaptureBackend::Pcap => live::Backend::Pcap,
    });
    let live_options = live::LiveOptions {
        interface: &args.interface,
        snaplen: args.snaplen,
        promiscuous: args.promiscuous,
        filter: args.filter.text.as_deref(),
    };
    let mut capture = live::open(backend, &live_options).map_err(live_error)?;
    let mut save = match &args.write {
        Some(path) => {
            let f =
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            let w = io::BufWriter::new(f);
            Some(PcapngWriter::new(
                w,
                capture.link_type(),
                args.snaplen,
                &args.interface,
            )?)
        }
        None => None,
    };
    let stop = stop_on_signals();
    let until = Until {
        duration: args.duration.map(std::time::Duration::from_secs_f64),
        packets: args.count,
    };
    let source = format!("live:{}", args.interface);
    if !headless {
        let sniff = h2scope::tui::SniffOptions {
            source,
            backend_header: args.backend_header.clone(),
            feed: h2scope::tui::feed::FeedOptions {
                descriptors: options.descriptors.clone(),
                reassembly: options.reassembly.clone(),
                filter: None,
                limits: options.limits.clone(),
            },
            until,
            keep_calls,
        };
        let end = h2scope::tui::sniff(capture, save, sniff, stop).context("terminal")?;
        if let Some(w) = end.save {
            w.finish().context("cannot finish the saved capture")?;
        }
        return Ok(match end.error {
            Some(e) => {
                say(&e.to_string());
                ExitCode::from(1)
            }
            None => ExitCode::SUCCESS,
        });
    }
    let out: Box<dyn Write> = match &args.export {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(io::stdout().lock()),
    };
    let mut session = export::Session::new(&options, args.ndjson, false, out);
    let (summary, drops, error) = engine::run_live(
        capture.as_mut(),
        options.reassembly.clone(),
        session.sink(),
        stop,
        until,
        save.as_mut(),
        |_, _| true,
    );
    if let Some(w) = save {
        w.finish().context("cannot finish the saved capture")?;
    }
    let mut info = export::CaptureInfo::new(source, None, false, &summary, error.clone());
    info.format = "live";
    info.kernel_drops = Some(drops);
    session.finish(info)?;
    Ok(match error {
        Some(e) => {
            say(&format!("{e} (the output holds everything before it)"));
            ExitCode::from(1)
        }
        None => ExitCode::SUCCESS,
    })
}

#[cfg(not(unix))]
fn run_sniff(_args: SniffArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("live capture needs Linux (AF_PACKET) or a Unix with libpcap")
}

/// The live-capture errors whose remedy is a command-line flag or another build; the others
/// say enough themselves.
#[cfg(unix)]
fn live_error(e: h2scope::capture::live::LiveError) -> anyhow::Error {
    use h2scope::capture::live::{Backend, LiveError};
    match e {
        LiveError::Unsupported => {
            anyhow::anyhow!("{e}: build h2scope with `cargo build --features libpcap`")
        }
        LiveError::NotBuilt(Backend::AfPacket) => {
            anyhow::anyhow!("AF_PACKET capture needs Linux; use --capture-backend pcap")
        }
        LiveError::NotBuilt(Backend::Pcap) => anyhow::anyhow!(
            "this h2scope was built without libpcap: build it with `cargo build --features libpcap`"
        ),
        e => e.into(),
    }
}

/// Runs the terminal UI; without a terminal to draw on, says so and points to `export`.
fn run_open(args: OpenArgs) -> anyhow::Result<ExitCode> {
    if !io::stdout().is_terminal() {
        say(&format!(
            "open needs a terminal and standard output is not one; for JSON use `h2scope export {}`",
            args.file.display()
        ));
        return Ok(ExitCode::from(2));
    }
    let source = args.file.to_string_lossy().into_owned();
    let reader =
        CaptureReader::open(&args.file).with_context(|| format!("cannot read {source}"))?;
    let options = h2scope::tui::OpenOptions {
        source,
        backend_header: args.backend_header,
        keep_calls: (args.keep_calls > 0).then_some(args.keep_calls),
        feed: h2scope::tui::feed::FeedOptions {
            filter: parse_filter(args.filter.text.as_deref())?,
            descriptors: load_descriptors(&args.schemas)?,
            reassembly: args.limits.to_limits().reassembly(),
            limits: args.limits.to_limits(),
        },
    };
    h2scope::tui::open(reader, options).context("terminal")?;
    Ok(ExitCode::SUCCESS)
}

/// Parses `-f`; an expression outside the supported subset is a clear error.
fn parse_filter(text: Option<&str>) -> anyhow::Result<Option<h2scope::filter::Filter>> {
    text.map(|t| h2scope::filter::Filter::parse(t).map_err(anyhow::Error::from))
        .transpose()
}

/// Loads every schema named on the command line; the first bad one stops the run.
fn load_descriptors(args: &SchemaArgs) -> anyhow::Result<Descriptors> {
    let mut d = Descriptors::empty();
    for set in &args.descriptor_set {
        d.add_descriptor_set(set)?;
    }
    if !args.proto_path.is_empty() {
        d.add_protos(&args.proto_path, &args.proto)?;
    }
    Ok(d)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
