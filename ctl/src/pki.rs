//! The mTLS certificates: one private CA, a server certificate per agent and
//! a client certificate per person or pipeline, all ECDSA P-256.
//!
//! What each certificate holds:
//! - CA: `O=pvectl, CN=pvectl CA <key id>`, a CA for leaf certificates only (path
//!   length 0), key usages certificate and CRL signing.
//! - Agent: `O=pvectl, CN=<node>`, subject alternative names: the node name,
//!   every given IP and DNS name; extended key usage serverAuth.
//! - Client: `O=pvectl, OU=<role>, CN=<name>`, role `viewer`, `operator` or
//!   `admin`; extended key usage clientAuth. The OU records the role the
//!   certificate was issued for; the agent grants roles from its own role map
//!   (CN → role), so a role is revoked there without reissuing anything.

mod layout;
mod names;
#[cfg(test)]
mod tests;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

pub use layout::{CERT_MODE, KEY_MODE, PkiPaths, agent_paths, ca_paths, client_paths};
pub use names::{NameError, client_name, dns_name, node_name};
/// What a client certificate's holder may do (DESIGN "Security").
pub use pvectl_proto::Role;

/// The organisation in every certificate's subject.
pub const ORGANIZATION: &str = "pvectl";
/// The start of the CA's common name; its key's identifier follows
/// (`pvectl CA 3f2a9c01`), so CAs of different clusters have different names.
pub const CA_COMMON_NAME: &str = "pvectl CA";
/// Default validity of a new CA: ten years.
pub const DEFAULT_CA_DAYS: u32 = 3650;
/// Default validity of agent and client certificates: one year.
pub const DEFAULT_LEAF_DAYS: u32 = 365;
/// Certificates start this long before "now", for clocks slightly behind.
const CLOCK_SLACK: Duration = Duration::minutes(5);

/// Why a certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("cannot generate the {what}: {source}")]
    Generate {
        what: &'static str,
        source: rcgen::Error,
    },
    #[error("no CA at {}: run `pvectl pki init` first", path.display())]
    NoCa { path: PathBuf },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} is not a usable CA: {reason}")]
    InvalidCa { what: String, reason: String },
    #[error("the CA expired on {}: make a new one with `pvectl pki init --force`", rfc3339(*not_after))]
    CaExpired { not_after: OffsetDateTime },
    #[error(
        "the certificate would outlive the CA, which expires on {}: use --days {days_left} or less",
        rfc3339(*ca_not_after)
    )]
    OutlivesCa {
        ca_not_after: OffsetDateTime,
        days_left: i64,
    },
    #[error("a validity of {days} days is too long")]
    TooLong { days: u32 },
    #[error(transparent)]
    Name(#[from] NameError),
}

/// A new certificate and its private key, both PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
    pub not_after: OffsetDateTime,
}

/// What an agent's server certificate is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRequest {
    /// The node name: the certificate's CN and first DNS name.
    pub node: String,
    /// Addresses clients dial the agent at; at least one.
    pub ips: Vec<IpAddr>,
    /// Further DNS names.
    pub dns_names: Vec<String>,
}

/// Who a client certificate is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    /// The certificate's CN, which agents map to a role.
    pub name: String,
    pub role: Role,
}

/// `time` as `2026-05-01T12:00:00Z`.
pub fn rfc3339(time: OffsetDateTime) -> String {
    time.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| time.to_string())
}

fn validity(
    params: &mut CertificateParams,
    now: OffsetDateTime,
    days: u32,
) -> Result<OffsetDateTime, PkiError> {
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let not_after = now
        .checked_add(Duration::days(i64::from(days)))
        .filter(|end| end.year() <= 9999)
        .ok_or(PkiError::TooLong { days })?;
    params.not_before = now - CLOCK_SLACK;
    params.not_after = not_after;
    Ok(not_after)
}

fn subject(common_name: &str, unit: Option<&str>) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, ORGANIZATION);
    if let Some(unit) = unit {
        name.push(DnType::OrganizationalUnitName, unit);
    }
    name.push(DnType::CommonName, common_name);
    name
}

fn new_key(what: &'static str) -> Result<KeyPair, PkiError> {
    KeyPair::generate().map_err(|source| PkiError::Generate { what, source })
}

