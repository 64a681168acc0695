//! The grant transitions without any store: what every backend makes
//! atomic, checked on plain values.

use super::*;

const T0: UnixTime = 1_700_000_000;
const GRACE: u64 = 30;

fn d(label: &str) -> SecretDigest {
    SecretDigest::of(label)
}

/// A grant whose chain was rotated at `T0`: `r0` is the previous token, `r1` current.
fn rotated_grant() -> GrantRecord {
    GrantRecord {
        id: "g".into(),
        client_id: "c".into(),
        subject: Some("alice".into()),
        scopes: vec!["read".into()],
        resource: "https://r.example/mcp".into(),
        props: Map::new(),
        created_at: T0,
        expires_at: T0 + 86_400,
        code: None,
        refresh: Some(RefreshChain {
            current: d("r1"),
            previous: Some(d("r0")),
            rotated_at: T0,
            salt: "s1".into(),
            retired: Vec::new(),
            generation: 1,
        }),
        access_tokens: Vec::new(),
    }
}

fn rotation(label: &str, grace_seconds: u64) -> Rotation {
    Rotation {
        successor: d(label),
        salt: format!("salt-{label}"),
        access_digest: d(&format!("at-{label}")),
        access_expires_at: T0 + 3_600_000,
        grant_expires_at: T0 + 86_400_000,
        scopes: None,
        resource: None,
        grace_seconds,
    }
}

fn present(grant: &mut GrantRecord, token: &str, grace: u64, now: UnixTime) -> RotateOutcome {
    grant.rotate_refresh("c", &d(token), &rotation("next", grace), now)
}

#[test]
fn the_previous_token_retries_until_the_last_second_of_its_grace() {
    for now in [T0, T0 + 1, T0 + GRACE - 1] {
        let mut grant = rotated_grant();
        let outcome = present(&mut grant, "r0", GRACE, now);
        let RotateOutcome::Retried(after, _) = outcome else { panic!("at +{}: {outcome:?}", now - T0) };
        let chain = after.refresh.unwrap();
        assert_eq!((chain.current, chain.salt.as_str(), chain.rotated_at), (d("r1"), "s1", T0));
    }
}

#[test]
fn at_the_end_of_the_grace_the_previous_token_is_reuse() {
    for now in [T0 + GRACE, T0 + GRACE + 1, T0 + 86_399] {
        let mut grant = rotated_grant();
        assert_eq!(present(&mut grant, "r0", GRACE, now), RotateOutcome::Reused, "at +{}", now - T0);
    }
}

#[test]
fn grace_zero_makes_the_previous_token_reuse_at_once() {
    let mut grant = rotated_grant();
    assert_eq!(present(&mut grant, "r0", 0, T0), RotateOutcome::Reused);
    let mut grant = rotated_grant();
    assert!(
        matches!(present(&mut grant, "r1", 0, T0), RotateOutcome::Rotated(..)),
        "the current one rotates"
    );
}

#[test]
fn a_rotation_starts_the_grace_of_the_token_it_replaces() {
    let mut grant = rotated_grant();
    let later = T0 + 1000;
    let RotateOutcome::Rotated(after, _) = present(&mut grant, "r1", GRACE, later) else { panic!() };
    let chain = after.refresh.unwrap();
    assert_eq!(
        (chain.previous, chain.rotated_at, chain.retired.clone()),
        (Some(d("r1")), later, vec![d("r0")])
    );
    assert!(matches!(present(&mut grant, "r1", GRACE, later + GRACE - 1), RotateOutcome::Retried(..)));
    assert_eq!(present(&mut grant.clone(), "r1", GRACE, later + GRACE), RotateOutcome::Reused);
    assert_eq!(present(&mut grant, "r0", GRACE, later), RotateOutcome::Reused, "retired stays reuse");
}

#[test]
fn a_clock_behind_the_rotation_still_retries() {
    let mut grant = rotated_grant();
    assert!(matches!(present(&mut grant, "r0", GRACE, T0 - 5), RotateOutcome::Retried(..)));
}

#[test]
fn another_client_cannot_trigger_reuse() {
    let mut grant = rotated_grant();
    let outcome = grant.rotate_refresh("intruder", &d("r0"), &rotation("x", GRACE), T0 + GRACE);
    assert_eq!(outcome, RotateOutcome::NotFound);
}

#[test]
fn a_chain_stored_before_rotated_at_existed_reads_as_long_rotated() {
    let mut json = serde_json::to_value(rotated_grant()).unwrap();
    json["refresh"].as_object_mut().unwrap().remove("rotated_at");
    let mut grant: GrantRecord = serde_json::from_value(json).unwrap();
    assert_eq!(grant.refresh.as_ref().unwrap().rotated_at, 0);
    assert_eq!(present(&mut grant.clone(), "r0", GRACE, T0), RotateOutcome::Reused);
    assert!(matches!(present(&mut grant, "r1", GRACE, T0), RotateOutcome::Rotated(..)));
}

