//! Users, API tokens, tickets and CSRF prevention tokens, with PVE's formats and
//! lifetimes. Tickets are signed with an HMAC key derived from a seed (PVE signs
//! with a rotating RSA key), so a simulated cluster is reproducible.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{Hmac, Mac};
use regex::Regex;
use sha2::{Digest, Sha256};

/// Ticket and CSRF token lifetime (`$ticket_lifetime`).
const TICKET_LIFETIME: i64 = 2 * 3600;
/// Accepted clock skew for tickets from the future (`$auth_graceperiod`).
const GRACE_PERIOD: i64 = 5 * 60;

/// Seconds since the epoch, as the store sees them.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Why a credential was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("permission denied - invalid PVE ticket")]
    InvalidTicket,
    #[error("Permission denied - invalid csrf token")]
    InvalidCsrfToken,
    #[error("Authentication failed!")]
    InvalidApiToken,
    #[error("authentication failure")]
    BadCredentials,
}

/// The credentials a simulated cluster accepts.
pub struct AuthStore {
    users: RwLock<BTreeMap<String, String>>,
    tokens: RwLock<BTreeMap<String, String>>,
    ticket_key: [u8; 32],
    csrf_key: [u8; 32],
    seed: u64,
    clock: Clock,
}

impl std::fmt::Debug for AuthStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthStore")
            .field("users", &self.users.read().map(|u| u.len()).unwrap_or(0))
            .field("tokens", &self.tokens.read().map(|t| t.len()).unwrap_or(0))
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

fn derive_key(seed: u64, purpose: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"pve-sim ");
    hasher.update(purpose.as_bytes());
    hasher.update(seed.to_be_bytes());
    hasher.finalize().into()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("hmac accepts any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn system_clock() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

/// `user@realm!tokenname`, PVE's `$token_full_regex`.
static TOKEN_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+)![A-Za-z][A-Za-z0-9.\-_]+$")
        .expect("token id regex compiles")
});
static TICKET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(PVE:(\S+):([A-Z0-9]{8}))::([^:\s]+)$").expect("ticket regex compiles")
});
static CSRF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([A-Z0-9]{8}):(\S+)$").expect("csrf regex compiles"));

impl AuthStore {
    /// An empty store whose signing keys derive from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            users: RwLock::default(),
            tokens: RwLock::default(),
            ticket_key: derive_key(seed, "ticket key"),
            csrf_key: derive_key(seed, "csrf key"),
            seed,
            clock: Arc::new(system_clock),
        }
    }

    /// Uses `clock` instead of the system time (a simulated, scaled clock).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Adds or replaces a user, e.g. `root@pam`.
    pub fn add_user(&self, userid: &str, password: &str) {
        write(&self.users).insert(userid.to_string(), password.to_string());
    }

    /// Adds or replaces an API token, `user@realm!name`; its user must exist to log in.
    pub fn add_token(&self, tokenid: &str, secret: &str) {
        write(&self.tokens).insert(tokenid.to_string(), secret.to_string());
    }

    /// A deterministic UUID-shaped secret for `label`, for tokens the simulator creates.
    pub fn derive_secret(&self, label: &str) -> String {
        let hex = hex::encode(&hmac(&derive_key(self.seed, "secrets"), label)[..16]);
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }

    fn user_exists(&self, userid: &str) -> bool {
        read(&self.users).contains_key(userid)
    }

    /// `PVE:<userid>:<8 hex epoch>::<base64 signature>`.
    pub fn issue_ticket(&self, userid: &str) -> String {
        let plain = format!("PVE:{userid}:{:08X}", self.now());
        let signature = STANDARD.encode(hmac(&self.ticket_key, &plain));
        format!("{plain}::{signature}")
    }

    /// The user a valid, unexpired ticket belongs to.
    pub fn verify_ticket(&self, ticket: &str) -> Result<String, AuthError> {
        let captures = TICKET.captures(ticket).ok_or(AuthError::InvalidTicket)?;
        let signature = STANDARD
            .decode(&captures[4])
            .map_err(|_| AuthError::InvalidTicket)?;
        if signature != hmac(&self.ticket_key, &captures[1]) {
            return Err(AuthError::InvalidTicket);
        }
        let issued = i64::from_str_radix(&captures[3], 16).map_err(|_| AuthError::InvalidTicket)?;
        let age = self.now() - issued;
        let userid = captures[2].to_string();
        if age <= -GRACE_PERIOD || age >= TICKET_LIFETIME || !self.user_exists(&userid) {
            return Err(AuthError::InvalidTicket);
        }
        Ok(userid)
    }

    /// `<8 hex epoch>:<base64 HMAC-SHA256>` for `userid`.
    pub fn csrf_token(&self, userid: &str) -> String {
        let stamp = format!("{:08X}", self.now());
        let digest = STANDARD_NO_PAD.encode(hmac(&self.csrf_key, &format!("{stamp}:{userid}")));
        format!("{stamp}:{digest}")
    }

    pub fn verify_csrf_token(&self, userid: &str, token: &str) -> Result<(), AuthError> {
        let captures = CSRF.captures(token).ok_or(AuthError::InvalidCsrfToken)?;
        let expected =
            STANDARD_NO_PAD.encode(hmac(&self.csrf_key, &format!("{}:{userid}", &captures[1])));
        let issued =
            i64::from_str_radix(&captures[1], 16).map_err(|_| AuthError::InvalidCsrfToken)?;
        let age = self.now() - issued;
        if expected != captures[2] || age <= -GRACE_PERIOD || age >= TICKET_LIFETIME {
            return Err(AuthError::InvalidCsrfToken);
        }
        Ok(())
    }

    /// Checks `USER@REALM!TOKENID=SECRET` (split at the last `=`) and returns the token id.
    pub fn verify_api_token(&self, value: &str) -> Result<String, AuthError> {
        let (tokenid, secret) = value.rsplit_once('=').ok_or(AuthError::InvalidApiToken)?;
        let user = TOKEN_ID
            .captures(tokenid)
            .ok_or(AuthError::InvalidApiToken)?[1]
            .to_string();
        if !self.user_exists(&user) {
            return Err(AuthError::InvalidApiToken);
        }
        match read(&self.tokens).get(tokenid) {
            Some(expected) if expected == secret => Ok(tokenid.to_string()),
            _ => Err(AuthError::InvalidApiToken),
        }
    }

    /// `POST /access/ticket`: a password, or a still valid ticket of the same user
    /// (ticket renewal), logs `userid` in.
    pub fn authenticate(&self, userid: &str, password: &str) -> Result<(), AuthError> {
        if read(&self.users)
            .get(userid)
            .is_some_and(|known| known == password)
        {
            return Ok(());
        }
        match self.verify_ticket(password) {
            Ok(owner) if owner == userid => Ok(()),
            _ => Err(AuthError::BadCredentials),
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests;
