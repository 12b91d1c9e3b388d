//! `GET /metrics` in the Prometheus text format, for both servers: the `[metrics]` settings, the one
//! process-wide recorder, the HTTP middleware that counts and times every request by its route pattern, and
//! the optional private listener. Metrics are recorded through the `metrics` facade, which does nothing
//! until [`recorder`] installs the Prometheus recorder: with `metrics.enabled = false` none is installed.

use std::collections::HashMap;
use std::future::{ready, Future, Ready};
use std::net::{SocketAddr, TcpListener};
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use actix_web::dev::{forward_ready, Server, ServerHandle, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::Method;
use actix_web::{web, App, HttpResponse, HttpServer};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::{Deserialize, Serialize};

/// Where the metrics are served.
pub const PATH: &str = "/metrics";

/// The `route` label of requests that matched no route: raw paths would make one series per scanner probe.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Upper bounds (seconds) of the latency histograms: from a cache hit (well under a millisecond) to a
/// bcrypt queued behind others or an upstream call running into its timeout.
const LATENCY_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Histogram samples wait in the recorder until this folds them in (the exporter has no thread of its own
/// without its HTTP listener); between scrapes they would otherwise pile up.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// `[metrics]` settings, the same shape on both servers.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct MetricsSettings {
    /// Serve `GET /metrics` and record metrics at all.
    pub enabled: bool,
    /// An address (`127.0.0.1:9464`) to serve `/metrics` on instead of the public port: metrics name clients
    /// and show traffic, so a scraper on a private interface can have them while the internet cannot.
    /// Empty: on the public port.
    pub listen: String,
}

impl MetricsSettings {
    pub fn validate(&self) -> Result<(), String> {
        self.private_address().map(|_| ())
    }

    /// The private listener's address, when one is configured.
    pub fn private_address(&self) -> Result<Option<SocketAddr>, String> {
        match self.listen.trim() {
            "" => Ok(None),
            listen => listen.parse().map(Some).map_err(|e| format!("metrics.listen {listen:?}: {e}")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("the Prometheus recorder could not be installed: {0}")]
    Recorder(String),
    #[error("{0}")]
    Settings(String),
    #[error("cannot serve metrics on {address}")]
    Listen {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

static RECORDER: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// The process-wide Prometheus recorder, installed on first use: the `metrics` facade has one global
/// recorder, and tests start many servers in one process. `describe` names what each metric means (its
/// `# HELP` line); it runs on every call, which is cheap and idempotent.
pub fn recorder(describe: fn()) -> Result<&'static PrometheusHandle, MetricsError> {
    let installed = RECORDER.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
            .and_then(PrometheusBuilder::install_recorder)
            .map_err(|e| e.to_string())?;
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            })
            .map_err(|e| e.to_string())?;
        describe_shared();
        Ok(handle)
    });
    let handle = installed.as_ref().map_err(|e| MetricsError::Recorder(e.clone()))?;
    describe();
    Ok(handle)
}

fn describe_shared() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!("http_requests_total", "HTTP requests answered, by route pattern, method and status");
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "Time from the request's arrival to its response's head, by route pattern and method"
    );
    describe_gauge!("db_pool_connections_in_use", "Pooled database connections checked out right now");
    describe_histogram!(
        "db_pool_acquire_wait_seconds",
        Unit::Seconds,
        "Time a database call waited for a pooled connection"
    );
    describe_counter!("rate_limit_rejections_total", "Requests refused by a per-client-IP rate limit, by limit");
}

/// What `describe` registers, rendered by a recorder of its own rather than the process-wide one (which
/// the other tests in the process record into): the series a server has before its first request.
#[cfg(feature = "testing")]
pub fn render_described(describe: fn()) -> String {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, describe);
    handle.render()
}

/// What the public app does about metrics.
#[derive(Clone, Copy)]
pub struct Endpoint {
    recording: bool,
    /// Set when `/metrics` is served on the public port.
    public: Option<&'static PrometheusHandle>,
}

impl Endpoint {
    /// Whether metrics are recorded at all.
    pub fn recording(self) -> bool {
        self.recording
    }

    /// The middleware that counts and times requests (a no-op when metrics are off).
    pub fn record_requests(self) -> RecordRequests {
        RecordRequests { recording: self.recording }
    }

    /// Registers `GET /metrics` when it is served on the public port.
    pub fn configure(self, cfg: &mut web::ServiceConfig) {
        if let Some(handle) = self.public {
            route(cfg, handle);
        }
    }
}

/// `/metrics` on its own port, running; the server it belongs to stops it when it stops.
pub struct PrivateListener {
    pub address: SocketAddr,
    handle: ServerHandle,
}