const CODE_EXPIRES: UnixTime = T0 + 600;

/// A grant waiting for its code `code` (client `c`, PKCE challenge `ch`).
fn pending_grant() -> GrantRecord {
    GrantRecord {
        code: Some(PendingCode {
            digest: d("code"),
            redirect_uri: "https://app.example/cb".into(),
            code_challenge: "ch".into(),
            used: false,
            expires_at: CODE_EXPIRES,
        }),
        refresh: None,
        expires_at: CODE_EXPIRES,
        ..rotated_grant()
    }
}

fn expect() -> CodeExpectation {
    CodeExpectation {
        client_id: "c".into(),
        redirect_uri: "https://app.example/cb".into(),
        code_challenge: "ch".into(),
        resource: None,
    }
}

fn redemption(refresh: bool) -> Redemption {
    Redemption {
        access_digest: d("at"),
        access_expires_at: T0 + 3600,
        refresh: refresh.then(|| d("r-first")),
        grant_expires_at: T0 + 86_400,
    }
}

fn redeem(grant: &mut GrantRecord, expect: &CodeExpectation, now: UnixTime) -> CodeOutcome {
    grant.redeem_code(&d("code"), expect, &redemption(true), now)
}

#[test]
fn a_code_redeems_once_and_starts_the_refresh_chain() {
    let mut grant = pending_grant();
    let CodeOutcome::Redeemed(after, access) = redeem(&mut grant, &expect(), T0) else { panic!() };
    assert_eq!(after, grant, "the outcome is the grant as it now stands");
    assert!(grant.code.as_ref().unwrap().used);
    assert_eq!(grant.expires_at, T0 + 86_400);
    let chain = grant.refresh.clone().unwrap();
    assert_eq!((chain.current, chain.previous, chain.generation), (d("r-first"), None, 0));
    assert_eq!(grant.access_tokens, vec![IssuedAccess { digest: d("at"), expires_at: T0 + 3600 }]);
    assert_eq!((access.scopes, access.issued_at, access.expires_at), (grant.scopes.clone(), T0, T0 + 3600));
}

#[test]
fn a_second_presentation_of_a_used_code_is_a_replay_even_when_expired() {
    let mut grant = pending_grant();
    assert!(matches!(redeem(&mut grant, &expect(), T0), CodeOutcome::Redeemed(..)));
    assert_eq!(redeem(&mut grant, &expect(), T0 + 1), CodeOutcome::Replayed);
    assert_eq!(redeem(&mut grant, &expect(), CODE_EXPIRES + 1), CodeOutcome::Replayed);
    let mut other = expect();
    other.code_challenge = "other".into();
    assert_eq!(redeem(&mut grant, &other, T0 + 1), CodeOutcome::Replayed, "even from a mismatching request");
}

#[test]
fn without_refresh_a_redemption_issues_only_an_access_token() {
    let mut grant = pending_grant();
    let outcome = grant.redeem_code(&d("code"), &expect(), &redemption(false), T0);
    assert!(matches!(outcome, CodeOutcome::Redeemed(..)));
    assert_eq!(grant.refresh, None);
}

#[test]
fn a_code_is_good_until_the_second_before_it_expires() {
    // The code's own expiry counts even where the grant would live longer.
    for lasting in [pending_grant(), GrantRecord { expires_at: u64::MAX, ..pending_grant() }] {
        let mut grant = lasting.clone();
        assert!(matches!(redeem(&mut grant, &expect(), CODE_EXPIRES - 1), CodeOutcome::Redeemed(..)));
        for now in [CODE_EXPIRES, CODE_EXPIRES + 1, u64::MAX - 1] {
            let mut grant = lasting.clone();
            assert_eq!(redeem(&mut grant, &expect(), now), CodeOutcome::NotFound, "at {now}");
            assert_eq!(grant, lasting, "nothing changed");
        }
    }
}

#[test]
fn an_unknown_code_or_a_grant_without_one_is_not_found() {
    let mut grant = pending_grant();
    assert_eq!(grant.redeem_code(&d("other"), &expect(), &redemption(true), T0), CodeOutcome::NotFound);
    assert!(matches!(redeem(&mut grant, &expect(), T0), CodeOutcome::Redeemed(..)));
    let used = grant.redeem_code(&d("other"), &expect(), &redemption(true), T0);
    assert_eq!(used, CodeOutcome::NotFound, "another code is no replay of this one");
    let mut no_code = rotated_grant();
    assert_eq!(redeem(&mut no_code, &expect(), T0), CodeOutcome::NotFound);
}

