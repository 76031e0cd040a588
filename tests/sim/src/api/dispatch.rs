//! pveproxy's request pipeline, in its order: method and path checks,
//! authentication (401 with an empty body, delayed), body checks, parameter
//! collection, handler lookup (501), URI parameter conflicts, the API-token
//! restriction (403), schema verification (400) and finally the handler, in a
//! task of its own.

use std::sync::{Arc, LazyLock};
use std::time::Instant;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderMap, HeaderName};
use http::{Method, StatusCode};
use percent_encoding::percent_decode_str;
use regex::Regex;
use serde_json::{Map, Value};

use super::auth::AuthStore;
use super::params::{self, media_type};
use super::perl::perl_string;
use super::reply::{self, bare};
use super::schema::Schema;
use super::validate::validate_params;
use super::{ApiError, ApiRequest, ApiRoutes, Caller, HttpOptions, Reply, ticket};

/// pveproxy's `$limit_max_post`.
const MAX_POST: usize = 64 * 1024;

pub(super) fn router<S: Clone + Send + Sync + 'static>(
    routes: ApiRoutes<S>,
    state: S,
    auth: Arc<AuthStore>,
    options: HttpOptions,
) -> axum::Router {
    let dispatcher = Arc::new(Dispatcher {
        routes,
        state,
        auth,
        options,
    });
    axum::Router::new().fallback(move |request: Request| {
        let dispatcher = Arc::clone(&dispatcher);
        async move { dispatcher.handle(request).await }
    })
}

struct Dispatcher<S> {
    routes: ApiRoutes<S>,
    state: S,
    auth: Arc<AuthStore>,
    options: HttpOptions,
}

