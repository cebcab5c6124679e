//! Is the central API reachable right now? A small probe (`GET /readyz`,
//! which answers 200 only when the API and its database are up) that drives
//! the status bar's online/offline state; and the one HTTP client the
//! process uses for the central API ([`shared_client`]).

use std::time::Duration;

use crate::app_status::ConnectionState;

/// How long one probe may take before the server counts as unreachable.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// How often the app probes while it has nothing else to say to the server.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(15);

/// Probes the API once. Any answer other than 2xx from `/readyz` (refused
/// connection, timeout, TLS failure, 503 while the database is down) is
/// `Offline`; the reason is logged without the URL's credentials or query.
pub async fn probe(client: &reqwest::Client, server_url: &str) -> ConnectionState {
    let url = format!("{}/readyz", server_url.trim_end_matches('/'));
    match client.get(&url).timeout(PROBE_TIMEOUT).send().await {
        Ok(response) if response.status().is_success() => ConnectionState::Online,
        Ok(response) => {
            tracing::debug!(status = response.status().as_u16(), "server not ready");
            ConnectionState::Offline
        }
        Err(e) => {
            tracing::debug!(
                timeout = e.is_timeout(),
                connect = e.is_connect(),
                "server unreachable"
            );
            ConnectionState::Offline
        }
    }
}

/// An HTTP client for the central API: system trust store (hospitals run
/// their own CAs), no redirects to other hosts, a bounded connect time.
pub fn api_client(app_version: &str) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(format!("tend/{app_version}"))
        .connect_timeout(PROBE_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// The process's HTTP client for the central API, built once by the first
/// caller (its `app_version` names the user agent) and shared after that:
/// the device link, enrollment, the admin console and the connectivity
/// probe reuse one connection pool.
pub fn shared_client(app_version: &str) -> crate::Result<reqwest::Client> {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client.clone());
    }
    let built = api_client(app_version)
        .map_err(|e| crate::CoreError::Config(format!("no HTTP client: {e}")))?;
    Ok(CLIENT.get_or_init(|| built).clone())
}

/// Probes now and then every `interval`, calling `on_change` with each new
/// state (the first result always counts as a change). Runs until the
/// returned future is dropped.
pub async fn watch(
    client: reqwest::Client,
    server_url: String,
    interval: Duration,
    mut on_change: impl FnMut(ConnectionState) + Send,
) {
    let mut last = None;
    loop {
        let state = probe(&client, &server_url).await;
        if last != Some(state) {
            tracing::info!(connection = ?state, "server connection changed");
            on_change(state);
            last = Some(state);
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A one-route HTTP server answering every request with `status`.
    async fn server(status: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    let _ = socket.read(&mut buf).await;
                    let response = format!(
                        "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        format!("http://{addr}")
    }

    fn client() -> reqwest::Client {
        api_client("test").unwrap()
    }

    #[tokio::test]
    async fn a_ready_server_is_online() {
        let url = server("200 OK").await;
        assert_eq!(probe(&client(), &url).await, ConnectionState::Online);
        // A trailing slash in the configured address changes nothing.
        assert_eq!(
            probe(&client(), &format!("{url}/")).await,
            ConnectionState::Online
        );
    }

    #[tokio::test]
    async fn a_server_without_its_database_is_offline() {
        let url = server("503 Service Unavailable").await;
        assert_eq!(probe(&client(), &url).await, ConnectionState::Offline);
    }

    #[tokio::test]
    async fn a_refused_connection_is_offline() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        assert_eq!(probe(&client(), &url).await, ConnectionState::Offline);
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed() {
        let url = server("302 Found").await;
        assert_eq!(probe(&client(), &url).await, ConnectionState::Offline);
    }

    #[tokio::test]
    async fn watch_reports_each_change_once() {
        let url = server("200 OK").await;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(watch(client(), url, Duration::from_millis(10), move |s| {
            tx.send(s).unwrap();
        }));
        assert_eq!(rx.recv().await, Some(ConnectionState::Online));
        // Several more probes happen; none of them is reported again.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(rx.try_recv().is_err());
        task.abort();
    }
}
