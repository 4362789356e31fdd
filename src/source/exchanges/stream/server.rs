//! A local websocket server on 127.0.0.1 for tests (and the liquidation-storm bench): each
//! connection plays a script of steps (frames, pings, pauses, a close or a dropped
//! connection), then stays open, silent, until the client leaves. Everything the client sends
//! is recorded per connection.
//!
//! ```ignore
//! let server = WsServer::start(|conn| match conn {
//!     0 => vec![Step::AwaitTexts(1), Step::Text(frame.into()), Step::Drop],
//!     _ => vec![Step::AwaitTexts(1)],
//! })
//! .await;
//! ```

use futures::{SinkExt, StreamExt};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until, Instant};
use tokio_tungstenite::tungstenite::Message;

/// Makes the `i`-th frame of a paced run.
pub(crate) type FrameMaker = Arc<dyn Fn(u64) -> String + Send + Sync>;

/// One step of a connection's script.
#[derive(Clone)]
pub(crate) enum Step {
    /// Send a text frame.
    Text(String),
    /// Send a ping frame (the client's pong is recorded).
    Ping,
    /// Wait until the client has sent `n` text frames on this connection (at most 2 s).
    AwaitTexts(usize),
    /// Send `count` text frames made by `make`, `per_second` of them a second.
    Paced {
        count: u64,
        per_second: u32,
        make: FrameMaker,
    },
    /// Wait until the test notifies.
    Wait(Arc<Notify>),
    /// Send a close frame (the connection ends when the client answers).
    Close,
    /// Drop the TCP connection without a close frame.
    Drop,
    /// As the first step: drop the TCP connection before the websocket handshake.
    Reject,
}

/// A frame the client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Received {
    Text(String),
    Ping,
    Pong,
    Close,
    Binary,
}

/// Who ended a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndedBy {
    Client,
    Server,
}

/// One connection, as the server saw it.
#[derive(Debug, Clone)]
pub(crate) struct ConnLog {
    pub(crate) accepted: Instant,
    pub(crate) received: Vec<(Instant, Received)>,
    /// Text frames the script sent.
    pub(crate) sent: u64,
    pub(crate) ended: Option<(Instant, EndedBy)>,
}

impl ConnLog {
    pub(crate) fn texts(&self) -> Vec<&str> {
        self.received
            .iter()
            .filter_map(|(_, r)| match r {
                Received::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }
}

type Logs = Arc<Mutex<Vec<ConnLog>>>;

fn lock(logs: &Logs) -> MutexGuard<'_, Vec<ConnLog>> {
    logs.lock().unwrap_or_else(|e| e.into_inner())
}

fn end(logs: &Logs, index: usize, by: EndedBy) {
    let mut logs = lock(logs);
    let ended = &mut logs[index].ended;
    if ended.is_none() {
        *ended = Some((Instant::now(), by));
    }
}

/// The server; dropping it stops it and every connection.
pub(crate) struct WsServer {
    port: u16,
    logs: Logs,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Drop for WsServer {
    fn drop(&mut self) {
        for task in self.tasks.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            task.abort();
        }
    }
}

impl WsServer {
    /// Listens on a free port of 127.0.0.1; connection `i` (from 0) plays `script(i)`.
    pub(crate) async fn start(
        script: impl Fn(usize) -> Vec<Step> + Send + Sync + 'static,
    ) -> WsServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port for the test websocket server");
        let port = listener.local_addr().expect("local address").port();
        let logs: Logs = Arc::default();
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = {
            let (logs, tasks) = (logs.clone(), tasks.clone());
            tokio::spawn(async move {
                while let Ok((tcp, _)) = listener.accept().await {
                    let index = {
                        let mut logs = lock(&logs);
                        logs.push(ConnLog {
                            accepted: Instant::now(),
                            received: Vec::new(),
                            sent: 0,
                            ended: None,
                        });
                        logs.len() - 1
                    };
                    let conn = tokio::spawn(serve(tcp, index, script(index), logs.clone()));
                    tasks.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
                }
            })
        };
        tasks.lock().unwrap_or_else(|e| e.into_inner()).push(accept);
        WsServer { port, logs, tasks }
    }