impl<S: Clone + Send + Sync + 'static> Dispatcher<S> {
    async fn handle(&self, request: Request) -> Response {
        let accept_gzip = header_text(request.headers(), &header::ACCEPT_ENCODING)
            .is_some_and(|accepted| accepted.contains("gzip"));
        let response = self.respond(request).await;
        reply::finish(response, accept_gzip).await
    }

    async fn respond(&self, request: Request) -> Response {
        let started = Instant::now();
        let (parts, body) = request.into_parts();
        let method = parts.method;
        let path = percent_decode_str(parts.uri.path())
            .decode_utf8_lossy()
            .into_owned();
        if let Some(hook) = &self.options.before
            && let Some(response) = hook(&method, &path).await
        {
            return response;
        }
        if ![Method::GET, Method::POST, Method::PUT, Method::DELETE].contains(&method) {
            return bare(
                StatusCode::NOT_IMPLEMENTED,
                &format!("method '{method}' not available"),
            );
        }
        if let Some(encoding) = header_text(&parts.headers, &header::TRANSFER_ENCODING) {
            let message = if encoding.eq_ignore_ascii_case("chunked") {
                "chunked transfer encoding not supported".to_string()
            } else {
                format!("Unknown transfer encoding '{encoding}'")
            };
            return bare(StatusCode::NOT_IMPLEMENTED, &message);
        }
        if !path.starts_with("/api2") {
            return bare(
                StatusCode::NOT_IMPLEMENTED,
                &format!("no such file '{path}'"),
            );
        }
        let Some((format, rel_path)) = split_api_path(&path) else {
            return bare(StatusCode::NOT_IMPLEMENTED, "no such uri");
        };
        let caller = match self.authenticate(&method, rel_path, &parts.headers) {
            Ok(caller) => caller,
            Err(message) => {
                tokio::time::sleep(self.options.auth_failure_delay).await;
                return bare(StatusCode::UNAUTHORIZED, &message);
            }
        };

        let length = header_text(&parts.headers, &header::CONTENT_LENGTH)
            .and_then(|length| length.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let content_type = header_text(&parts.headers, &header::CONTENT_TYPE);
        let is_post_or_put = method == Method::POST || method == Method::PUT;
        if length > 0 {
            if !is_post_or_put {
                return bare(
                    StatusCode::NOT_IMPLEMENTED,
                    &format!("Unexpected content for method '{method}'"),
                );
            }
            if let Some(content_type) = content_type {
                let media = media_type(content_type);
                if media != "application/x-www-form-urlencoded" && media != "application/json" {
                    return bare(
                        StatusCode::from_u16(506).unwrap_or(StatusCode::NOT_IMPLEMENTED),
                        &format!("upload 'Content-Type '{content_type}' not implemented"),
                    );
                }
            }
            if length > MAX_POST {
                return bare(StatusCode::NOT_IMPLEMENTED, "for data too large");
            }
        }
        if format != "json" {
            return bare(
                StatusCode::NOT_IMPLEMENTED,
                &format!("no formatter for uri {rel_path}, {format}"),
            );
        }
        let body = match axum::body::to_bytes(body, MAX_POST).await {
            Ok(body) => body,
            Err(err) => {
                return bare(
                    StatusCode::NOT_IMPLEMENTED,
                    &format!("reading the request body failed: {err}"),
                );
            }
        };
        let params = match params::extract(is_post_or_put, content_type, &body, parts.uri.query()) {
            Ok(params) => params,
            Err(err) => return bare(StatusCode::NOT_IMPLEMENTED, &err.to_string()),
        };

        let response = match self.call(method, rel_path, params, caller).await {
            Ok(reply) => reply.into_response(),
            Err(error) => error.into_response(),
        };
        if response.status() == StatusCode::UNAUTHORIZED {
            let delay = self
                .options
                .auth_failure_delay
                .saturating_sub(started.elapsed());
            tokio::time::sleep(delay).await;
        }
        response
    }

    /// `auth_handler`: the login endpoints are open; otherwise a ticket (cookie
    /// first, then the Authorization header) with a CSRF token on anything but
    /// GET, or else an API token. The error is the 401 reason phrase.
    fn authenticate(
        &self,
        method: &Method,
        rel_path: &str,
        headers: &HeaderMap,
    ) -> Result<Caller, String> {
        let open = Schema::get()
            .endpoint(method, rel_path)
            .is_some_and(|endpoint| endpoint.world);
        if open {
            return Ok(Caller {
                userid: String::new(),
                tokenid: None,
            });
        }
        let cookies = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ");
        let authorization = header_text(headers, &header::AUTHORIZATION);
        let ticket = auth_value(Some(&cookies), &TICKET_KEY)
            .or_else(|| auth_value(authorization, &TICKET_KEY));
        let Some(ticket) = ticket else {
            if let Some(token) = auth_value(authorization, &TOKEN_KEY) {
                let tokenid = self
                    .auth
                    .verify_api_token(&token)
                    .map_err(|err| err.to_string())?;
                let userid = tokenid.split('!').next().unwrap_or_default().to_string();
                return Ok(Caller {
                    userid,
                    tokenid: Some(tokenid),
                });
            }
            return Err("No ticket".to_string());
        };
        let userid = self
            .auth
            .verify_ticket(&ticket)
            .map_err(|err| err.to_string())?;
        if *method != Method::GET {
            let csrf = header_text(headers, &CSRF_HEADER).unwrap_or_default();
            self.auth
                .verify_csrf_token(&userid, csrf)
                .map_err(|err| err.to_string())?;
        }
        Ok(Caller {
            userid,
            tokenid: None,
        })
    }

    /// `rest_handler`: everything after the request was read.
    async fn call(
        &self,
        method: Method,
        rel_path: &str,
        params: Map<String, Value>,
        caller: Caller,
    ) -> Result<Reply, ApiError> {
        let not_implemented = ApiError::not_implemented(&method, rel_path);
        let matched = Schema::get()
            .resolve(rel_path)
            .ok_or_else(|| not_implemented.clone())?;
        let endpoint = matched
            .endpoint(&method)
            .ok_or_else(|| not_implemented.clone())?;
        let template = matched.template;
        let handler = self.routes.handler(&method, template);
        let builtin = ticket::Builtin::for_endpoint(&method, template);
        if handler.is_none() && builtin.is_none() {
            return Err(not_implemented);
        }

        let mut all: Map<String, Value> = matched
            .params
            .iter()
            .map(|(name, value)| (name.clone(), Value::from(value.as_str())))
            .collect();
        let mut given: Vec<(String, Value)> = params.into_iter().collect();
        given.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, value) in given {
            if let Some(in_uri) = matched.params.get(&name)
                && perl_string(&value).as_deref() != Some(in_uri.as_str())
            {
                return Err(ApiError::param(
                    name,
                    "duplicate parameter (already defined in URI) with conflicting values!",
                ));
            }
            all.insert(name, value);
        }

        if caller.tokenid.is_some() && !endpoint.allow_token {
            return Err(ApiError::forbidden(format!(
                "URI '{rel_path}' not available with API token, need proper ticket.\n"
            )));
        }

        let params = validate_params(&endpoint.parameters, all).map_err(ApiError::params)?;
        let request = ApiRequest {
            method,
            template,
            path: matched.params,
            params,
            caller,
        };
        match (handler, builtin) {
            (Some(handler), _) => {
                // Spawned, so a handler runs to its end even when the client goes
                // away mid-request, as a PVE API call does.
                let task = tokio::spawn(handler(self.state.clone(), request));
                match task.await {
                    Ok(result) => result,
                    Err(_) => Err(ApiError::internal(format!(
                        "internal error: the handler of {} {template} panicked",
                        endpoint.method
                    ))),
                }
            }
            (None, Some(builtin)) => builtin.run(&self.auth, &self.options, &request),
            (None, None) => Err(not_implemented),
        }
    }
}

static TICKET_KEY: LazyLock<Regex> = LazyLock::new(|| auth_key_regex("PVEAuthCookie"));
static TOKEN_KEY: LazyLock<Regex> = LazyLock::new(|| auth_key_regex("PVEAPIToken"));
static CSRF_HEADER: HeaderName = HeaderName::from_static("csrfpreventiontoken");

fn auth_key_regex(key: &str) -> Regex {
    Regex::new(&format!(r"(?:^|\s){key}(?:=| )([^;]*)")).expect("auth value regex compiles")
}

/// `extract_auth_value`: the value after `KEY=` (or `KEY `) up to `;`, percent-decoded.
fn auth_value(header: Option<&str>, key: &Regex) -> Option<String> {
    let captures = key.captures(header?)?;
    let value = percent_decode_str(&captures[1])
        .decode_utf8_lossy()
        .into_owned();
    (!value.is_empty()).then_some(value)
}

/// `split_abs_uri`: `/api2/<format>/<rest>` into the format and the API path
/// (`/` when there is no rest).
fn split_api_path(path: &str) -> Option<(&str, &str)> {
    static API_PATH: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^/api2/+([a-z][a-z0-9]+)(/.*)?$").expect("api path regex compiles")
    });
    let captures = API_PATH.captures(path)?;
    let format = captures.get(1)?.as_str();
    let rest = captures.get(2).map_or("/", |rest| rest.as_str());
    Some((format, rest))
}

fn header_text<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}
