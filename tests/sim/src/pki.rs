//! The cluster CA and node certificates, shaped like the ones `pvecm` creates
//! (`pve-root-ca.pem`, `nodes/<node>/pve-ssl.pem`), and the TLS server configuration
//! each simulated pveproxy serves them with.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// What went wrong while making certificates or a TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("invalid {what} PEM: {source}")]
    Pem {
        what: &'static str,
        source: rustls::pki_types::pem::Error,
    },
    #[error("tls server configuration failed: {0}")]
    Tls(#[from] rustls::Error),
}

/// The cluster's root CA (`/etc/pve/pve-root-ca.pem` and `priv/pve-root-ca.key`).
#[derive(Clone, Debug)]
pub struct ClusterCa {
    pub cert_pem: String,
    pub key_pem: String,
    cluster_name: String,
}

/// A node's server certificate (`nodes/<node>/pve-ssl.pem` and `pve-ssl.key`).
#[derive(Clone, Debug)]
pub struct NodeCert {
    pub cert_pem: String,
    pub key_pem: String,
}

/// The CA's certificate parameters: named like PVE's ("Proxmox Virtual
/// Environment", organisation "PVE Cluster Manager CA"), with the cluster name as
/// organisational unit where PVE puts a random UUID.
fn ca_params(cluster_name: &str) -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "Proxmox Virtual Environment");
    name.push(DnType::OrganizationalUnitName, cluster_name);
    name.push(DnType::OrganizationName, "PVE Cluster Manager CA");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

impl ClusterCa {
    /// A fresh CA for `cluster_name`.
    pub fn generate(cluster_name: &str) -> Result<Self, PkiError> {
        let key = KeyPair::generate()?;
        let cert = ca_params(cluster_name)?.self_signed(&key)?;
        Ok(Self {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cluster_name: cluster_name.to_string(),
        })
    }

    /// A CA written earlier by [`ClusterCa::generate`] for the same `cluster_name`
    /// (certificates it issues name the CA by that cluster name).
    pub fn from_pem(cluster_name: &str, cert_pem: String, key_pem: String) -> Self {
        Self {
            cert_pem,
            key_pem,
            cluster_name: cluster_name.to_string(),
        }
    }

    /// A server certificate for `node_name`, valid for the node name, `localhost`,
    /// the node's address and 127.0.0.1.
    pub fn issue_node_cert(&self, node_name: &str, ip: IpAddr) -> Result<NodeCert, PkiError> {
        let ca_key = KeyPair::from_pem(&self.key_pem)?;
        let issuer = Issuer::new(ca_params(&self.cluster_name)?, ca_key);

        let mut names = vec![
            node_name.to_string(),
            "localhost".to_string(),
            ip.to_string(),
        ];
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        if ip != loopback {
            names.push(loopback.to_string());
        }
        let mut params = CertificateParams::new(names)?;
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, node_name);
        name.push(DnType::OrganizationalUnitName, "PVE Cluster Node");
        name.push(DnType::OrganizationName, "Proxmox Virtual Environment");
        params.distinguished_name = name;
        params.is_ca = IsCa::NoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &issuer)?;
        Ok(NodeCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// The rustls configuration a node serves: its certificate, the ring provider
/// (never the process default), and ALPN `http/1.1` only, as pveproxy speaks HTTP/1.1.
pub fn server_config(node: &NodeCert) -> Result<Arc<rustls::ServerConfig>, PkiError> {
    let chain = CertificateDer::pem_slice_iter(node.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| PkiError::Pem {
            what: "node certificate",
            source,
        })?;
    let key =
        PrivateKeyDer::from_pem_slice(node.key_pem.as_bytes()).map_err(|source| PkiError::Pem {
            what: "node key",
            source,
        })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
