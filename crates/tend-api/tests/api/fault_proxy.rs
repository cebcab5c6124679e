//! A fault-injecting TCP proxy to put between a device and the API: it
//! forwards bytes both ways and, at random (seeded, so a failing run can be
//! repeated), drops new connections, cuts a connection before the answer
//! reaches the client (the server did the work; the client never hears),
//! truncates an answer part-way, or delays it. Its upstream can be switched
//! and every live connection cut at once (a server restart).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The faults injected so far, by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FaultCounts {
    pub refused: u64,
    pub dropped_answers: u64,
    pub truncated_answers: u64,
    pub delayed: u64,
}

impl FaultCounts {
    pub fn total(&self) -> u64 {
        self.refused + self.dropped_answers + self.truncated_answers + self.delayed
    }
}

/// Per-fault probabilities (each decided independently; 0 disables).
#[derive(Debug, Clone, Copy)]
pub struct FaultRates {
    /// A new connection is closed at once.
    pub refuse: f64,
    /// An answer chunk is not delivered and the connection is cut.
    pub drop_answer: f64,
    /// Part of an answer chunk is delivered, then the connection is cut.
    pub truncate_answer: f64,
    /// An answer chunk is held back for up to `max_delay`.
    pub delay: f64,
    pub max_delay: Duration,
}

impl FaultRates {
    pub const NONE: FaultRates = FaultRates {
        refuse: 0.0,
        drop_answer: 0.0,
        truncate_answer: 0.0,
        delay: 0.0,
        max_delay: Duration::ZERO,
    };
}

struct Shared {
    upstream: Mutex<SocketAddr>,
    rates: Mutex<FaultRates>,
    rng: Mutex<u64>,
    refused: AtomicU64,
    dropped: AtomicU64,
    truncated: AtomicU64,
    delayed: AtomicU64,
    /// Bumped to cut every live connection.
    generation: watch::Sender<u64>,
    /// Holds every answer back (a server that hangs) while set.
    stall: AtomicBool,
}

impl Shared {
    /// xorshift64*: uniform in [0, 1).
    fn unit(&self) -> f64 {
        let mut s = self.rng.lock().unwrap();
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        let v = s.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (v >> 11) as f64 / (1u64 << 53) as f64
    }

    fn roll(&self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }
}

pub struct FaultProxy {
    /// `http://127.0.0.1:<port>`: give this to the device instead of the API's.
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut_all();
    }
}

