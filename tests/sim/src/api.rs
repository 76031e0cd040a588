//! PVE's REST surface (`/api2/json/...`), generic over the simulator's state: the
//! dispatcher matches paths against PVE's own schema, authenticates like pveproxy,
//! verifies parameters like `PVE::JSONSchema` and answers in PVE's envelope. The
//! simulator registers one handler per endpoint it serves; everything else is
//! answered `501 Method '...' not implemented`, as PVE answers unknown paths.

mod auth;
mod dispatch;
mod formats;
mod params;
mod perl;
mod reply;
mod returns;
mod schema;
mod ticket;
mod validate;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use http::Method;
use serde_json::{Map, Value};

pub use auth::{AuthError, AuthStore, Clock};
pub use reply::{ApiError, Reply};
pub use returns::check_returns;

/// Who is calling: the authenticated user and, for API tokens, the token id.
/// Both are empty for the login endpoints, which need no authentication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// `root@pam`
    pub userid: String,
    /// `root@pam!ci` when the call was made with an API token.
    pub tokenid: Option<String>,
}

impl Caller {
    /// Who PVE's `$rpcenv->get_user()` says is calling: the token id
    /// (`root@pam!ci`) for API tokens, else the user. Task UPIDs carry it.
    pub fn rpc_user(&self) -> &str {
        self.tokenid.as_deref().unwrap_or(&self.userid)
    }
}

/// A verified request, as a handler receives it.
#[derive(Clone, Debug)]
pub struct ApiRequest {
    pub method: Method,
    /// The schema path, e.g. `/nodes/{node}/qemu/{vmid}/clone`.
    pub template: &'static str,
    /// Path parameters as given in the URL (percent-decoded), e.g. `node` -> `pve1`.
    pub path: BTreeMap<String, String>,
    /// All parameters (path, body and query), verified against the schema and typed:
    /// `integer` and `number` as JSON numbers, `boolean` as the numbers 1 or 0,
    /// `string` as strings, `array` element by element; absent values left out.
    /// Parameters the schema does not declare (only where it allows them) are kept as sent.
    pub params: Map<String, Value>,
    pub caller: Caller,
}

type Handler<S> =
    Arc<dyn Fn(S, ApiRequest) -> BoxFuture<'static, Result<Reply, ApiError>> + Send + Sync>;

/// The endpoints a simulated node serves.
pub struct ApiRoutes<S> {
    handlers: HashMap<(Method, &'static str), Handler<S>>,
}

impl<S> fmt::Debug for ApiRoutes<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut routes: Vec<String> = self
            .handlers
            .keys()
            .map(|(method, template)| format!("{method} {template}"))
            .collect();
        routes.sort();
        f.debug_struct("ApiRoutes")
            .field("routes", &routes)
            .finish()
    }
}

impl<S: Clone + Send + Sync + 'static> Default for ApiRoutes<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Clone + Send + Sync + 'static> ApiRoutes<S> {
    pub fn new() -> Self {
        Self {
            handlers: HashMap::new(),
        }
    }

    /// Serves `method template` with `handler`.
    ///
    /// # Panics
    /// If PVE's schema has no such endpoint, or it is registered twice: both are
    /// programming errors.
    pub fn route<F, Fut>(mut self, method: Method, template: &'static str, handler: F) -> Self
    where
        F: Fn(S, ApiRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Reply, ApiError>> + Send + 'static,
    {
        let endpoint = schema::Schema::get()
            .endpoint(&method, template)
            .unwrap_or_else(|| panic!("{method} {template} is not in the PVE API schema"));
        let key = (method, endpoint.template.as_str());
        let handler: Handler<S> = Arc::new(move |state, request| Box::pin(handler(state, request)));
        if self.handlers.insert(key.clone(), handler).is_some() {
            panic!("{} {} is registered twice", key.0, key.1);
        }
        self
    }

    /// Every `(method, template)` served, sorted by template then method.
    pub fn endpoints(&self) -> Vec<(Method, &'static str)> {
        let mut endpoints: Vec<(Method, &'static str)> = self.handlers.keys().cloned().collect();
        endpoints.sort_by(|a, b| (a.1, a.0.as_str()).cmp(&(b.1, b.0.as_str())));
        endpoints
    }

    fn handler(&self, method: &Method, template: &'static str) -> Option<&Handler<S>> {
        self.handlers.get(&(method.clone(), template))
    }
}

/// A hook run before every request with its method and percent-decoded path
/// (e.g. `/api2/json/nodes/pve1/qemu`). Returning a response answers the request
/// with it (an injected 5xx, a node that is down); it may also just wait (latency).
pub type BeforeHook = Arc<
    dyn Fn(&Method, &str) -> Pin<Box<dyn Future<Output = Option<axum::response::Response>> + Send>>
        + Send
        + Sync,
>;

/// How a simulated pveproxy behaves around the handlers.
#[derive(Clone)]
pub struct HttpOptions {
    /// Reported as `clustername` by `POST /access/ticket` (left out when empty).
    pub cluster_name: String,
    /// How long 401 answers are held back (PVE: about 3 s; the simulator scales it).
    pub auth_failure_delay: Duration,
    pub before: Option<BeforeHook>,
}

impl HttpOptions {
    /// PVE's behaviour: a 3 second delay on authentication failures, no hook.
    pub fn new(cluster_name: impl Into<String>) -> Self {
        Self {
            cluster_name: cluster_name.into(),
            auth_failure_delay: Duration::from_secs(3),
            before: None,
        }
    }
}

impl fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpOptions")
            .field("cluster_name", &self.cluster_name)
            .field("auth_failure_delay", &self.auth_failure_delay)
            .field("before", &self.before.is_some())
            .finish()
    }
}

/// The axum router of one simulated node. `POST /access/ticket` (login) and
/// `GET /access/ticket` are built in unless `routes` registers them itself.
pub fn router<S: Clone + Send + Sync + 'static>(
    routes: ApiRoutes<S>,
    state: S,
    auth: Arc<AuthStore>,
    options: HttpOptions,
) -> axum::Router {
    dispatch::router(routes, state, auth, options)
}