    pub(crate) fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }

    /// Every connection so far, in order.
    pub(crate) fn connections(&self) -> Vec<ConnLog> {
        lock(&self.logs).clone()
    }

    /// Waits (polling) until `done` holds for the connections, at most `within`; says whether
    /// it did.
    pub(crate) async fn wait_until(
        &self,
        within: Duration,
        done: impl Fn(&[ConnLog]) -> bool,
    ) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if done(&lock(&self.logs)) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            sleep(Duration::from_millis(5)).await;
        }
    }
}

async fn serve(tcp: TcpStream, index: usize, steps: Vec<Step>, logs: Logs) {
    if matches!(steps.first(), Some(Step::Reject)) {
        drop(tcp);
        end(&logs, index, EndedBy::Server);
        return;
    }
    let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
        end(&logs, index, EndedBy::Client);
        return;
    };
    let (mut sink, mut source) = ws.split();
    let reader = {
        let logs = logs.clone();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = source.next().await {
                let received = match msg {
                    Message::Text(t) => Received::Text(t.as_str().to_string()),
                    Message::Ping(_) => Received::Ping,
                    Message::Pong(_) => Received::Pong,
                    Message::Close(_) => Received::Close,
                    Message::Binary(_) | Message::Frame(_) => Received::Binary,
                };
                lock(&logs)[index].received.push((Instant::now(), received));
            }
            end(&logs, index, EndedBy::Client);
        })
    };
    for step in steps {
        let sent = match step {
            Step::Text(text) => sink.send(Message::text(text)).await.map(|()| 1),
            Step::Ping => sink
                .send(Message::Ping(Default::default()))
                .await
                .map(|()| 0),
            Step::AwaitTexts(n) => {
                let deadline = Instant::now() + Duration::from_secs(2);
                while lock(&logs)[index].texts().len() < n && Instant::now() < deadline {
                    sleep(Duration::from_millis(2)).await;
                }
                Ok(0)
            }
            Step::Paced {
                count,
                per_second,
                make,
            } => paced(&mut sink, count, per_second, &make, &logs, index).await,
            Step::Wait(go) => {
                go.notified().await;
                Ok(0)
            }
            Step::Close => {
                let _ = sink.send(Message::Close(None)).await;
                end(&logs, index, EndedBy::Server);
                break;
            }
            Step::Drop | Step::Reject => {
                reader.abort();
                end(&logs, index, EndedBy::Server);
                return;
            }
        };
        match sent {
            Ok(n) => lock(&logs)[index].sent += n,
            Err(_) => break,
        }
    }
    // The script is over: stay open (the sink lives on) until the client leaves.
    let _ = reader.await;
}

/// Sends `count` frames at `per_second`, due times measured from the start so the rate does
/// not drift; frames due together are flushed together. Returns the frames sent (the log's
/// count is updated as it goes).
async fn paced<S>(
    sink: &mut S,
    count: u64,
    per_second: u32,
    make: &FrameMaker,
    logs: &Logs,
    index: usize,
) -> Result<u64, S::Error>
where
    S: futures::Sink<Message> + Unpin,
{
    let start = Instant::now();
    let mut unlogged = 0;
    for i in 0..count {
        let due = start + Duration::from_secs_f64(i as f64 / f64::from(per_second.max(1)));
        if due > Instant::now() {
            sink.flush().await?;
            lock(logs)[index].sent += unlogged;
            unlogged = 0;
            sleep_until(due).await;
        }
        sink.feed(Message::text(make(i))).await?;
        unlogged += 1;
    }
    sink.flush().await?;
    Ok(unlogged)
}
