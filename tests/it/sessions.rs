//! Issue 6, sessions and login: a token ends at once when its account's password
//! is changed or reset, or the account is deactivated; a role change counts on
//! the next request; login never tells an unknown e-mail from a wrong password,
//! not even for an e-mail of several shops; and a password PATCH is refused
//! before the password is looked at when the caller may not set it. Logging
//! out ends that one session on the hub.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

const NEW_PASSWORD: &str = "a brand new password";

/// Asserts `token` is refused with 401 and our error body.
async fn refused(hub: &TestHub, token: &str, what: &str) {
    let got = hub.get("/api/auth/me", token).await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "unauthorized", what);
}

async fn accepted(hub: &TestHub, token: &str, what: &str) {
    let (s, me) = hub.get("/api/auth/me", token).await;
    assert_eq!(s, StatusCode::OK, "{what}: {me}");
}

#[tokio::test]
async fn changing_ones_password_ends_every_older_session_at_once() {
    let hub = TestHub::spawn().await;
    let tech = hub.user("technician").await;
    let other_session = hub.login(&tech.email, PASSWORD).await;
    accepted(&hub, &tech.token, "before the change").await;
    accepted(&hub, &other_session, "before the change").await;
    let (s, body) = hub
        .post(
            "/api/auth/password",
            &tech.token,
            &json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    refused(&hub, &tech.token, "the session that changed it").await;
    refused(&hub, &other_session, "another session").await;
    // The answer's token, and a login in the same second, work.
    let fresh = body["token"].as_str().expect("a new token");
    accepted(&hub, fresh, "the token the change gave").await;
    let again = hub.login(&tech.email, NEW_PASSWORD).await;
    accepted(&hub, &again, "a login after the change").await;
}

#[tokio::test]
async fn an_owners_reset_ends_the_users_sessions_at_once() {
    let hub = TestHub::spawn().await;
    let admin = hub.user("admin").await;
    let tech = hub.user("technician").await;
    accepted(&hub, &tech.token, "before the reset").await;
    accepted(&hub, &admin.token, "before the reset").await;
    for (by, who, with_base) in [(&hub.owner, &tech, false), (&hub.owner, &admin, true)] {
        let mut patch = json!({ "password": NEW_PASSWORD });
        if with_base {
            // As a form sends it: the record's heads beside the password.
            let (_, rec) = hub.get(&api_id("users", &who.id), &by.token).await;
            patch["_base"] = rec["_heads"].clone();
        }
        let (s, body) = hub
            .patch(&api_id("users", &who.id), &by.token, &patch)
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        refused(&hub, &who.token, &format!("{} after the reset", who.email)).await;
        let fresh = hub.login(&who.email, NEW_PASSWORD).await;
        accepted(&hub, &fresh, "a login after the reset").await;
    }
    // The owner's own session did not end.
    accepted(&hub, &hub.owner.token, "the owner who reset").await;
}

#[tokio::test]
async fn deactivation_and_role_changes_count_on_the_next_request() {
    let hub = TestHub::spawn().await;
    let tech = hub.user("technician").await;
    let path = api_id("users", &tech.id);
    let got = hub.get(&api("invoices"), &tech.token).await;
    assert_error(
        &got,
        StatusCode::FORBIDDEN,
        "forbidden",
        "a technician reads invoices",
    );
    let (s, _) = hub
        .patch(&path, hub.owner_token(), &json!({ "role": "accountant" }))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = hub.get(&api("invoices"), &tech.token).await;
    assert_eq!(s, StatusCode::OK, "now an accountant: {body}");
    let (s, _) = hub
        .patch(&path, hub.owner_token(), &json!({ "active": false }))
        .await;
    assert_eq!(s, StatusCode::OK);
    refused(&hub, &tech.token, "a deactivated account").await;
    let (s, _) = hub.try_login(&tech.email, PASSWORD).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Reactivated: the sessions from before stay ended; a new login works.
    let (s, _) = hub
        .patch(&path, hub.owner_token(), &json!({ "active": true }))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = hub.get("/api/auth/me", &tech.token).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    let msg = body["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("deactivated"), "{body}");
    let fresh = hub.login(&tech.email, PASSWORD).await;
    accepted(&hub, &fresh, "a login after the reactivation").await;
}

#[tokio::test]
async fn only_the_right_password_learns_that_an_email_has_several_shops() {
    let hub = TestHub::spawn().await;
    let tech = hub.user("technician").await;
    let other = hub.second_shop("Shop B").await;
    // Shop B has an account with the same e-mail and the same password.
    let twin_id = hub
        .create_id(
            "users",
            &other.owner.token,
            &json!({ "email": tech.email, "display_name": "Twin", "role": "estimator", "password": PASSWORD }),
        )
        .await;
    let unknown = hub
        .try_login("nobody-at-all@staff.test", "a wrong guess!")
        .await;
    assert_error(
        &unknown,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "an unknown e-mail",
    );
    let wrong = hub.try_login(&tech.email, "a wrong guess!").await;
    assert_eq!(
        wrong, unknown,
        "a wrong password for an e-mail of two shops answers like an unknown e-mail"
    );
    let single_wrong = hub.try_login(OWNER_EMAIL, "a wrong guess!").await;
    assert_eq!(single_wrong, unknown);
    // The password of both: told to name the shop.
    let got = hub.try_login(&tech.email, PASSWORD).await;
    let field = assert_error(&got, StatusCode::BAD_REQUEST, "invalid_field", "ambiguous");
    assert_eq!(field.as_deref(), Some("shop_id"));
    // Naming the shop logs in to that shop's account.
    let login_at = |shop: &str, password: &str| {
        let body = json!({ "email": tech.email, "password": password, "shop_id": shop });
        let hub = &hub;
        async move {
            hub.request(reqwest::Method::POST, "/api/auth/login", None, Some(&body))
                .await
        }
    };
    for (shop, id) in [(&hub.shop_id, &tech.id), (&other.shop_id, &twin_id)] {
        let (s, body) = login_at(shop, PASSWORD).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["user"]["id"], json!(id));
    }
    let (s, _) = login_at(&other.shop_id, "a wrong guess!").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // With different passwords, each of them is told to name the shop; a wrong
    // one still is not.
    let b_password = "shop b's own password";
    let (s, got) = hub
        .patch(
            &api_id("users", &twin_id),
            &other.owner.token,
            &json!({ "password": b_password }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    for password in [PASSWORD, b_password] {
        let got = hub.try_login(&tech.email, password).await;
        let field = assert_error(&got, StatusCode::BAD_REQUEST, "invalid_field", password);
        assert_eq!(field.as_deref(), Some("shop_id"));
    }
    assert_eq!(hub.try_login(&tech.email, "a wrong guess!").await, unknown);
    let (s, body) = login_at(&other.shop_id, b_password).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["id"], json!(twin_id));
}

#[tokio::test]
async fn a_password_patch_the_caller_may_not_make_is_refused_before_the_password_is_read() {
    let hub = TestHub::spawn().await;
    let admin = hub.user("admin").await;
    let tech = hub.user("technician").await;
    let manager = hub.user("manager").await;
    let owner = hub.owner.clone();
    // A password the rules refuse: a caller allowed to set it would get 400 for
    // it; one who is not must get 403 without the password being looked at.
    for (by, target, what) in [
        (&tech, &tech.id, "a technician sets their own"),
        (&manager, &tech.id, "a manager resets a technician's"),
        (&admin, &owner.id, "an admin resets the owner's"),
    ] {
        let before = hub.snapshot();
        for password in [json!("short"), json!(NEW_PASSWORD)] {
            let got = hub
                .patch(
                    &api_id("users", target),
                    &by.token,
                    &json!({ "password": password }),
                )
                .await;
            assert_error(
                &got,
                StatusCode::FORBIDDEN,
                "forbidden",
                &format!("{what}: {password}"),
            );
        }
        assert_eq!(
            snapshot_diff(&before, &hub.snapshot()),
            Vec::<String>::new(),
            "{what}"
        );
    }
    hub.login(OWNER_EMAIL, PASSWORD).await;
    hub.login(&tech.email, PASSWORD).await;
    // Allowed, the rules still apply.
    let got = hub
        .patch(
            &api_id("users", &tech.id),
            &admin.token,
            &json!({ "password": "short" }),
        )
        .await;
    let field = assert_error(
        &got,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "a short password",
    );
    assert_eq!(field.as_deref(), Some("password"));
}

/// Logging out ends that session on the hub: its token is refused from then
/// on (a copy of it is no good), the person's other sessions go on, and the
/// logged-out token cannot log out again.
#[tokio::test]
async fn logging_out_ends_that_session_and_no_other() {
    let hub = TestHub::spawn().await;
    let tech = hub.user("technician").await;
    let tablet = hub.login(&tech.email, PASSWORD).await;
    let (s, body) = hub.post("/api/auth/logout", &tech.token, &json!({})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["loggedOut"], true, "{body}");
    let got = hub.get("/api/auth/me", &tech.token).await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "unauthorized", "logged out");
    assert!(
        got.1["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("logged out"),
        "{}",
        got.1
    );
    let got = hub.get("/api/customers", &tech.token).await;
    assert_eq!(got.0, StatusCode::UNAUTHORIZED, "{}", got.1);
    let again = hub.post("/api/auth/logout", &tech.token, &json!({})).await;
    assert_eq!(again.0, StatusCode::UNAUTHORIZED, "{}", again.1);
    accepted(&hub, &tablet, "the person's other session").await;
    let fresh = hub.login(&tech.email, PASSWORD).await;
    accepted(&hub, &fresh, "a login after the logout").await;
    // Kept on the hub until the token would have expired, no longer.
    let kept: i64 = hub
        .db()
        .query_row("SELECT count(*) FROM ended_sessions", [], |r| r.get(0))
        .expect("count");
    assert_eq!(kept, 1);
}
