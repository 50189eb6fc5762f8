//! The RLS claim helpers after 20261130000107: PL/pgSQL (planned once per
//! connection, where the SQL versions were parsed and planned on each
//! statement's first call), answering exactly as the rules say for valid,
//! missing and malformed claims, called as `authenticated` the way the policies
//! call them.

use crate::pg::fresh_db;
use serde_json::json;

#[tokio::test]
async fn claim_helpers_are_plpgsql_and_answer_by_the_claims() {
    let mut db = fresh_db("rls_helpers").await;
    let languages: Vec<(String, String)> = db
        .client
        .query(
            "SELECT p.proname::text, l.lanname::text
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               JOIN pg_language l ON l.oid = p.prolang
              WHERE n.nspname = 'app_private' AND p.proname IN ('shop_id', 'user_role', 'user_id')
              ORDER BY 1",
            &[],
        )
        .await
        .expect("the helpers")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let plpgsql = |f: &str| (f.to_string(), "plpgsql".to_string());
    assert_eq!(
        languages,
        vec![plpgsql("shop_id"), plpgsql("user_id"), plpgsql("user_role")]
    );

    let shop = "0b0e7a2c-5f43-4f5e-9d6a-3c2b1a0f9e8d";
    let user = "9F1C2D3E-4B5A-4678-9ABC-DEF012345678"; // upper case is a UUID too
                                                       // (claims, shop_id(), user_role(), user_id())
    let cases = [
        (
            json!({"shop_id": shop, "user_role": "hub", "sub": user, "role": "authenticated"}),
            Some(shop.to_string()),
            Some("hub"),
            Some(user.to_lowercase()),
        ),
        (json!({}), None, None, None),
        (
            json!({"shop_id": "not-a-uuid", "user_role": "", "sub": "hub:1234"}),
            None,
            None,
            None,
        ),
        (
            json!({"shop_id": format!("{shop}x"), "user_role": "owner", "sub": format!(" {user}")}),
            None,
            Some("owner"),
            None,
        ),
        (
            json!({"shop_id": 42, "user_role": null, "sub": null}),
            None,
            None,
            None,
        ),
    ];
    for (claims, want_shop, want_role, want_user) in cases {
        let tx = db.client.transaction().await.expect("begin");
        tx.batch_execute("SET LOCAL ROLE authenticated")
            .await
            .expect("role");
        tx.execute(
            "SELECT set_config('request.jwt.claims', $1, true)",
            &[&claims.to_string()],
        )
        .await
        .expect("claims");
        let row = tx
            .query_one(
                "SELECT (SELECT app_private.shop_id())::text, (SELECT app_private.user_role()),
                        (SELECT app_private.user_id())::text",
                &[],
            )
            .await
            .expect("the helpers answer");
        let got: (Option<String>, Option<String>, Option<String>) =
            (row.get(0), row.get(1), row.get(2));
        assert_eq!(
            got,
            (want_shop, want_role.map(str::to_string), want_user),
            "claims {claims}"
        );
        tx.rollback().await.expect("rollback");
    }
}