#[test]
fn a_request_that_disagrees_with_the_code_changes_nothing() {
    let disagreeing = [
        CodeExpectation { client_id: "intruder".into(), ..expect() },
        CodeExpectation { redirect_uri: "https://app.example/cb/".into(), ..expect() },
        CodeExpectation { code_challenge: "c".into(), ..expect() },
    ];
    for request in disagreeing {
        let mut grant = pending_grant();
        assert_eq!(redeem(&mut grant, &request, T0), CodeOutcome::Mismatch, "{request:?}");
        assert_eq!(grant, pending_grant());
    }
    let mut grant = pending_grant();
    let elsewhere = CodeExpectation { resource: Some("https://other.example/mcp".into()), ..expect() };
    assert_eq!(redeem(&mut grant, &elsewhere, T0), CodeOutcome::ResourceMismatch);
    assert_eq!(grant, pending_grant());
    assert!(matches!(redeem(&mut grant, &expect(), T0), CodeOutcome::Redeemed(..)), "still redeemable");
}

#[test]
fn the_resource_agrees_with_or_without_a_trailing_slash() {
    for resource in ["https://r.example/mcp", "https://r.example/mcp/"] {
        let mut grant = pending_grant();
        let request = CodeExpectation { resource: Some(resource.into()), ..expect() };
        assert!(matches!(redeem(&mut grant, &request, T0), CodeOutcome::Redeemed(..)), "{resource}");
    }
}

#[test]
fn the_current_token_rotates_and_the_chain_moves_on() {
    let mut grant = rotated_grant();
    let RotateOutcome::Rotated(after, access) = present(&mut grant, "r1", GRACE, T0 + 5) else { panic!() };
    assert_eq!(after, grant);
    let chain = grant.refresh.clone().unwrap();
    assert_eq!((chain.current, chain.previous, chain.rotated_at), (d("next"), Some(d("r1")), T0 + 5));
    assert_eq!((chain.salt.as_str(), chain.generation, chain.retired), ("salt-next", 2, vec![d("r0")]));
    assert_eq!(grant.expires_at, T0 + 86_400_000);
    assert_eq!(access.scopes, grant.scopes);
    assert_eq!(grant.access_digests().collect::<Vec<_>>(), vec![&d("at-next")]);
}

#[test]
fn a_retry_issues_an_access_token_and_leaves_the_chain_as_it_was() {
    let mut grant = rotated_grant();
    let RotateOutcome::Retried(..) = present(&mut grant, "r0", GRACE, T0 + 1) else { panic!() };
    let before = rotated_grant();
    assert_eq!((&grant.refresh, grant.expires_at), (&before.refresh, before.expires_at));
    assert_eq!(grant.access_digests().count(), 1);
}

#[test]
fn unknown_tokens_and_ended_grants_are_not_found_and_change_nothing() {
    let mut grant = rotated_grant();
    assert_eq!(present(&mut grant, "never-issued", GRACE, T0), RotateOutcome::NotFound);
    let expired_at = grant.expires_at;
    assert_eq!(present(&mut grant, "r1", GRACE, expired_at), RotateOutcome::NotFound, "ends at expires_at");
    assert_eq!(grant, rotated_grant());
    let mut without_chain = pending_grant();
    assert_eq!(present(&mut without_chain, "r1", GRACE, T0), RotateOutcome::NotFound);
}

#[test]
fn the_retired_list_keeps_the_newest_and_forgets_the_oldest() {
    let mut grant = rotated_grant();
    let mut presented = "r1".to_string();
    for n in 0..RETIRED_REFRESH_KEPT + 3 {
        let next = format!("r{}", n + 2);
        let outcome = grant.rotate_refresh("c", &d(&presented), &rotation(&next, GRACE), T0 + n as u64);
        assert!(matches!(outcome, RotateOutcome::Rotated(..)), "rotation {n}: {outcome:?}");
        presented = next;
    }
    let chain = grant.refresh.clone().unwrap();
    assert_eq!(chain.retired.len(), RETIRED_REFRESH_KEPT);
    assert_eq!(chain.generation, 1 + RETIRED_REFRESH_KEPT as u64 + 3);
    let newest_retired = *chain.retired.last().unwrap();
    assert_eq!(
        grant.clone().rotate_refresh("c", &newest_retired, &rotation("x", GRACE), T0),
        RotateOutcome::Reused
    );
    assert_eq!(present(&mut grant, "r0", GRACE, T0), RotateOutcome::NotFound, "too old to be remembered");
}

