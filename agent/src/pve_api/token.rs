//! The PVE API token the agent authenticates with, read once from a file
//! only the agent's user can read; the secret never appears in output.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A PVE API token, `USER@REALM!TOKENID` plus its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken {
    id: String,
    secret: String,
}

/// Why a token could not be read or parsed. No variant carries the secret.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The token file could not be read.
    #[error("cannot read API token file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Group or others may access the token file.
    #[error(
        "API token file {path} has mode {mode:04o}: it must be readable by its owner only (chmod 600 {path})"
    )]
    TooOpen { path: PathBuf, mode: u32 },
    /// The file's content is not `USER@REALM!TOKENID=SECRET`.
    #[error("API token file {path}: {problem}")]
    Malformed { path: PathBuf, problem: String },
}

impl ApiToken {
    /// Parses `USER@REALM!TOKENID=SECRET` (surrounding whitespace and a
    /// trailing newline are ignored). PVE splits at the last `=`.
    pub fn parse(text: &str) -> Result<ApiToken, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("empty; expected USER@REALM!TOKENID=SECRET".to_owned());
        }
        if text.lines().count() > 1 {
            return Err("more than one line; expected USER@REALM!TOKENID=SECRET".to_owned());
        }
        let (id, secret) = text
            .rsplit_once('=')
            .ok_or("no '=' before the secret; expected USER@REALM!TOKENID=SECRET")?;
        let (user, token_name) = id
            .split_once('!')
            .ok_or("the token id has no '!'; expected USER@REALM!TOKENID=SECRET")?;
        let (user_name, realm) = user
            .split_once('@')
            .ok_or("the user has no '@REALM'; expected USER@REALM!TOKENID=SECRET")?;
        if user_name.is_empty() || realm.is_empty() || token_name.is_empty() {
            return Err("user, realm and token name must not be empty".to_owned());
        }
        if id.contains('=') {
            return Err("the token id contains '='; write only USER@REALM!TOKENID=SECRET, without a PVEAPIToken= prefix".to_owned());
        }
        if secret.is_empty() {
            return Err("the secret after '=' is empty".to_owned());
        }
        let printable = |s: &str| s.chars().all(|c| c.is_ascii_graphic());
        if !printable(id) || !printable(secret) {
            return Err("the token contains spaces or control characters".to_owned());
        }
        Ok(ApiToken {
            id: id.to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// Reads the token from `path`, which must not be accessible by group or
    /// others. Errors name the file and never show the secret.
    pub fn from_file(path: &Path) -> Result<ApiToken, TokenError> {
        let read_error = |source| TokenError::Read {
            path: path.to_owned(),
            source,
        };
        let mode = std::fs::metadata(path)
            .map_err(read_error)?
            .permissions()
            .mode()
            & 0o7777;
        if mode & 0o077 != 0 {
            return Err(TokenError::TooOpen {
                path: path.to_owned(),
                mode,
            });
        }
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        ApiToken::parse(&text).map_err(|problem| TokenError::Malformed {
            path: path.to_owned(),
            problem,
        })
    }

    /// `USER@REALM!TOKENID`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The `Authorization` header value: `PVEAPIToken=USER@REALM!TOKENID=SECRET`.
    pub fn authorization(&self) -> String {
        format!("PVEAPIToken={}={}", self.id, self.secret)
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiToken")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}
