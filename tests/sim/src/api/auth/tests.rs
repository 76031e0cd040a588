use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use super::{AuthError, AuthStore};

fn store_at(now: &Arc<AtomicI64>) -> AuthStore {
    let clock = Arc::clone(now);
    let store = AuthStore::new(7).with_clock(Arc::new(move || clock.load(Ordering::SeqCst)));
    store.add_user("root@pam", "secret");
    store
}

#[test]
fn tickets_have_pves_shape_and_name_their_user() {
    let now = Arc::new(AtomicI64::new(0x66A0_B1C2));
    let store = store_at(&now);
    let ticket = store.issue_ticket("root@pam");
    assert!(ticket.starts_with("PVE:root@pam:66A0B1C2::"), "{ticket}");
    assert_eq!(store.verify_ticket(&ticket), Ok("root@pam".to_string()));
}

#[test]
fn tickets_expire_after_two_hours() {
    let now = Arc::new(AtomicI64::new(1_000_000));
    let store = store_at(&now);
    let ticket = store.issue_ticket("root@pam");
    now.store(1_000_000 + 2 * 3600 - 1, Ordering::SeqCst);
    assert!(store.verify_ticket(&ticket).is_ok());
    now.store(1_000_000 + 2 * 3600, Ordering::SeqCst);
    assert_eq!(store.verify_ticket(&ticket), Err(AuthError::InvalidTicket));
}

#[test]
fn tickets_from_another_seed_or_tampered_are_refused() {
    let now = Arc::new(AtomicI64::new(1_000_000));
    let store = store_at(&now);
    let other = AuthStore::new(8);
    other.add_user("root@pam", "secret");
    assert_eq!(
        store.verify_ticket(&other.issue_ticket("root@pam")),
        Err(AuthError::InvalidTicket)
    );
    let forged = store
        .issue_ticket("root@pam")
        .replace("root@pam", "admin@pve");
    assert_eq!(store.verify_ticket(&forged), Err(AuthError::InvalidTicket));
    assert_eq!(
        store.verify_ticket("garbage"),
        Err(AuthError::InvalidTicket)
    );
}

#[test]
fn csrf_tokens_are_bound_to_their_user() {
    let now = Arc::new(AtomicI64::new(1_000_000));
    let store = store_at(&now);
    let token = store.csrf_token("root@pam");
    let (stamp, digest) = token.split_once(':').expect("stamp and digest");
    assert_eq!(stamp, "000F4240");
    assert_eq!(digest.len(), 43);
    assert_eq!(store.verify_csrf_token("root@pam", &token), Ok(()));
    assert_eq!(
        store.verify_csrf_token("other@pve", &token),
        Err(AuthError::InvalidCsrfToken)
    );
}

#[test]
fn api_tokens_split_at_the_last_equals_sign() {
    let now = Arc::new(AtomicI64::new(1_000_000));
    let store = store_at(&now);
    store.add_token("root@pam!ci", "abc=def");
    assert_eq!(
        store.verify_api_token("root@pam!ci=abc=def"),
        Err(AuthError::InvalidApiToken)
    );
    store.add_token("root@pam!ci", "uuid-1");
    assert_eq!(
        store.verify_api_token("root@pam!ci=uuid-1"),
        Ok("root@pam!ci".to_string())
    );
    for bad in [
        "root@pam!ci=uuid-2",
        "root@pam!ci",
        "root@pam=uuid-1",
        "nobody@pam!ci=uuid-1",
    ] {
        assert_eq!(
            store.verify_api_token(bad),
            Err(AuthError::InvalidApiToken),
            "{bad}"
        );
    }
}

#[test]
fn a_valid_ticket_renews_like_a_password() {
    let now = Arc::new(AtomicI64::new(1_000_000));
    let store = store_at(&now);
    assert_eq!(store.authenticate("root@pam", "secret"), Ok(()));
    assert_eq!(
        store.authenticate("root@pam", "wrong"),
        Err(AuthError::BadCredentials)
    );
    let ticket = store.issue_ticket("root@pam");
    assert_eq!(store.authenticate("root@pam", &ticket), Ok(()));
}

#[test]
fn derived_secrets_are_deterministic_uuids() {
    let secret = AuthStore::new(1).derive_secret("root@pam!ci");
    assert_eq!(secret, AuthStore::new(1).derive_secret("root@pam!ci"));
    assert_ne!(secret, AuthStore::new(2).derive_secret("root@pam!ci"));
    let groups: Vec<usize> = secret.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12]);
}
