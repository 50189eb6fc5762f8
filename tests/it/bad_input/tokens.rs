//! Who may ask: missing, malformed, expired, forged, stale and orphaned tokens are
//! refused with 401 on every route, wrong logins get no token, and health needs
//! none.

use super::{Setup, BAD, JSON};
use crate::common::*;
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn mint(secret: &[u8], alg: jsonwebtoken::Algorithm, claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("mint a token")
}

#[tokio::test]
async fn missing_malformed_expired_and_forged_tokens_are_refused_with_401() {
    let s = Setup::new().await;
    let hub = &s.hub;
    let secret = std::fs::read(hub.data_dir().join("jwt_secret")).expect("the hub's JWT secret");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // The owner's credential stamp, as the hub puts it in every token it issues.
    let hash: String = hub
        .db()
        .query_row(
            "SELECT password_hash FROM user_credentials WHERE user_id = ?1",
            [&hub.owner.id],
            |r| r.get(0),
        )
        .expect("the owner's credential");
    let stamp = collisionos::auth::credential_stamp(Some(&hash));
    let claims = |sub: &str, shop: &str, iat: i64, exp: i64| {
        json!({
            "sub": sub,
            "shop_id": shop,
            "user_role": "owner",
            "role": "authenticated",
            "iat": iat,
            "exp": exp,
            "stamp": stamp,
        })
    };
    let owner = hub.owner.id.clone();
    let shop = hub.shop_id.clone();
    let hs256 = jsonwebtoken::Algorithm::HS256;

    // The control: a token minted this way, unexpired, is accepted.
    let good = mint(&secret, hs256, &claims(&owner, &shop, now, now + 600));
    let (st, me) = hub.get("/api/auth/me", &good).await;
    assert_eq!(st, StatusCode::OK, "{me}");
    assert_eq!(me["id"], json!(owner));
    // The scheme's name is case-insensitive.
    let lower = hub
        .client
        .get(format!("{}/api/auth/me", hub.base_url))
        .header("authorization", format!("bearer {good}"))
        .send()
        .await
        .expect("lower-case scheme");
    assert_eq!(lower.status(), StatusCode::OK);

    let expired = mint(&secret, hs256, &claims(&owner, &shop, now - 7200, now - 60));
    let forged = mint(
        b"not the hub's secret, but 32+ bytes long",
        hs256,
        &claims(&owner, &shop, now, now + 600),
    );
    let hs512 = mint(
        &secret,
        jsonwebtoken::Algorithm::HS512,
        &claims(&owner, &shop, now, now + 600),
    );
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let unsigned = format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(claims(&owner, &shop, now, now + 600).to_string())
    );
    let tampered = {
        // The owner's real token with its payload swapped for one naming another shop.
        let parts: Vec<&str> = hub.owner_token().split('.').collect();
        let other = b64
            .encode(claims(&owner, &uuid::Uuid::now_v7().to_string(), now, now + 600).to_string());
        format!("{}.{}.{}", parts[0], other, parts[2])
    };
    let ghost = mint(
        &secret,
        hs256,
        &claims(&uuid::Uuid::now_v7().to_string(), &shop, now, now + 600),
    );
    let wrong_shop = mint(
        &secret,
        hs256,
        &claims(&owner, &uuid::Uuid::now_v7().to_string(), now, now + 600),
    );
    let no_exp = mint(
        &secret,
        hs256,
        &json!({ "sub": owner, "shop_id": shop, "user_role": "owner", "role": "authenticated", "iat": now, "stamp": stamp }),
    );
    let mut unstamped = claims(&owner, &shop, now, now + 600);
    unstamped.as_object_mut().expect("claims").remove("stamp");
    let unstamped = mint(&secret, hs256, &unstamped);
    let mut stale = claims(&owner, &shop, now, now + 600);
    stale["stamp"] = json!(collisionos::auth::credential_stamp(Some("an older hash")));
    let stale = mint(&secret, hs256, &stale);

    // A deleted account's token, and a deactivated one's.
    let gone = hub.user("technician").await;
    let (st, _) = hub
        .delete(&api_id("users", &gone.id), hub.owner_token())
        .await;
    assert_eq!(st, StatusCode::OK);
    let off = hub.user("receptionist").await;
    let (st, _) = hub
        .patch(
            &api_id("users", &off.id),
            hub.owner_token(),
            &json!({ "active": false }),
        )
        .await;
    assert_eq!(st, StatusCode::OK);

    let cases: Vec<(&str, Option<String>)> = vec![
        ("no Authorization header", None),
        ("an empty header", Some(String::new())),
        ("Bearer and nothing", Some("Bearer ".into())),
        (
            "not Bearer",
            Some(format!("Basic {}", b64.encode("owner:pass"))),
        ),
        (
            "a token without its scheme",
            Some(hub.owner_token().to_string()),
        ),
        ("garbage", Some("Bearer not.a.token".into())),
        ("an expired token", Some(format!("Bearer {expired}"))),
        (
            "a token signed with another secret",
            Some(format!("Bearer {forged}")),
        ),
        ("a token signed with HS512", Some(format!("Bearer {hs512}"))),
        (
            "an unsigned token (alg none)",
            Some(format!("Bearer {unsigned}")),
        ),
        ("a tampered payload", Some(format!("Bearer {tampered}"))),
        ("a token without exp", Some(format!("Bearer {no_exp}"))),
        ("a token for no account", Some(format!("Bearer {ghost}"))),
        (
            "a token naming another shop",
            Some(format!("Bearer {wrong_shop}")),
        ),
        (
            "a deleted account's token",
            Some(format!("Bearer {}", gone.token)),
        ),
        (
            "a deactivated account's token",
            Some(format!("Bearer {}", off.token)),
        ),
        (
            "a token without a credential stamp",
            Some(format!("Bearer {unstamped}")),
        ),
        (
            "a token from before the password changed",
            Some(format!("Bearer {stale}")),
        ),
    ];
    let cust = api_id("customers", s.refs.id("customers"));
    for (case, header) in cases {
        let mut headers = vec![JSON];
        if let Some(h) = &header {
            headers.push(("authorization", h.as_str()));
        }
        let create = json!({ "first_name": "Mallory" }).to_string();
        for (method, path, body) in [
            (Method::POST, api("customers"), create.clone()),
            (
                Method::PATCH,
                cust.clone(),
                json!({ "notes": "owned" }).to_string(),
            ),
            (Method::DELETE, cust.clone(), String::new()),
            (Method::GET, cust.clone(), String::new()),
            (
                Method::POST,
                "/api/customers/bulk".into(),
                json!({ "records": [{}] }).to_string(),
            ),
        ] {
            let what = format!("{case}: {method} {path}");
            s.refused(
                &what,
                hub.raw(method.clone(), &path, &headers, body),
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                None,
            )
            .await;
        }
    }
    let got = hub.get(&cust, &expired).await;
    let msg = got.1["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(msg.contains("expired"), "the expiry is said: {msg}");

    // Logging in wrongly gets no token and stores nothing.
    for (case, body, status, code, field) in [
        (
            "a wrong password",
            json!({ "email": OWNER_EMAIL, "password": "not the password" }),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            None,
        ),
        (
            "an unknown e-mail",
            json!({ "email": "nobody@nowhere.test", "password": PASSWORD }),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            None,
        ),
        (
            "a deactivated account",
            json!({ "email": off.email, "password": PASSWORD }),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            None,
        ),
        (
            "no password",
            json!({ "email": OWNER_EMAIL }),
            BAD,
            "invalid_field",
            Some("password"),
        ),
        (
            "an extra field",
            json!({ "email": OWNER_EMAIL, "password": PASSWORD, "role": "owner" }),
            BAD,
            "invalid_field",
            Some("role"),
        ),
        (
            "a shop id that is not a string",
            json!({ "email": OWNER_EMAIL, "password": PASSWORD, "shop_id": 123 }),
            BAD,
            "invalid_field",
            Some("shop_id"),
        ),
    ] {
        s.refused(
            case,
            hub.raw(Method::POST, "/api/auth/login", &[JSON], body.to_string()),
            status,
            code,
            field,
        )
        .await;
    }
    // Health needs no token.
    let (st, health) = hub.raw(Method::GET, "/api/health", &[], Vec::new()).await;
    assert_eq!(st, StatusCode::OK, "{health}");
    assert_eq!(health["status"], json!("ok"));
}
