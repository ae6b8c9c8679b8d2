//! The baseline: a bare tonic server whose one unary method returns the
//! request bytes, started in-process on `127.0.0.1:0`. It goes through the
//! same HTTP/2 stack, framing and `Grpc` plumbing as a generated server but
//! does no protobuf work and no I/O, so it measures what tonic alone costs on
//! this machine.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use anyhow::Context as _;
use futures::future::BoxFuture;
use http::uri::PathAndQuery;
use prost::bytes::{Buf, BufMut, Bytes};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::Status;
use tonic::body::Body;
use tonic::client::Grpc;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::server::NamedService;
use tonic::transport::{Channel, Server};

/// The gRPC service name; no .proto declares it, the codec needs none.
const SERVICE: &str = "staymesh.bench.Echo";
/// The one method's path.
const PATH: &str = "/staymesh.bench.Echo/Echo";

/// Passes message bytes through untouched in both directions.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BytesCodec;

impl Codec for BytesCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = BytesCodec;
    type Decoder = BytesCodec;

    fn encoder(&mut self) -> Self::Encoder {
        BytesCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        BytesCodec
    }
}

impl Encoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// The server side: routes [`PATH`] to an echo, anything else to UNIMPLEMENTED,
/// the way a generated `*Server` does.
#[derive(Debug, Clone, Copy)]
struct EchoServer;

impl NamedService for EchoServer {
    const NAME: &'static str = SERVICE;
}

impl tower::Service<http::Request<Body>> for EchoServer {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        if req.uri().path() != PATH {
            return Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) });
        }
        Box::pin(async move {
            let echo = tower::service_fn(|request: tonic::Request<Bytes>| async move {
                Ok::<_, Status>(tonic::Response::new(request.into_inner()))
            });
            Ok(tonic::server::Grpc::new(BytesCodec).unary(echo, req).await)
        })
    }
}

/// A running echo server; dropping it without [`EchoHandle::stop`] leaves
/// the task to end with the runtime.
#[derive(Debug)]
pub(crate) struct EchoHandle {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl EchoHandle {
    /// Asks the server to stop and waits for it.
    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        // The receiver only disappears if the server already ended; the join tells why.
        let _ = self.stop.send(());
        self.task.await.context("echo server task")??;
        Ok(())
    }
}

/// Binds `127.0.0.1:0` and serves the echo there until stopped.
pub(crate) async fn start() -> anyhow::Result<EchoHandle> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the echo server")?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(
        Server::builder()
            .add_service(EchoServer)
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                let _ = stopped.await;
            }),
    );
    Ok(EchoHandle { addr, stop, task })
}

/// One unary call of `path` over `channel` with an encoded request, answering
/// the response's bytes undecoded: what every scenario's client does, so the
/// client's share of the cores is the same for echo and the real RPCs.
pub(crate) async fn unary(
    channel: Channel,
    path: &'static str,
    payload: Bytes,
) -> Result<Bytes, Status> {
    let mut grpc = Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("channel not ready: {e}")))?;
    let response = grpc
        .unary(
            tonic::Request::new(payload),
            PathAndQuery::from_static(path),
            BytesCodec,
        )
        .await?;
    Ok(response.into_inner())
}

/// One echo call over `channel`; fails unless the same bytes come back.
pub(crate) async fn call(channel: Channel, payload: Bytes) -> Result<(), Status> {
    if unary(channel, PATH, payload.clone()).await? != payload {
        return Err(Status::data_loss("echo returned different bytes"));
    }
    Ok(())
}