#[test]
fn scopes_may_narrow_but_never_widen() {
    let mut grant = GrantRecord { scopes: vec!["read".into(), "write".into()], ..rotated_grant() };
    let mut narrower = rotation("next", GRACE);
    narrower.scopes = Some(vec!["read".into()]);
    let RotateOutcome::Rotated(after, access) = grant.rotate_refresh("c", &d("r1"), &narrower, T0) else {
        panic!()
    };
    assert_eq!(access.scopes, vec!["read".to_string()]);
    assert_eq!(after.scopes, vec!["read".to_string(), "write".to_string()], "the grant keeps its scopes");

    let untouched = GrantRecord { scopes: vec!["read".into()], ..rotated_grant() };
    let mut grant = untouched.clone();
    let mut wider = rotation("next", GRACE);
    wider.scopes = Some(vec!["read".into(), "admin".into()]);
    assert_eq!(grant.rotate_refresh("c", &d("r1"), &wider, T0), RotateOutcome::ScopeExceeded);
    assert_eq!(grant, untouched);
}

#[test]
fn another_resource_is_refused_and_changes_nothing() {
    let mut grant = rotated_grant();
    let mut elsewhere = rotation("next", GRACE);
    elsewhere.resource = Some("https://other.example/mcp".into());
    assert_eq!(grant.rotate_refresh("c", &d("r1"), &elsewhere, T0), RotateOutcome::ResourceMismatch);
    assert_eq!(grant, rotated_grant());
}

fn client(issued_at: UnixTime, expires_at: Option<UnixTime>) -> ClientRecord {
    ClientRecord {
        client_id: "c".into(),
        secret_digest: None,
        redirect_uris: Vec::new(),
        scopes: Vec::new(),
        grant_types: Vec::new(),
        auth_method: AuthMethod::None,
        client_name: None,
        origin: ClientOrigin::Registered,
        issued_at,
        expires_at,
    }
}

#[test]
fn huge_lifetimes_saturate_instead_of_overflowing() {
    let lasting = GrantRecord { expires_at: u64::MAX, ..rotated_grant() };
    let mut grant = lasting.clone();
    assert!(matches!(present(&mut grant, "r0", u64::MAX, u64::MAX - 1), RotateOutcome::Retried(..)));
    let mut grant = lasting;
    if let Some(chain) = grant.refresh.as_mut() {
        chain.rotated_at = u64::MAX;
    }
    assert!(matches!(present(&mut grant, "r0", GRACE, u64::MAX - 1), RotateOutcome::Retried(..)));
    let forever = client(u64::MAX, Some(0));
    assert_eq!(forever.ttl(), Some(1), "an expiry before issuance still gets a TTL of one second");
    assert_eq!(ClientRecord { expires_at: None, ..forever.clone() }.ttl(), None);
    assert!(!forever.is_live(0));
}

#[test]
fn a_client_with_an_expiry_lives_until_the_second_before_it() {
    let client = client(T0, Some(T0 + 10));
    assert_eq!(client.ttl(), Some(10));
    assert!(client.is_live(T0 + 9) && !client.is_live(T0 + 10));
    assert!(ClientRecord { expires_at: None, ..client }.is_live(u64::MAX));
}

#[test]
fn a_grant_holds_its_current_and_previous_refresh_tokens_only() {
    let mut grant = rotated_grant();
    assert!(grant.holds_refresh(&d("r1")) && grant.holds_refresh(&d("r0")));
    assert!(matches!(present(&mut grant, "r1", GRACE, T0), RotateOutcome::Rotated(..)));
    assert!(!grant.holds_refresh(&d("r0")), "retired");
    assert!(grant.holds_refresh(&d("r1")) && grant.holds_refresh(&d("next")));
    assert!(!grant.holds_refresh(&d("unknown")));
    assert!(!pending_grant().holds_refresh(&d("r1")), "no chain");
}

#[test]
fn an_access_token_answers_for_its_own_grant_until_it_expires() {
    let grant = rotated_grant();
    let access = grant.access_record(&["read".into()], T0, T0 + 60);
    assert!(access.answers("g", T0 + 59));
    assert!(!access.answers("g", T0 + 60));
    assert!(!access.answers("other-grant", T0));
}

#[test]
fn issuing_an_access_token_forgets_the_expired_ones() {
    let mut grant = rotated_grant();
    assert!(matches!(present(&mut grant, "r1", GRACE, T0), RotateOutcome::Rotated(..)));
    let first_expiry = grant.access_tokens[0].expires_at;
    let mut again = rotation("later", GRACE);
    again.access_digest = d("at-later");
    let outcome = grant.rotate_refresh("c", &d("next"), &again, first_expiry);
    assert!(matches!(outcome, RotateOutcome::Rotated(..)));
    assert_eq!(grant.access_digests().collect::<Vec<_>>(), vec![&d("at-later")]);
}
