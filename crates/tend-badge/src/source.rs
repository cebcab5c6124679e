//! The one trait every badge source implements, and the channel its reads
//! travel on. Sources push into a [`BadgeSink`] (cheap to clone, usable from
//! plain threads); the tokio app awaits them on the [`BadgeReceiver`]. Several
//! sources (a PC/SC watcher and the keyboard wedge) can share one sink.

use tokio::sync::mpsc;

use crate::{BadgeRead, Result};

/// A source of badge reads: PC/SC readers, the keyboard wedge, or a test double.
pub trait BadgeSource: Send {
    /// A short, non-sensitive name for logs (`"pcsc"`, `"wedge"`).
    fn name(&self) -> &'static str;

    /// Starts delivering reads into `sink`, until [`BadgeSource::stop`] is called,
    /// the source is dropped, or the receiver is gone.
    fn start(&mut self, sink: BadgeSink) -> Result<()>;

    /// Stops delivering reads. When it returns, no further read is sent.
    /// Stopping a stopped source does nothing.
    fn stop(&mut self);
}

/// Creates the channel that badge sources send their reads on.
pub fn badge_channel() -> (BadgeSink, BadgeReceiver) {
    let (sender, receiver) = mpsc::unbounded_channel();
    (BadgeSink(sender), BadgeReceiver(receiver))
}

/// The sending half: sources hold a clone. Sending never blocks, so a reader
/// thread is never held up by a slow consumer (reads are rare and small).
#[derive(Clone, Debug)]
pub struct BadgeSink(mpsc::UnboundedSender<BadgeRead>);

impl BadgeSink {
    /// Sends a read; `false` when the receiver is gone (the source should stop).
    pub fn send(&self, read: BadgeRead) -> bool {
        self.0.send(read).is_ok()
    }

    /// Whether the receiver has been dropped.
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

/// The receiving half, owned by the session logic.
#[derive(Debug)]
pub struct BadgeReceiver(mpsc::UnboundedReceiver<BadgeRead>);

impl BadgeReceiver {
    /// Waits for the next read; `None` once every sink is gone.
    pub async fn recv(&mut self) -> Option<BadgeRead> {
        self.0.recv().await
    }

    /// Blocking variant for non-async callers (never call it on a tokio worker).
    pub fn blocking_recv(&mut self) -> Option<BadgeRead> {
        self.0.blocking_recv()
    }

    /// Returns a read if one is waiting.
    pub fn try_recv(&mut self) -> Option<BadgeRead> {
        self.0.try_recv().ok()
    }
}
