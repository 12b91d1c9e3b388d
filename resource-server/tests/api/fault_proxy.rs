//! A TCP relay between the resource server and the real auth server that can be told to stop relaying:
//! the auth server then looks hung (connections accepted, nothing answered), as under `SIGSTOP`. In
//! `Pass` mode it forwards bytes untouched. Not a fake auth server: every answer comes from the real one.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`, to give the resource server as the auth server's address.
    pub address: String,
    hung: Arc<AtomicBool>,
    accept: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let hung = Arc::new(AtomicBool::new(false));
        let mode = hung.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, target, mode.clone()));
            }
        });
        Self { address, hung, accept }
    }

    /// From now on nothing is relayed, on new connections and on those already open.
    pub fn hang(&self) {
        self.hung.store(true, Ordering::SeqCst);
    }

    /// Relays again, what was held back first.
    pub fn pass(&self) {
        self.hung.store(false, Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn relay(client: TcpStream, target: SocketAddr, hung: Arc<AtomicBool>) {
    let Ok(upstream) = TcpStream::connect(target).await else { return };
    let (client_read, client_write) = client.into_split();
    let (upstream_read, upstream_write) = upstream.into_split();
    tokio::join!(pump(client_read, upstream_write, hung.clone()), pump(upstream_read, client_write, hung));
}

async fn pump(mut from: impl AsyncReadExt + Unpin, mut to: impl AsyncWriteExt + Unpin, hung: Arc<AtomicBool>) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        while hung.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
