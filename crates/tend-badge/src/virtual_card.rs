//! A virtual contactless card for vsmartcard's `vpcd` reader driver, so PC/SC
//! code can be tested end to end without hardware. Test support only: compiled
//! with the `virtual-card` feature, never in the app.
//!
//! vpcd (loaded by pcscd) listens on TCP 35963 for reader `Virtual PCD 00 00`
//! and 35964 for `Virtual PCD 00 01`. A card is a TCP client: connecting
//! inserts it, closing removes it. Frames are a 2-byte big-endian length and a
//! payload; a 1-byte payload from vpcd is a control message (`00` power off,
//! `01` power on, `02` reset, `04` "send your ATR"), anything longer is a command
//! APDU to answer with response data and a status word.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// vpcd's port for the first virtual reader (`Virtual PCD 00 00`).
pub const VPCD_PORT: u16 = 35963;
/// vpcd's port for the second virtual reader (`Virtual PCD 00 01`).
pub const VPCD_PORT_2: u16 = 35964;
/// The PC/SC name of the reader behind [`VPCD_PORT`].
pub const VPCD_READER: &str = "Virtual PCD 00 00";
/// The PC/SC name of the reader behind [`VPCD_PORT_2`].
pub const VPCD_READER_2: &str = "Virtual PCD 00 01";

/// A contactless ATR as PC/SC readers build it for ISO 14443 cards.
pub const CONTACTLESS_ATR: [u8; 20] = [
    0x3B, 0x8F, 0x80, 0x01, 0x80, 0x4F, 0x0C, 0xA0, 0x00, 0x00, 0x03, 0x06, 0x03, 0x00, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x6A,
];

/// How the card answers `FF CA 00 00 00` (GET DATA: UID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardBehavior {
    /// Answers with these bytes and `90 00` (any length, to emulate odd cards).
    Uid(Vec<u8>),
    /// A phone or an application card: `6A 81`.
    Phone,
    /// A card or reader without the pseudo-APDU: `6D 00`.
    NoGetData,
    /// Answers with this status word and no data.
    StatusWord(u16),
}

/// A virtual card, ready to be inserted into a vpcd reader.
#[derive(Debug, Clone)]
pub struct VirtualCard {
    behavior: CardBehavior,
    atr: Vec<u8>,
    port: u16,
}

impl VirtualCard {
    /// A card with the given behavior, for the first virtual reader.
    pub fn new(behavior: CardBehavior) -> Self {
        Self {
            behavior,
            atr: CONTACTLESS_ATR.to_vec(),
            port: VPCD_PORT,
        }
    }

    /// A badge with this UID.
    pub fn with_uid(uid: &[u8]) -> Self {
        Self::new(CardBehavior::Uid(uid.to_vec()))
    }

    /// Uses another vpcd port (35964 is the second reader).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Uses another ATR.
    pub fn atr(mut self, atr: &[u8]) -> Self {
        self.atr = atr.to_vec();
        self
    }

    /// Inserts the card: connects to vpcd and answers it on a thread until
    /// removed. Fails when vpcd is not listening (pcscd not running).
    pub fn insert(&self) -> io::Result<InsertedCard> {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
        stream.set_nodelay(true)?;
        let stats = Arc::new(Counters::new());
        let thread = std::thread::Builder::new()
            .name("virtual-card".into())
            .spawn({
                let stream = stream.try_clone()?;
                let card = self.clone();
                let stats = Arc::clone(&stats);
                move || card.serve(stream, &stats)
            })?;
        Ok(InsertedCard {
            stream,
            thread: Some(thread),
            stats,
        })
    }

    fn serve(&self, mut stream: TcpStream, stats: &Counters) -> io::Result<()> {
        loop {
            // vpcd writes small control frames (power on, reset) that get no
            // answer; with a delayed ACK from us, Nagle's algorithm holds vpcd's
            // next frame for ~40 ms each time. Acknowledge immediately (Linux
            // clears the flag after a while, so set it before every read).
            let _ = socket2::SockRef::from(&stream).set_tcp_quickack(true);
            let mut header = [0u8; 2];
            match stream.read_exact(&mut header) {
                Ok(()) => {}
                // vpcd closed the connection (pcscd stopped) or we were removed.
                Err(e) if is_closed(&e) => return Ok(()),
                Err(e) => return Err(e),
            }
            let mut payload = vec![0u8; usize::from(u16::from_be_bytes(header))];
            match stream.read_exact(&mut payload) {
                Ok(()) => {}
                Err(e) if is_closed(&e) => return Ok(()),
                Err(e) => return Err(e),
            }
            let response = match payload.as_slice() {
                [0x04] => {
                    stats.atr_requests.fetch_add(1, Ordering::SeqCst);
                    stats.mark(|t| &mut t.first_atr_request);
                    Some(self.atr.clone())
                }
                // Power off, power on, reset: nothing to answer.
                [_] => None,
                apdu => {
                    stats.apdus.fetch_add(1, Ordering::SeqCst);
                    Some(self.answer(apdu, stats))
                }
            };
            if let Some(response) = response {
                let mut frame = Vec::with_capacity(response.len() + 2);
                let length = u16::try_from(response.len())
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "response too long"))?;
                frame.extend_from_slice(&length.to_be_bytes());
                frame.extend_from_slice(&response);
                match stream.write_all(&frame) {
                    Ok(()) => {}
                    Err(e) if is_closed(&e) => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
        }
    }

