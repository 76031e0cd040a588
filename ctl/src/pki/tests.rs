use std::net::IpAddr;

use time::{Duration, OffsetDateTime, macros::datetime};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::{
    AgentRequest, CertificateAuthority, ClientRequest, Issued, PkiError, Role, generate_ca,
};

const NOW: OffsetDateTime = datetime!(2026-03-01 12:00:00.250 UTC);
const NOW_SECONDS: OffsetDateTime = datetime!(2026-03-01 12:00:00 UTC);

fn der(issued: &Issued) -> Vec<u8> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(issued.cert_pem.as_bytes()).unwrap();
    pem.contents
}

fn with_cert<R>(issued: &Issued, check: impl FnOnce(&X509Certificate<'_>) -> R) -> R {
    let der = der(issued);
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    check(&cert)
}

fn ca() -> (Issued, CertificateAuthority) {
    let issued = generate_ca(NOW, 3650).unwrap();
    let ca = CertificateAuthority::from_pem(&issued.cert_pem, &issued.key_pem, "test CA").unwrap();
    (issued, ca)
}

fn agent_request() -> AgentRequest {
    AgentRequest {
        node: "pve2".to_owned(),
        ips: vec!["10.0.0.2".parse().unwrap(), "fd00::2".parse().unwrap()],
        dns_names: vec!["pve2.lab.example".to_owned()],
    }
}

#[test]
fn the_ca_is_a_path_length_zero_ca_valid_for_the_given_days() {
    let (issued, ca) = ca();
    assert_eq!(issued.not_after, NOW_SECONDS + Duration::days(3650));
    assert_eq!(ca.not_after(), issued.not_after);
    with_cert(&issued, |cert| {
        let constraints = cert.basic_constraints().unwrap().unwrap().value;
        assert!(constraints.ca);
        assert_eq!(constraints.path_len_constraint, Some(0));
        let subject = cert.subject().to_string();
        let key_id = subject.strip_prefix("O=pvectl, CN=pvectl CA ").unwrap();
        assert!(
            key_id.len() == 8 && key_id.chars().all(|c| c.is_ascii_hexdigit()),
            "{subject}"
        );
        assert_eq!(
            cert.validity().not_after.to_datetime(),
            NOW_SECONDS + Duration::days(3650)
        );
        assert!(cert.validity().not_before.to_datetime() < NOW);
    });
    assert!(issued.key_pem.contains("PRIVATE KEY"));
}

#[test]
fn an_agent_certificate_names_the_node_its_ips_and_dns_names_for_server_auth() {
    let (ca_issued, ca) = ca();
    let ca_subject = with_cert(&ca_issued, |cert| cert.subject().to_string());
    let issued = ca.issue_agent(&agent_request(), NOW, 365).unwrap();
    assert_eq!(issued.not_after, NOW_SECONDS + Duration::days(365));
    with_cert(&issued, |cert| {
        assert_eq!(cert.subject().to_string(), "O=pvectl, CN=pve2");
        assert_eq!(cert.issuer().to_string(), ca_subject);
        let names: Vec<String> = cert
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .iter()
            .map(|name| match name {
                GeneralName::DNSName(dns) => (*dns).to_owned(),
                GeneralName::IPAddress(bytes) => match bytes.len() {
                    4 => IpAddr::from(<[u8; 4]>::try_from(*bytes).unwrap()).to_string(),
                    _ => IpAddr::from(<[u8; 16]>::try_from(*bytes).unwrap()).to_string(),
                },
                other => panic!("unexpected name {other:?}"),
            })
            .collect();
        assert_eq!(names, ["pve2", "pve2.lab.example", "10.0.0.2", "fd00::2"]);
        let usage = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(usage.server_auth);
        assert!(!usage.client_auth);
        assert!(!cert.is_ca());
    });
}

#[test]
fn a_client_certificate_carries_its_name_and_role_for_client_auth() {
    let (_, ca) = ca();
    let request = ClientRequest {
        name: "alice".to_owned(),
        role: Role::Operator,
    };
    let issued = ca.issue_client(&request, NOW, 30).unwrap();
    assert_eq!(issued.not_after, NOW_SECONDS + Duration::days(30));
    with_cert(&issued, |cert| {
        assert_eq!(
            cert.subject().to_string(),
            "O=pvectl, OU=operator, CN=alice"
        );
        let usage = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(usage.client_auth);
        assert!(!usage.server_auth);
    });
}

#[test]
fn two_cas_have_different_names() {
    let subject = |issued: &Issued| with_cert(issued, |cert| cert.subject().to_string());
    assert_ne!(subject(&ca().0), subject(&ca().0));
}

#[test]
fn a_certificate_outliving_the_ca_is_refused_with_the_days_left() {
    let issued = generate_ca(NOW, 100).unwrap();
    let ca = CertificateAuthority::from_pem(&issued.cert_pem, &issued.key_pem, "ca.pem").unwrap();
    let error = ca.issue_agent(&agent_request(), NOW, 365).unwrap_err();
    assert!(matches!(
        error,
        PkiError::OutlivesCa {
            days_left: 99 | 100,
            ..
        }
    ));
    assert!(error.to_string().contains("use --days"), "{error}");
}

#[test]
fn an_expired_ca_issues_nothing() {
    let (_, ca) = ca();
    let later = NOW + Duration::days(3651);
    let error = ca.issue_agent(&agent_request(), later, 1).unwrap_err();
    assert!(matches!(error, PkiError::CaExpired { .. }), "{error}");
}

#[test]
fn a_ca_key_from_another_ca_is_refused() {
    let (issued, _) = ca();
    let other = generate_ca(NOW, 10).unwrap();
    let error = CertificateAuthority::from_pem(&issued.cert_pem, &other.key_pem, "ca.pem")
        .unwrap_err()
        .to_string();
    assert!(error.contains("does not belong"), "{error}");
    assert!(error.starts_with("ca.pem is not a usable CA"), "{error}");
}

#[test]
fn a_leaf_certificate_is_refused_as_a_ca() {
    let (_, ca) = ca();
    let leaf = ca.issue_agent(&agent_request(), NOW, 1).unwrap();
    let error = CertificateAuthority::from_pem(&leaf.cert_pem, &leaf.key_pem, "agent-pve2.pem")
        .unwrap_err()
        .to_string();
    assert!(error.contains("not a CA"), "{error}");
}

#[test]
fn bad_names_are_refused_before_signing() {
    let (_, ca) = ca();
    let mut request = agent_request();
    request.node = "pve 2".to_owned();
    assert!(matches!(
        ca.issue_agent(&request, NOW, 1),
        Err(PkiError::Name(_))
    ));
    let request = ClientRequest {
        name: "../alice".to_owned(),
        role: Role::Admin,
    };
    assert!(matches!(
        ca.issue_client(&request, NOW, 1),
        Err(PkiError::Name(_))
    ));
}