impl PrivateListener {
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

/// Installs the recorder (unless metrics are off) and starts the private listener (when `metrics.listen` is
/// set). Call it before building anything that takes metric handles (the database pool does).
pub fn start(settings: &MetricsSettings, describe: fn()) -> Result<(Endpoint, Option<PrivateListener>), MetricsError> {
    if !settings.enabled {
        return Ok((Endpoint { recording: false, public: None }, None));
    }
    let handle = recorder(describe)?;
    // Validated with the settings; an unparsable address here would mean no private listener, so refuse.
    let private = settings.private_address().map_err(MetricsError::Settings)?;
    Ok(match private {
        None => (Endpoint { recording: true, public: Some(handle) }, None),
        Some(address) => {
            let (server, address) = serve_privately(address, handle)?;
            log::info!("metrics on http://{address}{PATH}");
            let listener = PrivateListener { address, handle: server.handle() };
            tokio::spawn(server);
            (Endpoint { recording: true, public: None }, Some(listener))
        }
    })
}

fn route(cfg: &mut web::ServiceConfig, handle: &'static PrometheusHandle) {
    cfg.route(PATH, web::get().to(move || render(handle)));
}

async fn render(handle: &'static PrometheusHandle) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(handle.render())
}

/// Serves `GET /metrics`, and nothing else, on `address` (one worker; it stops with its handle).
fn serve_privately(
    address: SocketAddr,
    handle: &'static PrometheusHandle,
) -> Result<(Server, SocketAddr), MetricsError> {
    let failed = |source| MetricsError::Listen { address, source };
    let listener = TcpListener::bind(address).map_err(failed)?;
    let bound = listener.local_addr().map_err(failed)?;
    let server = HttpServer::new(move || App::new().configure(|cfg| route(cfg, handle)))
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)
        .map_err(failed)?
        .run();
    Ok((server, bound))
}

/// Middleware: counts and times each request under its route pattern (`/items/{id}`), never its path.
/// Hand-written rather than `from_fn` behind a `Condition`: no boxed future and no body wrapper on the hot
/// path, and when recording is off a request costs one branch.
#[derive(Clone, Copy)]
pub struct RecordRequests {
    recording: bool,
}

impl<S, B> Transform<S, ServiceRequest> for RecordRequests
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = RecordRequestsService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RecordRequestsService { service, recording: self.recording }))
    }
}

pub struct RecordRequestsService<S> {
    service: S,
    recording: bool,
}

impl<S, B> Service<ServiceRequest> for RecordRequestsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Recorded<S::Future>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let started = self.recording.then(|| (Instant::now(), method_label(req.method())));
        Recorded { response: self.service.call(req), started }
    }
}

pin_project_lite::pin_project! {
    /// A request's response on its way, and when and how the request came in (when recording).
    pub struct Recorded<F> {
        #[pin]
        response: F,
        started: Option<(Instant, &'static str)>,
    }
}

impl<F, B> Future for Recorded<F>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.response.poll(cx));
        if let (Ok(response), Some((started, method))) = (&result, this.started.take()) {
            record(response, started, method);
        }
        Poll::Ready(result)
    }
}

fn record<B>(response: &ServiceResponse<B>, started: Instant, method: &'static str) {
    let route = response.request().match_pattern();
    let route = route.as_deref().unwrap_or(UNMATCHED_ROUTE);
    let status = response.status().as_u16();
    SERIES.with_borrow_mut(|series| {
        let of_route = match series.get_mut(route) {
            Some(of_route) => of_route,
            None => series.entry(route.to_owned()).or_default(),
        };
        let request = of_route.entry((method, status)).or_insert_with(|| RequestSeries::new(route, method, status));
        request.duration.record(started.elapsed());
        request.requests.increment(1);
    });
}

/// The series one kind of request counts in.
struct RequestSeries {
    requests: metrics::Counter,
    duration: metrics::Histogram,
}

impl RequestSeries {
    fn new(route: &str, method: &'static str, status: u16) -> Self {
        let route = route.to_owned();
        Self {
            requests: metrics::counter!("http_requests_total",
                "method" => method, "route" => route.clone(), "status" => status.to_string()),
            duration: metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route),
        }
    }
}

/// A route's series, by method and status.
type SeriesOfRoute = HashMap<(&'static str, u16), RequestSeries>;

thread_local! {
    /// Each worker thread's handles to the series it has counted in, by route, then method and status: a
    /// request costs two map lookups rather than building a labelled key and finding it in the recorder's
    /// shared registry. Bounded: routes are patterns, methods and statuses few.
    static SERIES: std::cell::RefCell<HashMap<String, SeriesOfRoute>> = std::cell::RefCell::default();
}

/// A method as a label: the standard ones by name, anything else as one value (methods are free text).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_private_address_is_optional_but_must_parse() {
        let settings = |listen: &str| MetricsSettings { enabled: true, listen: listen.into() };
        assert_eq!(settings("").private_address(), Ok(None));
        assert_eq!(settings("127.0.0.1:9464").private_address(), Ok(Some("127.0.0.1:9464".parse().unwrap())));
        assert!(settings("localhost").validate().is_err());
    }

    #[test]
    fn unusual_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"PROPFIND").unwrap()), "other");
    }
}