    fn answer(&self, apdu: &[u8], stats: &Counters) -> Vec<u8> {
        if !apdu.starts_with(&[0xFF, 0xCA, 0x00, 0x00]) {
            return vec![0x6D, 0x00];
        }
        stats.uid_reads.fetch_add(1, Ordering::SeqCst);
        stats.mark(|t| &mut t.first_uid_read);
        match &self.behavior {
            CardBehavior::Uid(uid) => {
                let mut response = uid.clone();
                response.extend_from_slice(&[0x90, 0x00]);
                response
            }
            CardBehavior::Phone => vec![0x6A, 0x81],
            CardBehavior::NoGetData => vec![0x6D, 0x00],
            CardBehavior::StatusWord(sw) => sw.to_be_bytes().to_vec(),
        }
    }
}

fn is_closed(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::NotConnected
    )
}

#[derive(Debug)]
struct Counters {
    inserted: Instant,
    atr_requests: AtomicUsize,
    apdus: AtomicUsize,
    uid_reads: AtomicUsize,
    timings: Mutex<CardTimings>,
}

impl Counters {
    fn new() -> Self {
        Self {
            inserted: Instant::now(),
            atr_requests: AtomicUsize::new(0),
            apdus: AtomicUsize::new(0),
            uid_reads: AtomicUsize::new(0),
            timings: Mutex::new(CardTimings::default()),
        }
    }

    /// Records the first occurrence of an event, relative to insertion.
    fn mark(&self, field: impl FnOnce(&mut CardTimings) -> &mut Option<Duration>) {
        let mut timings = self.timings.lock().unwrap_or_else(PoisonError::into_inner);
        field(&mut timings).get_or_insert_with(|| self.inserted.elapsed());
    }
}

/// When things first happened to an inserted card, counted from insertion.
/// Splits tap latency into the reader's polling and the watcher's work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CardTimings {
    /// vpcd first asked for the ATR (its presence poll found the card).
    pub first_atr_request: Option<Duration>,
    /// The UID was first asked for (`FF CA`).
    pub first_uid_read: Option<Duration>,
}

/// A card in a reader. Dropping it (or [`InsertedCard::remove`]) removes it.
#[derive(Debug)]
pub struct InsertedCard {
    stream: TcpStream,
    thread: Option<JoinHandle<io::Result<()>>>,
    stats: Arc<Counters>,
}

impl InsertedCard {
    /// How many times the UID was asked for.
    pub fn uid_reads(&self) -> usize {
        self.stats.uid_reads.load(Ordering::SeqCst)
    }

    /// How many command APDUs arrived.
    pub fn apdus(&self) -> usize {
        self.stats.apdus.load(Ordering::SeqCst)
    }

    /// When vpcd first polled the card and when its UID was first read.
    pub fn timings(&self) -> CardTimings {
        *self
            .stats
            .timings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether vpcd has talked to the card at all (asked for its ATR).
    pub fn seen_by_reader(&self) -> bool {
        self.stats.atr_requests.load(Ordering::SeqCst) > 0
    }

    /// Waits until the UID has been asked for, up to `timeout`.
    pub fn wait_for_uid_read(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.uid_reads() == 0 {
            if Instant::now() >= deadline || self.thread.as_ref().is_none_or(|t| t.is_finished()) {
                return self.uid_reads() > 0;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// Takes the card out of the reader.
    pub fn remove(mut self) -> io::Result<()> {
        self.close()
    }

    fn close(&mut self) -> io::Result<()> {
        let _ = self.stream.shutdown(Shutdown::Both);
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| io::Error::other("the virtual card thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for InsertedCard {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// Holds the machine-wide right to use pcscd and the vpcd ports in a test.
/// Tests in different processes (nextest runs each test in its own) serialize
/// on it; the kernel releases it when the holder exits, even on a crash.
#[derive(Debug)]
pub struct VpcdLock {
    _listener: TcpListener,
}

/// The loopback port whose binding is the lock.
pub const VPCD_LOCK_PORT: u16 = 35962;

impl VpcdLock {
    /// Waits up to `timeout` for the lock.
    pub fn acquire(timeout: Duration) -> io::Result<Self> {
        let deadline = Instant::now() + timeout;
        loop {
            match TcpListener::bind((Ipv4Addr::LOCALHOST, VPCD_LOCK_PORT)) {
                Ok(listener) => {
                    return Ok(Self {
                        _listener: listener,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(e),
            }
        }
    }
}
