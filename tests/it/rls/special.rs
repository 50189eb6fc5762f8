//! The special rules beside the matrix: a technician's own role and approvals,
//! a receptionist's payments, and the account guards (who changes whose role,
//! active flag or account), which agree with the API's.

use super::{
    count_by_id, delete, fixtures, fresh, hub, insert, nothing, staff, table, update, Outcome,
};
use serde_json::json;

#[tokio::test]
async fn own_role_approvals_and_payments_cannot_be_tampered_with() {
    let mut fx = fixtures("special").await;
    let mut client = std::mem::replace(&mut fx.db.client, crate::pg::connect(&fx.db.url).await);
    let a = &fx.a;
    let tech = staff(a, "technician");
    let me = a.user("technician");

    // A technician edits their own name, but never their role, email, active
    // flag, rate or shop.
    assert_eq!(
        update(&mut client, &tech, "users", "display_name = 'Sam'", me).await,
        Outcome::Rows(1)
    );
    for set in [
        "role = 'owner'".to_string(),
        "role = 'manager', display_name = 'Boss'".to_string(),
        "email = 'new@example.test'".to_string(),
        "active = NOT active".to_string(),
        "hourly_rate_cents = 999999".to_string(),
        format!("shop_id = '{}'", fx.b.id),
    ] {
        assert_eq!(
            update(&mut client, &tech, "users", &set, me).await,
            Outcome::Denied,
            "technician: SET {set} on own user row"
        );
    }

    // A technician never approves their own labor.
    let own = a.own("labor_entries", "technician");
    for set in [
        "approved = true".to_string(),
        format!("approved_by = '{me}'"),
        format!("approved = true, approved_by = '{me}'"),
    ] {
        assert_eq!(
            update(&mut client, &tech, "labor_entries", &set, own).await,
            Outcome::Denied,
            "technician: SET {set} on own labor entry"
        );
    }
    assert_eq!(
        update(&mut client, &tech, "labor_entries", "minutes = 90", own).await,
        Outcome::Rows(1),
        "technician edits own unapproved entry"
    );
    assert_eq!(
        update(
            &mut client,
            &tech,
            "labor_entries",
            "minutes = 90",
            a.approved_labor
        )
        .await,
        Outcome::Rows(0),
        "technician cannot edit an approved entry"
    );
    let mut pre_approved = fresh(table("labor_entries"), a);
    pre_approved.insert("technician_id".into(), json!(me.to_string()));
    pre_approved.insert("approved".into(), json!(true));
    assert_eq!(
        insert(&mut client, &tech, "labor_entries", &pre_approved).await,
        Outcome::Denied,
        "technician inserts an approved entry"
    );
    let manager = staff(a, "manager");
    let approve = format!("approved = true, approved_by = '{}'", a.user("manager"));
    assert_eq!(
        update(&mut client, &manager, "labor_entries", &approve, own).await,
        Outcome::Rows(1),
        "a manager approves"
    );

    // A receptionist records payments but never changes or deletes one.
    let desk = staff(a, "receptionist");
    let payment = a.row("payments");
    assert_eq!(
        count_by_id(&mut client, &desk, "payments", payment).await,
        Outcome::Rows(1)
    );
    for set in ["amount_cents = 1", "payment_status = 'refunded'"] {
        let got = update(&mut client, &desk, "payments", set, payment).await;
        assert!(
            nothing(&got),
            "receptionist: SET {set} on a payment: {got:?}"
        );
    }
    let got = delete(&mut client, &desk, "payments", payment).await;
    assert!(nothing(&got), "receptionist deletes a payment: {got:?}");
    let amount: i64 = client
        .query_one(
            "SELECT amount_cents FROM public.payments WHERE id = $1::text::uuid",
            &[&payment.to_string()],
        )
        .await
        .expect("payment still there")
        .get(0);
    assert!(amount > 1, "payment unchanged");

    drop(client);
    fx.db.drop_db().await;
}

#[tokio::test]
async fn account_guards_agree_with_the_api() {
    let mut fx = fixtures("accounts").await;
    let mut client = std::mem::replace(&mut fx.db.client, crate::pg::connect(&fx.db.url).await);
    let a = &fx.a;
    let (owner, admin) = (staff(a, "owner"), staff(a, "admin"));

    // Nobody changes their own role or active flag, an owner included.
    for (who, role) in [(&owner, "owner"), (&admin, "admin")] {
        for set in ["role = 'manager'", "active = NOT active"] {
            assert_eq!(
                update(&mut client, who, "users", set, a.user(role)).await,
                Outcome::Denied,
                "{role}: SET {set} on own row"
            );
        }
    }
    // An admin neither grants the owner role nor touches an owner's account.
    assert_eq!(
        update(
            &mut client,
            &admin,
            "users",
            "role = 'owner'",
            a.user("manager")
        )
        .await,
        Outcome::Denied
    );
    assert_eq!(
        update(
            &mut client,
            &admin,
            "users",
            "display_name = 'X'",
            a.user("owner")
        )
        .await,
        Outcome::Denied
    );
    let mut new_owner = fresh(table("users"), a);
    new_owner.insert("role".into(), json!("owner"));
    assert_eq!(
        insert(&mut client, &admin, "users", &new_owner).await,
        Outcome::Denied
    );
    // An admin manages other staff; an owner does all of it.
    assert_eq!(
        update(
            &mut client,
            &admin,
            "users",
            "role = 'estimator'",
            a.user("technician")
        )
        .await,
        Outcome::Rows(1)
    );
    assert_eq!(
        update(
            &mut client,
            &owner,
            "users",
            "role = 'owner'",
            a.user("manager")
        )
        .await,
        Outcome::Rows(1)
    );
    assert_eq!(
        insert(&mut client, &owner, "users", &new_owner).await,
        Outcome::Rows(1)
    );
    // The hub writes what its API allowed.
    assert_eq!(
        update(
            &mut client,
            &hub(a),
            "users",
            "role = 'admin'",
            a.user("owner")
        )
        .await,
        Outcome::Rows(1)
    );
    drop(client);
    fx.db.drop_db().await;
}
