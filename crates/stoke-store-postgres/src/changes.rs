//! The change feed: a connection of its own that `LISTEN`s on `stoke_changes`, where triggers
//! on `tags` and `settings` notify at every commit (migration 0005), on any node. Started on the
//! first subscription; reconnects after a failure, and then announces `Change::Any`, since
//! whatever happened while it was away went unheard.

use std::sync::OnceLock;
use std::time::Duration;

use stoke_store::Change;
use tokio::sync::broadcast;
use tokio_postgres::AsyncMessage;

use crate::tls::Connection;

/// Notifications a slow subscriber may fall behind by before it is told it lagged.
const BUFFER: usize = 256;

/// How long to wait before reconnecting after the listening connection failed.
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub(crate) struct Feed {
    connection: Connection,
    target: String,
    sender: broadcast::Sender<Change>,
    started: OnceLock<()>,
}

impl Feed {
    pub(crate) fn new(connection: Connection, target: String) -> Self {
        Self {
            connection,
            target,
            sender: broadcast::channel(BUFFER).0,
            started: OnceLock::new(),
        }
    }

    /// A receiver of every change from now on; the first call starts the listener on the
    /// current Tokio runtime.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Change> {
        let receiver = self.sender.subscribe();
        self.started.get_or_init(|| {
            tokio::spawn(listen(
                self.connection.clone(),
                self.target.clone(),
                self.sender.clone(),
            ));
        });
        receiver
    }
}

fn change(payload: &str) -> Change {
    match payload {
        "tags" => Change::Tags,
        "settings" => Change::Settings,
        _ => Change::Any,
    }
}

async fn listen(database: Connection, target: String, sender: broadcast::Sender<Change>) {
    loop {
        match database.config.connect(database.tls.clone()).await {
            Ok((client, mut connection)) => {
                let (found, mut heard) = tokio::sync::mpsc::unbounded_channel();
                // The connection delivers notifications only to whoever polls it.
                let driver = tokio::spawn(async move {
                    while let Some(message) =
                        std::future::poll_fn(|cx| connection.poll_message(cx)).await
                    {
                        match message {
                            Ok(AsyncMessage::Notification(n)) => {
                                if found.send(change(n.payload())).is_err() {
                                    return;
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(%e, "the change feed's connection failed");
                                return;
                            }
                        }
                    }
                });
                match client.batch_execute("LISTEN stoke_changes").await {
                    Ok(()) => {
                        // Whatever changed before this connection listened went unheard.
                        let _ = sender.send(Change::Any);
                        while let Some(change) = heard.recv().await {
                            let _ = sender.send(change);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(%e, %target, "cannot LISTEN for changes");
                    }
                }
                driver.abort();
            }
            Err(e) => {
                tracing::warn!(%e, %target, "the change feed cannot connect; caches expire by age meanwhile");
            }
        }
        tokio::time::sleep(RECONNECT_AFTER).await;
    }
}
