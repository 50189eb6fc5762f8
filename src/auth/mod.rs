//! Accounts: argon2id password hashes (computed on blocking threads, never on the
//! async runtime) and HS256 JWTs signed with a secret generated at first start and
//! kept in the data dir, readable by its owner only.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

pub const SECRET_FILE: &str = "jwt_secret";
pub const MIN_PASSWORD_CHARS: usize = 8;

/// The JWT signing secret. Its `Debug` is redacted so it cannot leak into logs.
#[derive(Clone)]
pub struct JwtSecret(Vec<u8>);

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtSecret(<redacted>)")
    }
}

impl JwtSecret {
    pub fn from_bytes(bytes: Vec<u8>) -> JwtSecret {
        JwtSecret(bytes)
    }

    /// Reads the secret from the data dir, creating it (64 random bytes, mode 0600)
    /// at first start.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<JwtSecret> {
        use std::io::Write;
        let path = data_dir.join(SECRET_FILE);
        match std::fs::read(&path) {
            Ok(bytes) if bytes.len() >= 32 => return Ok(JwtSecret(bytes)),
            Ok(_) => anyhow::bail!("{} is too short to be a signing secret", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        let mut bytes = vec![0u8; 64];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut file = opts.open(&path)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        Ok(JwtSecret(bytes))
    }
}

/// What a hub token says. `role` is the Postgres role (always `authenticated`, as
/// Supabase expects); the app role is `user_role`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub shop_id: String,
    pub user_role: String,
    pub role: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token has expired; log in again")]
    Expired,
    #[error("the token is not valid")]
    Invalid,
}

pub fn issue(secret: &JwtSecret, claims: &Claims) -> anyhow::Result<String> {
    Ok(encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(&secret.0),
    )?)
}

pub fn verify(secret: &JwtSecret, token: &str) -> Result<Claims, TokenError> {
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = 0;
    v.set_required_spec_claims(&["exp", "sub"]);
    decode::<Claims>(token, &DecodingKey::from_secret(&secret.0), &v)
        .map(|d| d.claims)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
            _ => TokenError::Invalid,
        })
}

/// Hashes a password with argon2id on a blocking thread.
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await?
}

/// Checks a password against a stored hash on a blocking thread. `None` (no
/// account, or no password set) still spends the time of a real check, so the
/// answer's timing does not tell which e-mails exist.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let stored = match hash {
            Some(h) => h,
            None => dummy_hash().to_string(),
        };
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && known
    })
    .await
    .unwrap_or(false)
}

/// A real argon2id hash (same parameters as real ones) of a random string nobody
/// knows, made once, so checking a login for an unknown e-mail costs a real check.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        let secret = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(secret.as_str().as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

pub fn check_password_rules(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!("must be at least {MIN_PASSWORD_CHARS} characters"));
    }
    if password.len() > 1024 {
        return Err("must be at most 1024 bytes".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "u".into(),
            shop_id: "s".into(),
            user_role: "owner".into(),
            role: "authenticated".into(),
            iat: 0,
            exp,
        }
    }

    #[test]
    fn tokens_round_trip_and_expire_and_forgeries_fail() {
        let s = JwtSecret(vec![7; 64]);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let t = issue(&s, &claims(now + 60)).expect("issue");
        assert_eq!(verify(&s, &t), Ok(claims(now + 60)));
        let old = issue(&s, &claims(now - 1)).expect("issue");
        assert_eq!(verify(&s, &old), Err(TokenError::Expired));
        let other = JwtSecret(vec![8; 64]);
        assert_eq!(verify(&other, &t), Err(TokenError::Invalid));
    }

    #[tokio::test]
    async fn passwords_verify() {
        let h = hash_password("correct horse".into()).await.expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), Some(h.clone())).await);
        assert!(!verify_password("wrong horse".into(), Some(h)).await);
        assert!(!verify_password("anything".into(), None).await);
    }
}
