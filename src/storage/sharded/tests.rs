//! The shard wire format, byte for byte: Durable Objects deployed with an
//! earlier build read these messages, so an operation's name and the order
//! of its arguments never change.

use serde_json::Map;

use crate::crypto::SecretDigest;
use crate::storage::StorageOp::*;
use crate::storage::*;

fn grant() -> GrantRecord {
    GrantRecord {
        id: "g1".into(),
        client_id: "c1".into(),
        subject: Some("alice".into()),
        scopes: vec!["mcp".into()],
        resource: "https://r.example/mcp".into(),
        props: Map::new(),
        created_at: 1,
        expires_at: 2,
        code: None,
        refresh: None,
        access_tokens: Vec::new(),
    }
}

/// Every operation once (`put_grant` twice: with and without access), as
/// the trait lists them; `D` stands for the digest's hex.
const MESSAGES: [&str; 16] = [
    r#"["put_client","{\"client_id\":\"c1\",\"secret_digest\":\"D\",\"redirect_uris\":[\"https://a/cb\"],\"scopes\":[\"mcp\"],\"grant_types\":[\"authorization_code\"],\"auth_method\":\"none\",\"client_name\":null,\"origin\":\"registered\",\"issued_at\":3,\"expires_at\":4}"]"#,
    r#"["get_client","c1"]"#,
    r#"["delete_client","c1","10"]"#,
    r#"["list_clients"]"#,
    r#"["put_grant","{\"id\":\"g1\",\"client_id\":\"c1\",\"subject\":\"alice\",\"scopes\":[\"mcp\"],\"resource\":\"https://r.example/mcp\",\"props\":{},\"created_at\":1,\"expires_at\":2,\"code\":null,\"refresh\":null,\"access_tokens\":[]}","+","D","{\"grant_id\":\"g1\",\"client_id\":\"c1\",\"subject\":\"alice\",\"scopes\":[\"mcp\"],\"resource\":\"https://r.example/mcp\",\"props\":{},\"issued_at\":1,\"expires_at\":2}","11"]"#,
    r#"["put_grant","{\"id\":\"g1\",\"client_id\":\"c1\",\"subject\":\"alice\",\"scopes\":[\"mcp\"],\"resource\":\"https://r.example/mcp\",\"props\":{},\"created_at\":1,\"expires_at\":2,\"code\":null,\"refresh\":null,\"access_tokens\":[]}","-","11"]"#,
    r#"["get_grant","g1","12"]"#,
    r#"["consume_code","g1","D","c1","u","ch","+","r","D","5","+","D","6","13"]"#,
    r#"["get_access","g1","D","18446744073709551615"]"#,
    r#"["rotate_refresh","g1","c1","D","D","s","D","7","8","+","2","a","b","-","9","14"]"#,
    r#"["revoke_grant","g1"]"#,
    r#"["revoke_token","g1","c1","D","15"]"#,
    r#"["list_grants","alice","16"]"#,
    r#"["stats","17"]"#,
    r#"["health"]"#,
    r#"["sweep","18"]"#,
];

#[test]
fn every_operation_is_written_as_deployed_shards_read_it() {
    let d = SecretDigest::of("x");
    let client = ClientRecord {
        client_id: "c1".into(),
        secret_digest: Some(d),
        redirect_uris: vec!["https://a/cb".into()],
        scopes: vec!["mcp".into()],
        grant_types: vec!["authorization_code".into()],
        auth_method: AuthMethod::None,
        client_name: None,
        origin: ClientOrigin::Registered,
        issued_at: 3,
        expires_at: Some(4),
    };
    let expect = CodeExpectation {
        client_id: "c1".into(),
        redirect_uri: "u".into(),
        code_challenge: "ch".into(),
        resource: Some("r".into()),
    };
    let redemption =
        Redemption { access_digest: d, access_expires_at: 5, refresh: Some(d), grant_expires_at: 6 };
    let rotation = Rotation {
        successor: d,
        salt: "s".into(),
        access_digest: d,
        access_expires_at: 7,
        grant_expires_at: 8,
        scopes: Some(vec!["a".into(), "b".into()]),
        resource: None,
        grace_seconds: 9,
    };
    let access = NewAccess { digest: d, record: grant().access_record(&["mcp".into()], 1, 2) };
    let ops = [
        PutClient(client),
        GetClient("c1".into()),
        DeleteClient("c1".into(), 10),
        ListClients,
        PutGrant(grant(), Some(access), 11),
        PutGrant(grant(), None, 11),
        GetGrant("g1".into(), 12),
        ConsumeCode("g1".into(), d, expect, redemption, 13),
        GetAccess("g1".into(), d, u64::MAX),
        RotateRefresh("g1".into(), "c1".into(), d, rotation, 14),
        RevokeGrant("g1".into()),
        RevokeToken("g1".into(), "c1".into(), d, 15),
        ListGrants("alice".into(), 16),
        Stats(17),
        Health,
        Sweep(18),
    ];
    let hex = d.to_hex();
    for (op, expected) in ops.iter().zip(MESSAGES) {
        let message = op.encode();
        assert_eq!(message.replace(&hex, "D"), expected);
        assert_eq!(StorageOp::decode(&message).as_ref(), Ok(op));
    }
}
