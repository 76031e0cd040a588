//! The endpoint table: which PVE path and method each handler serves. Paths
//! are the schema's templates; the dispatcher validates parameters first.
use http::Method;

use crate::api::ApiRoutes;
use crate::model::SimRef;
use crate::ops::status::Action;
use crate::ops::{
    clone, config, create, destroy, listing, network, status, storage, tasks, template,
};
use crate::pmxcfs::GuestType;

/// What every handler of one node's API server gets.
#[derive(Clone)]
pub struct Served {
    pub sim: SimRef,
    /// the node whose address this server listens on
    pub node: String,
}

/// Registers a handler `f(sim, req, args...)` for `method template`.
macro_rules! at {
    ($routes:ident, $method:expr, $path:literal, $f:expr $(, $arg:expr)*) => {
        $routes = $routes.route($method, $path, move |s: Served, req| $f(s.sim, req $(, $arg)*));
    };
}

pub fn api_routes() -> ApiRoutes<Served> {
    let mut r = ApiRoutes::new();
    at!(r, Method::GET, "/version", listing::version);
    r = r.route(Method::GET, "/cluster/status", |s: Served, _req| {
        listing::cluster_status(s.sim, s.node)
    });
    at!(
        r,
        Method::GET,
        "/cluster/resources",
        listing::cluster_resources
    );
    at!(r, Method::GET, "/cluster/nextid", listing::nextid);
    at!(r, Method::GET, "/nodes", listing::nodes);
    at!(r, Method::GET, "/nodes/{node}/status", listing::node_status);

    at!(r, Method::GET, "/nodes/{node}/tasks", tasks::list);
    at!(
        r,
        Method::GET,
        "/nodes/{node}/tasks/{upid}/status",
        tasks::status
    );
    at!(r, Method::GET, "/nodes/{node}/tasks/{upid}/log", tasks::log);
    at!(r, Method::DELETE, "/nodes/{node}/tasks/{upid}", tasks::stop);

    at!(r, Method::GET, "/nodes/{node}/network", network::list);
    at!(r, Method::GET, "/nodes/{node}/storage", storage::list);
    at!(
        r,
        Method::GET,
        "/nodes/{node}/storage/{storage}/status",
        storage::status
    );
    at!(
        r,
        Method::GET,
        "/nodes/{node}/storage/{storage}/content",
        storage::content
    );

    let q = GuestType::Qemu;
    at!(r, Method::GET, "/nodes/{node}/qemu", listing::guests, q);
    at!(r, Method::POST, "/nodes/{node}/qemu", create::create, q);
    at!(
        r,
        Method::POST,
        "/nodes/{node}/qemu/{vmid}/clone",
        clone::clone,
        q
    );
    at!(
        r,
        Method::POST,
        "/nodes/{node}/qemu/{vmid}/template",
        template::convert,
        q
    );
    at!(
        r,
        Method::GET,
        "/nodes/{node}/qemu/{vmid}/config",
        config::get,
        q
    );
    at!(
        r,
        Method::PUT,
        "/nodes/{node}/qemu/{vmid}/config",
        config::put,
        q
    );
    at!(
        r,
        Method::POST,
        "/nodes/{node}/qemu/{vmid}/config",
        config::post
    );
    at!(
        r,
        Method::GET,
        "/nodes/{node}/qemu/{vmid}/pending",
        config::pending,
        q
    );
    at!(
        r,
        Method::GET,
        "/nodes/{node}/qemu/{vmid}/status/current",
        status::current,
        q
    );
    at!(
        r,
        Method::POST,
        "/nodes/{node}/qemu/{vmid}/status/start",
        status::action,
        q,
        Action::Start
    );
    at!(
        r,
        Method::POST,
        "/nodes/{node}/qemu/{vmid}/status/stop",
        status::action,
        q,
        Action::Stop
    );
    at!(
        r,
        Method::POST,
        "/nodes/{node}/qemu/{vmid}/status/shutdown",
        status::action,
        q,
        Action::Shutdown
    );
    at!(
        r,
        Method::POST,
        "/nodes/{node}/qemu/{vmid}/status/reboot",
        status::action,
        q,
        Action::Reboot
    );
    at!(
        r,
        Method::POST,
        "/nodes/{node}/qemu/{vmid}/status/suspend",
        status::action,
        q,
        Action::Suspend
    );
    at!(
        r,
        Method::POST,
        "/nodes/{node}/qemu/{vmid}/status/resume",
        status::action,
        q,
        Action::Resume
    );
    at!(
        r,
        Method::DELETE,
        "/nodes/{node}/qemu/{vmid}",
        destroy::destroy,
        q
    );

    let c = GuestType::Lxc;
    at!(r, Method::GET, "/nodes/{node}/lxc", listing::guests, c);
    at!(r, Method::POST, "/nodes/{node}/lxc", create::create, c);
    at!(
        r,
        Method::POST,
        "/nodes/{node}/lxc/{vmid}/clone",
        clone::clone,
        c
    );
    at!(
        r,
        Method::POST,
        "/nodes/{node}/lxc/{vmid}/template",
        template::convert,
        c
    );
    at!(
        r,
        Method::GET,
        "/nodes/{node}/lxc/{vmid}/config",
        config::get,
        c
    );
    at!(
        r,
        Method::PUT,
        "/nodes/{node}/lxc/{vmid}/config",
        config::put,
        c
    );
    at!(
        r,
        Method::GET,
        "/nodes/{node}/lxc/{vmid}/pending",
        config::pending,
        c
    );
    at!(
        r,
        Method::GET,
        "/nodes/{node}/lxc/{vmid}/status/current",
        status::current,
        c
    );
    at!(
        r,
        Method::POST,
        "/nodes/{node}/lxc/{vmid}/status/start",
        status::action,
        c,
        Action::Start
    );
    at!(
        r,
        Method::POST,
        "/nodes/{node}/lxc/{vmid}/status/stop",
        status::action,
        c,
        Action::Stop
    );
    at!(
        r,
        Method::POST,
        "/nodes/{node}/lxc/{vmid}/status/shutdown",
        status::action,
        c,
        Action::Shutdown
    );
    at!(
        r,
        Method::POST,
        "/nodes/{node}/lxc/{vmid}/status/reboot",
        status::action,
        c,
        Action::Reboot
    );
    at!(
        r,
        Method::POST,
        "/nodes/{node}/lxc/{vmid}/status/suspend",
        status::action,
        c,
        Action::Suspend
    );
    at!(
        r,
        Method::POST,
        "/nodes/{node}/lxc/{vmid}/status/resume",
        status::action,
        c,
        Action::Resume
    );
    at!(
        r,
        Method::DELETE,
        "/nodes/{node}/lxc/{vmid}",
        destroy::destroy,
        c
    );
    r
}
