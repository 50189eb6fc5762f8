//! First run from the browser: a hub with no shop prints a one-time setup code
//! on its console; `POST /api/setup` with that code creates the shop and its
//! owner (the same as `collisionos init`). Anyone else on the shop's network
//! cannot claim the hub without the code, and the code works once.

use super::accounts::{address_key, rate_limited, Peer};
use super::extract::{only_fields, JsonBody};
use super::{ApiError, AppState};
use crate::auth::limiter;
use crate::domain::value::FieldError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// The one-time setup code, while the hub has no shop.
#[derive(Clone, Default)]
pub struct SetupCode(Arc<Mutex<Option<String>>>);

impl SetupCode {
    /// A new random code (eight digits, grouped `1234-5678` for reading aloud).
    pub fn generate() -> SetupCode {
        use rand::Rng;
        let n: u32 = rand::rngs::OsRng.gen_range(0..100_000_000);
        let s = format!("{n:08}");
        SetupCode(Arc::new(Mutex::new(Some(format!(
            "{}-{}",
            &s[..4],
            &s[4..]
        )))))
    }

    /// The code, for the console.
    pub fn peek(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Takes the code if `given` is it (ignoring spaces and dashes): it works once.
    fn take_if(&self, given: &str) -> bool {
        let norm = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
        let mut code = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match code.as_deref() {
            Some(c) if !norm(given).is_empty() && norm(c) == norm(given) => {
                *code = None;
                true
            }
            _ => false,
        }
    }

    /// Puts a taken code back (the setup it allowed failed).
    fn restore(&self, code: String) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(code);
    }
}

/// `GET /api/setup` (no auth): whether this hub still needs its first setup.
pub async fn status(State(st): State<AppState>) -> Result<Json<Value>, ApiError> {
    let needed = !st.store.is_set_up().await?;
    Ok(Json(json!({ "needed": needed })))
}

fn text<'a>(body: &'a Value, name: &str) -> Result<&'a str, FieldError> {
    body.get(name)
        .ok_or_else(|| FieldError::new(name, "is required"))?
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| FieldError::new(name, "must be a non-empty string"))
}

/// The limiter's key for every caller's wrong setup codes together.
const SETUP_KEY: &str = "setup:any";

/// `POST /api/setup {code, shop_name, owner_name, email, password}` (no auth).
pub async fn create(
    State(st): State<AppState>,
    peer: Peer,
    JsonBody(body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    // A hub already set up says so first: no field of the form matters then.
    if st.store.is_set_up().await? {
        return Err(ApiError::Conflict(
            "this hub is already set up; log in".into(),
        ));
    }
    only_fields(
        &body,
        &["code", "shop_name", "owner_name", "email", "password"],
    )?;
    let code = text(&body, "code")?;
    let shop_name = text(&body, "shop_name")?;
    let owner_name = text(&body, "owner_name")?;
    let email = text(&body, "email")?;
    let password = text(&body, "password")?.to_string();
    crate::auth::check_password_rules(&password).map_err(|m| FieldError::new("password", m))?;
    let Some(current) = st.setup.peek() else {
        return Err(ApiError::Conflict(
            "this hub is already set up; log in".into(),
        ));
    };
    // The code is 8 digits: wrong ones are limited like wrong passwords, per
    // address and for all callers together, so guessing it takes years, not
    // the hours an unlimited network caller would need.
    let address_key = address_key("setup", peer);
    let now = std::time::Instant::now();
    rate_limited(&st, &[SETUP_KEY, &address_key], now, "setup", &address_key)?;
    if !st.setup.take_if(code) {
        st.logins.failed(
            &[
                (SETUP_KEY, limiter::ADDRESS),
                (&address_key, limiter::ACCOUNT),
            ],
            now,
        );
        return Err(ApiError::Forbidden(
            "code: that is not the setup code the hub printed on its console".into(),
        ));
    }
    let made = crate::app::init_shop(
        &st.store,
        crate::app::NewShop {
            shop_name,
            owner_email: email,
            owner_name,
            password,
        },
    )
    .await;
    match made {
        Ok((shop_id, owner_id)) => {
            tracing::info!(shop = %shop_id, "the hub was set up from the browser");
            Ok((
                StatusCode::CREATED,
                Json(json!({ "shop_id": shop_id, "owner_id": owner_id })),
            ))
        }
        Err(e) => {
            st.setup.restore(current);
            Err(ApiError::BadRequest(format!(
                "the shop could not be created: {e}"
            )))
        }
    }
}