/// A new self-signed CA valid `days` days from `now`.
pub fn generate_ca(now: OffsetDateTime, days: u32) -> Result<Issued, PkiError> {
    let what = "CA certificate";
    let key = new_key(what)?;
    let mut params = CertificateParams::default();
    let key_id: String = params
        .key_identifier(&key)
        .iter()
        .take(4)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    params.distinguished_name = subject(&format!("{CA_COMMON_NAME} {key_id}"), None);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let not_after = validity(&mut params, now, days)?;
    let cert = params
        .self_signed(&key)
        .map_err(|source| PkiError::Generate { what, source })?;
    Ok(Issued {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        not_after,
    })
}

/// A CA that signs agent and client certificates.
pub struct CertificateAuthority {
    issuer: Issuer<'static, KeyPair>,
    not_after: OffsetDateTime,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// The CA kept in `dir` by `pvectl pki init`.
    pub fn load(dir: &Path) -> Result<CertificateAuthority, PkiError> {
        let paths = ca_paths(dir);
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| {
                if source.kind() == std::io::ErrorKind::NotFound {
                    PkiError::NoCa {
                        path: path.to_path_buf(),
                    }
                } else {
                    PkiError::Read {
                        path: path.to_path_buf(),
                        source,
                    }
                }
            })
        };
        let cert_pem = read(&paths.cert)?;
        let key_pem = read(&paths.key)?;
        CertificateAuthority::from_pem(&cert_pem, &key_pem, &paths.cert.display().to_string())
    }

    /// The CA from its PEM certificate and key; `what` names them in errors
    /// (e.g. the certificate's path). The key must belong to the certificate.
    pub fn from_pem(
        cert_pem: &str,
        key_pem: &str,
        what: &str,
    ) -> Result<CertificateAuthority, PkiError> {
        let invalid = |reason: String| PkiError::InvalidCa {
            what: what.to_owned(),
            reason,
        };
        let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes())
            .map_err(|error| invalid(format!("no PEM certificate: {error}")))?;
        let cert = pem
            .parse_x509()
            .map_err(|error| invalid(format!("not an X.509 certificate: {error}")))?;
        if !cert.is_ca() {
            return Err(invalid("the certificate is not a CA".to_owned()));
        }
        let key = KeyPair::from_pem(key_pem)
            .map_err(|error| invalid(format!("the key does not parse: {error}")))?;
        if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(invalid(
                "the key does not belong to the certificate".to_owned(),
            ));
        }
        let not_after = cert.validity().not_after.to_datetime();
        let issuer =
            Issuer::from_ca_cert_pem(cert_pem, key).map_err(|error| invalid(error.to_string()))?;
        Ok(CertificateAuthority { issuer, not_after })
    }

    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// A server certificate for the agent on `request.node`.
    pub fn issue_agent(
        &self,
        request: &AgentRequest,
        now: OffsetDateTime,
        days: u32,
    ) -> Result<Issued, PkiError> {
        let node = node_name(&request.node)?;
        let mut names = vec![SanType::DnsName(ia5(&node)?)];
        for dns in &request.dns_names {
            let dns = SanType::DnsName(ia5(&dns_name(dns)?)?);
            if !names.contains(&dns) {
                names.push(dns);
            }
        }
        names.extend(request.ips.iter().copied().map(SanType::IpAddress));
        let mut params = CertificateParams::default();
        params.distinguished_name = subject(&node, None);
        params.subject_alt_names = names;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign("agent certificate", params, now, days)
    }

    /// A client certificate for `request.name` with its role in the OU.
    pub fn issue_client(
        &self,
        request: &ClientRequest,
        now: OffsetDateTime,
        days: u32,
    ) -> Result<Issued, PkiError> {
        let name = client_name(&request.name)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = subject(&name, Some(request.role.as_str()));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign("client certificate", params, now, days)
    }

    fn sign(
        &self,
        what: &'static str,
        mut params: CertificateParams,
        now: OffsetDateTime,
        days: u32,
    ) -> Result<Issued, PkiError> {
        if self.not_after <= now {
            return Err(PkiError::CaExpired {
                not_after: self.not_after,
            });
        }
        let not_after = validity(&mut params, now, days)?;
        if not_after > self.not_after {
            return Err(PkiError::OutlivesCa {
                ca_not_after: self.not_after,
                days_left: (self.not_after - now).whole_days(),
            });
        }
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        let key = new_key(what)?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(|source| PkiError::Generate { what, source })?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            not_after,
        })
    }
}

fn ia5(name: &str) -> Result<rcgen::string::Ia5String, PkiError> {
    rcgen::string::Ia5String::try_from(name).map_err(|source| PkiError::Generate {
        what: "subject alternative name",
        source,
    })
}
