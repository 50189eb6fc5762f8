//! The guards on accounts through the API: roles cannot be raised past the
//! caller's own or changed on oneself, and passwords are set only by those who
//! manage the account (or by oneself, knowing the current one).

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn roles_cannot_be_raised_past_the_callers_own_or_changed_on_oneself() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let admin = hub.user("admin").await;
    let manager = hub.user("manager").await;
    let tech = hub.user("technician").await;

    let refused: Vec<(&str, &TestUser, String, Value)> = vec![
        (
            "a technician makes themselves owner",
            &tech,
            tech.id.clone(),
            json!({ "role": "owner" }),
        ),
        (
            "a technician makes themselves manager",
            &tech,
            tech.id.clone(),
            json!({ "role": "manager" }),
        ),
        (
            "a manager promotes a technician",
            &manager,
            tech.id.clone(),
            json!({ "role": "manager" }),
        ),
        (
            "an admin grants owner",
            &admin,
            tech.id.clone(),
            json!({ "role": "owner" }),
        ),
        (
            "an admin makes themselves owner",
            &admin,
            admin.id.clone(),
            json!({ "role": "owner" }),
        ),
        (
            "an admin changes their own role",
            &admin,
            admin.id.clone(),
            json!({ "role": "manager" }),
        ),
        (
            "an admin demotes the owner",
            &admin,
            owner.id.clone(),
            json!({ "role": "admin" }),
        ),
        (
            "an admin deactivates the owner",
            &admin,
            owner.id.clone(),
            json!({ "active": false }),
        ),
        (
            "the owner changes their own role",
            &owner,
            owner.id.clone(),
            json!({ "role": "admin" }),
        ),
        (
            "the owner deactivates themselves",
            &owner,
            owner.id.clone(),
            json!({ "active": false }),
        ),
    ];
    for (case, who, id, body) in refused {
        let (_, was) = hub.read_as_owner("users", &id).await;
        let before = hub.snapshot();
        let got = hub.patch(&api_id("users", &id), &who.token, &body).await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden", case);
        assert_eq!(
            snapshot_diff(&before, &hub.snapshot()),
            Vec::<String>::new(),
            "{case}"
        );
        assert_eq!(
            hub.read_as_owner("users", &id).await,
            (StatusCode::OK, was),
            "{case}"
        );
    }

    // An admin cannot create an owner either; the owner can.
    let before = hub.snapshot();
    let got = hub
        .post(
            "/api/users",
            &admin.token,
            &json!({
                "email": "second-owner@staff.test",
                "display_name": "Second Owner",
                "role": "owner",
                "password": PASSWORD,
            }),
        )
        .await;
    assert_error(
        &got,
        StatusCode::FORBIDDEN,
        "forbidden",
        "an admin creates an owner",
    );
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
    // Nobody deletes themselves.
    let got = hub.delete(&api_id("users", &owner.id), &owner.token).await;
    assert_error(
        &got,
        StatusCode::FORBIDDEN,
        "forbidden",
        "the owner deletes themselves",
    );

    // The caller's role is what the account says now: the technician's token
    // still says technician, yet a promotion by an admin takes effect at once.
    let (s, me) = hub.get("/api/auth/me", &tech.token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["role"], json!("technician"));
    let vendor = json!({ "name": "Parts Depot" });
    let got = hub.post("/api/vendors", &tech.token, &vendor).await;
    assert_error(
        &got,
        StatusCode::FORBIDDEN,
        "forbidden",
        "a technician adds a vendor",
    );
    let (s, promoted) = hub
        .patch(
            &api_id("users", &tech.id),
            &admin.token,
            &json!({ "role": "parts_manager" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{promoted}");
    assert_eq!(promoted["role"], json!("parts_manager"));
    let (s, _) = hub.post("/api/vendors", &tech.token, &vendor).await;
    assert_eq!(s, StatusCode::CREATED, "the promotion took effect");

    // The owner may grant owner.
    let (s, granted) = hub
        .patch(
            &api_id("users", &admin.id),
            &owner.token,
            &json!({ "role": "owner" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{granted}");
    assert_eq!(granted["role"], json!("owner"));
}

#[tokio::test]
async fn passwords_are_set_only_by_those_who_manage_the_account() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let admin = hub.user("admin").await;
    let tech = hub.user("technician").await;
    let new_password = "a brand new password";

    let refused: Vec<(&str, &TestUser, &TestUser, Value)> = vec![
        (
            "an admin resets the owner's password",
            &admin,
            &owner,
            json!({ "password": new_password }),
        ),
        (
            "a technician resets another's password",
            &tech,
            &admin,
            json!({ "password": new_password }),
        ),
        (
            "a technician sets their own password here, with a new name",
            &tech,
            &tech,
            json!({ "display_name": "Sneaky", "password": new_password }),
        ),
        (
            "a technician sets their own password here",
            &tech,
            &tech,
            json!({ "password": new_password }),
        ),
    ];
    for (case, who, target, body) in refused {
        let (_, was) = hub.read_as_owner("users", &target.id).await;
        let before = hub.snapshot();
        let got = hub
            .patch(&api_id("users", &target.id), &who.token, &body)
            .await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden", case);
        assert_eq!(
            snapshot_diff(&before, &hub.snapshot()),
            Vec::<String>::new(),
            "{case}"
        );
        assert_eq!(
            hub.read_as_owner("users", &target.id).await,
            (StatusCode::OK, was),
            "{case}"
        );
        let (s, _) = hub.try_login(&target.email, new_password).await;
        assert_eq!(
            s,
            StatusCode::UNAUTHORIZED,
            "{case}: the new password works"
        );
        hub.login(&target.email, PASSWORD).await;
    }

    // An admin may reset a technician's password, and the owner anyone's.
    let (s, body) = hub
        .patch(
            &api_id("users", &tech.id),
            &admin.token,
            &json!({ "password": new_password }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // The reset ended the technician's sessions: they log in again.
    let tech_token = hub.login(&tech.email, new_password).await;
    let (s, _) = hub.try_login(&tech.email, PASSWORD).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the old password still works");
    let (s, body) = hub
        .patch(
            &api_id("users", &admin.id),
            &owner.token,
            &json!({ "password": new_password }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    hub.login(&admin.email, new_password).await;

    // Everyone changes their own through /api/auth/password, knowing the current one.
    let (s, body) = hub
        .post(
            "/api/auth/password",
            &tech_token,
            &json!({ "current_password": new_password, "new_password": "the third password" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let tech_token = hub.login(&tech.email, "the third password").await;
    let before = hub.snapshot();
    let got = hub
        .post(
            "/api/auth/password",
            &tech_token,
            &json!({ "current_password": "a wrong guess!", "new_password": "the fourth password" }),
        )
        .await;
    assert_error(
        &got,
        StatusCode::FORBIDDEN,
        "forbidden",
        "a wrong current password",
    );
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
}