impl FaultProxy {
    /// A proxy to `upstream` (an `http://host:port` base URL), faults off.
    pub async fn start(upstream: &str, seed: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            upstream: Mutex::new(parse_addr(upstream)),
            rates: Mutex::new(FaultRates::NONE),
            rng: Mutex::new(seed | 1),
            refused: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            truncated: AtomicU64::new(0),
            delayed: AtomicU64::new(0),
            generation: watch::Sender::new(0),
            stall: AtomicBool::new(false),
        });
        let accept = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let shared = accept.clone();
                tokio::spawn(async move {
                    let rates = *shared.rates.lock().unwrap();
                    if shared.roll(rates.refuse) {
                        shared.refused.fetch_add(1, Ordering::Relaxed);
                        drop(client);
                        return;
                    }
                    let upstream = *shared.upstream.lock().unwrap();
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let mut cut = shared.generation.subscribe();
                    tokio::select! {
                        () = relay(client, server, shared.clone()) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Self {
            url: format!("http://{addr}"),
            shared,
            task,
        }
    }

    pub fn set_rates(&self, rates: FaultRates) {
        *self.shared.rates.lock().unwrap() = rates;
    }

    /// Sends new connections to another server.
    pub fn set_upstream(&self, upstream: &str) {
        *self.shared.upstream.lock().unwrap() = parse_addr(upstream);
    }

    /// Cuts every live connection (requests in flight are lost both ways).
    pub fn cut_all(&self) {
        self.shared.generation.send_modify(|g| *g += 1);
    }

    /// Holds every answer back until [`FaultProxy::release`].
    pub fn stall(&self) {
        self.shared.stall.store(true, Ordering::SeqCst);
    }

    pub fn release(&self) {
        self.shared.stall.store(false, Ordering::SeqCst);
    }

    pub fn counts(&self) -> FaultCounts {
        FaultCounts {
            refused: self.shared.refused.load(Ordering::Relaxed),
            dropped_answers: self.shared.dropped.load(Ordering::Relaxed),
            truncated_answers: self.shared.truncated.load(Ordering::Relaxed),
            delayed: self.shared.delayed.load(Ordering::Relaxed),
        }
    }
}

fn parse_addr(base: &str) -> SocketAddr {
    base.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("an http://ip:port base URL")
}

/// Copies both ways until either side closes or a fault cuts the connection.
async fn relay(client: TcpStream, server: TcpStream, shared: Arc<Shared>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests = async {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        let _ = server_write.shutdown().await;
    };
    let answers = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            while shared.stall.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let rates = *shared.rates.lock().unwrap();
            if shared.roll(rates.drop_answer) {
                shared.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            if shared.roll(rates.truncate_answer) {
                shared.truncated.fetch_add(1, Ordering::Relaxed);
                let keep = ((n as f64) * shared.unit()) as usize;
                let _ = client_write.write_all(&buf[..keep]).await;
                return;
            }
            if shared.roll(rates.delay) {
                shared.delayed.fetch_add(1, Ordering::Relaxed);
                let wait = rates.max_delay.mul_f64(shared.unit());
                tokio::time::sleep(wait).await;
            }
            if client_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    };
    // Either direction ending (a close, or a fault) closes the connection,
    // so a client never waits out its timeout on a half-dead socket.
    tokio::select! {
        () = requests => {}
        () = answers => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::helpers::spawn_app;

    async fn ready(client: &reqwest::Client, url: &str) -> bool {
        match client.get(format!("{url}/readyz")).send().await {
            Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
            Err(_) => false,
        }
    }

    #[tokio::test]
    async fn the_proxy_forwards_then_refuses_drops_truncates_and_can_be_rerouted() {
        let app = spawn_app().await;
        let proxy = FaultProxy::start(&app.base, 42).await;
        // A new connection per request, so every fault decision is fresh.
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        assert!(ready(&client, &proxy.url).await);
        for (rates, what) in [
            (
                FaultRates {
                    refuse: 1.0,
                    ..FaultRates::NONE
                },
                "refused",
            ),
            (
                FaultRates {
                    drop_answer: 1.0,
                    ..FaultRates::NONE
                },
                "dropped",
            ),
            (
                FaultRates {
                    truncate_answer: 1.0,
                    ..FaultRates::NONE
                },
                "truncated",
            ),
        ] {
            proxy.set_rates(rates);
            assert!(!ready(&client, &proxy.url).await, "{what}");
        }
        proxy.set_rates(FaultRates {
            delay: 1.0,
            max_delay: Duration::from_millis(20),
            ..FaultRates::NONE
        });
        assert!(ready(&client, &proxy.url).await);
        let counts = proxy.counts();
        assert_eq!(
            (
                counts.refused,
                counts.dropped_answers,
                counts.truncated_answers
            ),
            (1, 1, 1)
        );
        assert!(counts.delayed >= 1 && counts.total() >= 4);

        // A stalled answer arrives once released.
        proxy.stall();
        let waiting = tokio::spawn({
            let (client, url) = (client.clone(), proxy.url.clone());
            async move { ready(&client, &url).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        proxy.release();
        assert!(waiting.await.unwrap());

        // Rerouted to another instance after the first one is gone.
        proxy.set_rates(FaultRates::NONE);
        let (second, _server) = app.second_instance().await;
        proxy.set_upstream(&second);
        proxy.cut_all();
        assert!(ready(&client, &proxy.url).await);
    }
}
