//! The push client against a scripted feed: parsing, resuming with the last
//! event id after a drop, back-off, and the state merged with synced alerts.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use chrono::Duration as Span;
use tend_domain::records::WanderingAlertType;
use tend_domain::wire::AlertEventKind;

use super::*;
use crate::CoreError;

fn alert(id: Uuid, minutes_ago: i64) -> LiveAlert {
    LiveAlert {
        id,
        room: Some("12".into()),
        first_name: "Maria".into(),
        alert: WanderingAlertType::ExitDoor,
        location: "east exit".into(),
        occurred_at: Utc::now() - Span::minutes(minutes_ago),
        acknowledged_at: None,
        acknowledged_by: None,
        escalated_at: None,
        resolved_at: None,
    }
}

fn event(seq: i64, kind: AlertEventKind, alert: LiveAlert) -> AlertEvent {
    AlertEvent {
        seq,
        event: kind,
        at: Utc::now(),
        alert,
    }
}

fn frame(e: &AlertEvent) -> Vec<u8> {
    format!(
        "event: wandering_alert\nid: {}\ndata: {}\n\n",
        e.seq,
        serde_json::to_string(e).unwrap()
    )
    .into_bytes()
}

#[test]
fn the_parser_follows_the_event_stream_format_across_chunk_boundaries() {
    let mut p = SseParser::default();
    assert!(
        p.feed(b": heartbeat\n\n").is_empty(),
        "a comment is no event"
    );
    assert!(p
        .feed(b"event: wandering_alert\r\nid: 7\r\ndata: {\"a\":")
        .is_empty());
    let got = p.feed(b"1}\r\n\r\ndata: x\ndata:y\n\n");
    assert_eq!(
        got,
        [
            SseMessage {
                id: Some("7".into()),
                event: Some("wandering_alert".into()),
                data: "{\"a\":1}".into()
            },
            SseMessage {
                id: Some("7".into()),
                event: None,
                data: "x\ny".into()
            },
        ]
    );
    // A multi-byte character split between chunks survives.
    let bytes = "data: Zoë\n\n".as_bytes();
    assert!(p.feed(&bytes[..9]).is_empty());
    assert_eq!(p.feed(&bytes[9..])[0].data, "Zoë");
    // A CR alone ends a line too (and a CR LF split across chunks is one end).
    assert!(p.feed(b"data: a\r").is_empty());
    assert!(
        p.feed(b"\n\r").is_empty(),
        "a lone CR at the end may be half a CR LF"
    );
    assert_eq!(p.feed(b"\n")[0].data, "a");
}

/// One scripted connection: its chunks (or the error that drops it), or a refused open.
type ScriptedOpen = Result<Vec<Result<Vec<u8>>>>;

/// Each open answers the next scripted stream (or error) and records the
/// `Last-Event-ID` it was asked to resume after.
#[derive(Default, Clone)]
struct Script {
    opens: Arc<Mutex<Vec<Option<i64>>>>,
    streams: Arc<Mutex<VecDeque<ScriptedOpen>>>,
}

struct Scripted(VecDeque<Result<Vec<u8>>>, bool);

impl AlertStream for Scripted {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        match self.0.pop_front() {
            Some(chunk) => chunk.map(Some),
            // The last stream stays open with nothing more to say.
            None if self.1 => std::future::pending().await,
            None => Ok(None),
        }
    }
}

impl AlertFeed for Script {
    type Stream = Scripted;
    async fn open(&self, last: Option<i64>) -> Result<Scripted> {
        self.opens.lock().unwrap().push(last);
        let next = self.streams.lock().unwrap().pop_front();
        match next {
            Some(Ok(chunks)) => {
                let last = self.streams.lock().unwrap().is_empty();
                Ok(Scripted(chunks.into(), last))
            }
            Some(Err(e)) => Err(e),
            None => std::future::pending().await,
        }
    }
}

#[tokio::test(start_paused = true)]
async fn after_a_drop_the_client_waits_and_resumes_after_the_last_event_it_saw() {
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let raised_a = event(3, AlertEventKind::Raised, alert(a, 2));
    let raised_b = event(5, AlertEventKind::Raised, alert(b, 1));
    let mut acked = alert(a, 2);
    acked.acknowledged_at = Some(Utc::now());
    acked.acknowledged_by = Some("Ruth Torres".into());
    let ack_a = event(6, AlertEventKind::Acknowledged, acked);
    let script = Script::default();
    {
        let mut s = script.streams.lock().unwrap();
        // First: one event, then the connection drops mid-way.
        let mut first = frame(&raised_a);
        let second = frame(&raised_b);
        first.extend_from_slice(&second[..10]);
        s.push_back(Ok(vec![
            Ok(first),
            Err(CoreError::Offline("dropped".into())),
        ]));
        // The server is down for a while.
        s.push_back(Err(CoreError::Offline("refused".into())));
        s.push_back(Err(CoreError::Offline("refused".into())));
        // Back: the missed events are replayed (the half-received one again).
        let mut replay = frame(&raised_b);
        replay.extend(frame(&ack_a));
        s.push_back(Ok(vec![Ok(b": heartbeat\n\n".to_vec()), Ok(replay)]));
    }
    let state = Arc::new(ActiveAlerts::default());
    let changes = Arc::new(Mutex::new(0));
    let task = {
        let (script, state, changes) = (script.clone(), state.clone(), changes.clone());
        tokio::spawn(async move {
            run_push(&script, &state, || *changes.lock().unwrap() += 1).await;
        })
    };
    // Paused time: the back-off sleeps pass as soon as everything idles.
    while script.opens.lock().unwrap().len() < 4 || state.last_event_id() != Some(6) {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        *script.opens.lock().unwrap(),
        [None, Some(3), Some(3), Some(3)]
    );
    assert!(state.connected());
    let shown = state.merged(Vec::new(), Utc::now() - Span::hours(12));
    assert_eq!(shown.len(), 2);
    assert_eq!(shown[0].id, a);
    assert_eq!(shown[0].acknowledged_by.as_deref(), Some("Ruth Torres"));
    assert!(!shown[0].is_active() && shown[1].is_active());
    assert!(*changes.lock().unwrap() >= 4, "up, event, down, up, events");
    task.abort();
}

#[test]
fn synced_alerts_show_without_the_push_channel_and_pushed_state_wins() {
    let state = ActiveAlerts::default();
    let (synced, pushed_only, old) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let since = Utc::now() - Span::hours(12);
    // Push down: what sync delivered is what shows.
    let recorded = vec![alert(synced, 5), alert(old, 13 * 60)];
    let shown = state.merged(recorded.clone(), since);
    assert_eq!(shown.iter().map(|a| a.id).collect::<Vec<_>>(), [synced]);
    assert!(!state.connected());

    // Push knows more: the synced one was found, another is not synced yet.
    let mut found = alert(synced, 5);
    found.resolved_at = Some(Utc::now());
    state.apply(&event(9, AlertEventKind::Resolved, found));
    state.apply(&event(10, AlertEventKind::Raised, alert(pushed_only, 1)));
    let shown = state.merged(recorded, since);
    assert_eq!(
        shown.iter().map(|a| a.id).collect::<Vec<_>>(),
        [pushed_only]
    );
    // A replayed older event does not move the resume point back.
    state.apply(&event(4, AlertEventKind::Raised, alert(pushed_only, 1)));
    assert_eq!(state.last_event_id(), Some(10));
    state.clear();
    assert_eq!(state.last_event_id(), None);
}
