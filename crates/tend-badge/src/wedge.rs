//! Keyboard-wedge readers (RF IDeas pcProx, OMNIKEY in keyboard mode) type the
//! badge number followed by Enter. The webview recognizes such bursts
//! (`ui/src/lib/badge/wedge.ts`) and hands the value over IPC to
//! [`WedgeInput::submit`], which validates it and feeds the same sink as the
//! PC/SC readers.

use std::sync::{Arc, Mutex, PoisonError};

use crate::{BadgeError, BadgeRead, BadgeSink, BadgeSource, BadgeUid, Result, WedgeFormat};

/// The reader name that wedge reads carry.
pub const WEDGE_READER: &str = "keyboard-wedge";

/// The keyboard-wedge badge source. Its [`WedgeInput`] handle is what the IPC
/// command calls with a recognized burst.
#[derive(Debug)]
pub struct WedgeSource {
    input: WedgeInput,
}

/// A cloneable handle that submits wedge values into the running source.
#[derive(Debug, Clone)]
pub struct WedgeInput {
    format: Arc<WedgeFormat>,
    sink: Arc<Mutex<Option<BadgeSink>>>,
}

impl WedgeSource {
    /// A source that accepts values of the given shape.
    pub fn new(format: WedgeFormat) -> Self {
        Self {
            input: WedgeInput {
                format: Arc::new(format),
                sink: Arc::new(Mutex::new(None)),
            },
        }
    }

    /// The handle to give the IPC layer.
    pub fn input(&self) -> WedgeInput {
        self.input.clone()
    }
}

impl WedgeInput {
    /// Validates a recognized burst and sends it as a [`BadgeRead::Present`]
    /// (the wedge has no removal; it reports taps only).
    pub fn submit(&self, raw: &str) -> Result<()> {
        let uid = BadgeUid::parse_wedge(raw, &self.format)?;
        let guard = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        let sink = guard.as_ref().ok_or(BadgeError::NotRunning)?;
        if sink.send(BadgeRead::Present {
            reader: WEDGE_READER.to_owned(),
            uid,
        }) {
            tracing::debug!(reader = WEDGE_READER, "badge presented");
            Ok(())
        } else {
            Err(BadgeError::NotRunning)
        }
    }
}

impl BadgeSource for WedgeSource {
    fn name(&self) -> &'static str {
        "wedge"
    }

    fn start(&mut self, sink: BadgeSink) -> Result<()> {
        let mut guard = self
            .input
            .sink
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if guard.is_some() {
            return Err(BadgeError::AlreadyRunning);
        }
        *guard = Some(sink);
        Ok(())
    }

    fn stop(&mut self) {
        *self
            .input
            .sink
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::badge_channel;
    use tend_domain::ErrorCode;

    #[test]
    fn submits_valid_values_into_the_sink() {
        let (sink, mut receiver) = badge_channel();
        let mut source = WedgeSource::new(WedgeFormat::default());
        let input = source.input();
        assert_eq!(
            input.submit("12345678").unwrap_err().code(),
            ErrorCode::Unavailable
        );

        source.start(sink.clone()).unwrap();
        assert!(matches!(
            source.start(sink),
            Err(BadgeError::AlreadyRunning)
        ));
        input.submit("0012345678").unwrap();
        let Some(BadgeRead::Present { reader, uid }) = receiver.try_recv() else {
            panic!("expected a read");
        };
        assert_eq!(reader, WEDGE_READER);
        assert_eq!(uid.expose_canonical(), "12345678");

        let err = input.submit("12").unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationFailed);
        assert!(receiver.try_recv().is_none());

        source.stop();
        assert!(matches!(
            input.submit("12345678"),
            Err(BadgeError::NotRunning)
        ));
    }
}
