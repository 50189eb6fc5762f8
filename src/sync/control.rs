//! What the sync endpoints do, apart from HTTP: status, configuration (settings
//! into `shops.settings.sync`, credentials into `hub_secrets`), enable with a
//! connection test first, disable, the queue and its history.
//!
//! A refused request changes nothing: everything is checked before anything is
//! written.

use super::config::{self, ConfigError, Secret, Settings, Transport, CREDENTIALS};
use super::cost;
use super::live::Live;
use super::sink::CheckOutcome;
use super::worker::Engine;
use crate::domain::policy::Principal;
use crate::domain::value::{format_timestamp, parse_object, Mode};
use crate::domain::TableId;
use crate::store::{StoreError, WriteOp, WriteRequest};
use serde_json::{json, Map, Value};

/// Why a control request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Bad input: the field and why.
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    /// The connection test failed: sync stays as it was.
    #[error("{message}")]
    CheckFailed {
        message: String,
        check: CheckOutcome,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

fn transport_name(t: &Result<Transport, ConfigError>) -> Value {
    match t {
        Ok(t) => json!(t),
        Err(_) => Value::Null,
    }
}

impl Engine {
    /// `GET /api/sync/status`.
    pub async fn status(&self) -> Result<Value, ControlError> {
        let live = self.live();
        let q = self.queue();
        let counts = q.counts().await?;
        let state = q.state().await?;
        let num = |k: &str| {
            state
                .get(k)
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let now = self.clock().now();
        let lag_ms = counts.oldest_open.as_deref().and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .ok()
                .map(|t| (now - t).whole_milliseconds().max(0) as i64)
        });
        let enabled = live.settings.enabled;
        let pending = counts.waiting();
        let upload_total = num("initial_upload_total");
        let upload_left = self.initial_upload_left().await?;
        Ok(json!({
            "mode": if enabled { "hybrid" } else { "local-only" },
            "syncEnabled": enabled,
            "ready": live.transport.is_ok() && live.shop_id.is_some(),
            "notReadyReason": live.transport.as_ref().err().map(|e| e.to_string()),
            "transport": transport_name(&live.transport),
            "pendingOperations": pending,
            "lastSync": state.get("last_sync"),
            "lastError": state.get("last_error"),
            "lastErrorAt": state.get("last_error_at"),
            "lag": { "oldestPendingAt": counts.oldest_open, "ms": lag_ms },
            "queue": {
                "queueSize": pending + counts.failed,
                "pending": counts.pending,
                "retry": counts.retry,
                "failed": counts.failed,
                "completedKept": counts.completed,
                "totalProcessed": num("total_processed"),
                "totalFailed": num("total_failed"),
            },
            "initialUpload": {
                "state": match state.get("initial_upload").map(String::as_str) {
                    None => "not started",
                    Some("queued") if upload_left == 0 => "done",
                    Some(s) => s,
                },
                "total": upload_total,
                "done": (upload_total - upload_left).max(0),
                // When and why it last started again (another cloud, or the
                // same one restored from an older backup).
                "restartedAt": state.get("upload_restarted_at"),
                "restartedBecause": state.get("upload_restarted_because"),
            },
        }))
    }

    /// Records of the first upload not yet in the cloud.
    async fn initial_upload_left(&self) -> Result<i64, ControlError> {
        Ok(self.queue().initial_upload_left().await?)
    }

    /// `GET /api/sync/config`: settings, credentials shown as set, the transport.
    pub fn config_view(&self) -> Value {
        let live = self.live();
        view(&live)
    }

    /// `PUT /api/sync/config`: settings (camelCase) and `credentials`. Checked
    /// whole before anything is stored; `enabled` is refused here (enable runs
    /// the connection test first).
    pub async fn update_config(
        &self,
        who: &Principal,
        patch: &Value,
    ) -> Result<Value, ControlError> {
        let obj = patch
            .as_object()
            .ok_or_else(|| ConfigError::new("body", "must be a JSON object"))?;
        if obj.is_empty() {
            return Err(ConfigError::new("body", "names nothing to change").into());
        }
        let live = self.live();
        let mut settings_patch = Map::new();
        let mut secret_changes: Vec<(String, Option<String>)> = Vec::new();
        for (k, v) in obj {
            match k.as_str() {
                "enabled" => return Err(ConfigError::new(
                    "enabled",
                    "is switched with POST /api/sync/enable (which tests the connection first) \
                         and POST /api/sync/disable",
                )
                .into()),
                "credentials" => {
                    let creds = v.as_object().ok_or_else(|| {
                        ConfigError::new(
                            "credentials",
                            "must be an object of credential: string|null",
                        )
                    })?;
                    for (name, value) in creds {
                        let field = format!("credentials.{name}");
                        if !CREDENTIALS.iter().any(|(n, _)| n == name) {
                            config::check_credential(name, "x")?; // names the known ones
                        }
                        match value {
                            Value::Null => secret_changes.push((name.clone(), None)),
                            Value::String(s) => {
                                config::check_credential(name, s)?;
                                secret_changes.push((name.clone(), Some(s.trim().to_string())));
                            }
                            _ => {
                                return Err(
                                    ConfigError::new(field, "must be a string or null").into()
                                )
                            }
                        }
                    }
                }
                _ => {
                    settings_patch.insert(k.clone(), v.clone());
                }
            }
        }
        // The settings as they would be, checked whole.
        self.same_shop(who).await?;
        let stored = self.shop_sync_settings(who.shop_id.as_str()).await?;
        let stored = self.usable(stored).1;
        let mut merged = stored.as_object().cloned().unwrap_or_default();
        for (k, v) in &settings_patch {
            if k == "features" {
                let mut f = merged
                    .get("features")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                if let Some(o) = v.as_object() {
                    for (fk, fv) in o {
                        f.insert(fk.clone(), fv.clone());
                    }
                    merged.insert(k.clone(), Value::Object(f));
                } else {
                    merged.insert(k.clone(), v.clone());
                }
            } else {
                merged.insert(k.clone(), v.clone());
            }
        }
        let new_settings = self.inner.env.settings.overridden(&Value::Object(merged))?;
        let mut new_creds = live.credentials.clone();
        for (name, v) in &secret_changes {
            let from_env = self.inner.env.credentials.get(name).cloned();
            new_creds.set(name, v.clone().map(Secret::new).or(from_env));
        }
        if new_settings.enabled {
            // Running: the new configuration must still be able to run.
            config::ready(&new_settings, &new_creds)?;
        }
        if !settings_patch.is_empty() {
            self.store_settings(who, &new_settings).await?;
        }
        if !secret_changes.is_empty() {
            self.queue()
                .set_secrets(secret_changes, format_timestamp(self.clock().now()))
                .await?;
        }
        self.reload().await?;
        Ok(self.config_view())
    }

    /// Whether `shop` is the shop this hub syncs: the one its sync was set up
    /// for, else (as the configuration is loaded) the hub's first shop. A hub
    /// holding another shop's rows shows that shop's staff nothing of its sync.
    pub async fn serves(&self, shop: &crate::domain::ShopId) -> Result<bool, StoreError> {
        if let Some(s) = &self.live().shop_id {
            return Ok(shop == s);
        }
        let first = self.store().shop_ids().await?.into_iter().next();
        Ok(first.is_none_or(|s| shop == &s))
    }

    /// Refuses a caller of another shop than the one this hub syncs
    /// ([`Engine::serves`]).
    async fn same_shop(&self, who: &Principal) -> Result<(), ControlError> {
        if self.serves(&who.shop_id).await? {
            return Ok(());
        }
        Err(ConfigError::new(
            "shop",
            "this hub syncs another shop's data; its owner manages sync",
        )
        .into())
    }

    /// Writes `settings.sync` of the shop, through the writer, as the hub itself:
    /// a person's own update of the shop may not change it (the caller's role
    /// was checked by the endpoint).
    async fn store_settings(&self, who: &Principal, s: &Settings) -> Result<(), ControlError> {
        let shops = TableId::by_name("shops")
            .ok_or_else(|| anyhow::anyhow!("the catalog has no shops table"))?;
        let shop_id = who.shop_id.clone();
        let current = self
            .store()
            .get(shops, &shop_id, shop_id.as_str())
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut all = current
            .to_json()
            .get("settings")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        all.insert("sync".into(), s.to_json());
        let (_, fields) = parse_object(
            shops.def(),
            &json!({ "settings": Value::Object(all) }),
            Mode::Update,
        )
        .map_err(|e| anyhow::anyhow!("settings: {e}"))?;
        self.store()
            .write(WriteRequest {
                who: Principal::system(shop_id.clone()),
                table: shops,
                op: WriteOp::Update {
                    id: shop_id.to_string(),
                    fields,
                    base: None,
                },
                skip_sync: false,
                password_hash: None,
            })
            .await?;
        Ok(())
    }

    /// The connection test with the current configuration.
    pub async fn test_connection(&self) -> Result<CheckOutcome, ControlError> {
        let live = self.live();
        let t = &live.transport;
        if let Err(e) = t {
            return Err(e.clone().into());
        }
        let (Some(sink), Some(claims)) = (live.sink.clone(), Self::claims(&live)) else {
            return Err(ConfigError::new("shop", "this hub has no shop yet").into());
        };
        Ok(sink.check(&claims).await)
    }

    /// `POST /api/sync/enable`: tests the connection, and only if it passes turns
    /// sync on for the caller's shop and queues what already exists (first time).
    pub async fn enable(&self, who: &Principal) -> Result<Value, ControlError> {
        let q = self.queue();
        let state = q.state().await?;
        if let Some(other) = state.get("shop_id") {
            if who.shop_id != *other {
                return Err(
                    ConfigError::new("shop", "this hub already syncs another shop's data").into(),
                );
            }
        }
        let live = self.live();
        let mut settings = live.settings.clone();
        settings.enabled = true;
        let transport = config::ready(&settings, &live.credentials)?;
        // Test as the shop that enables.
        let check = match &live.sink {
            Some(sink) => {
                sink.check(&super::sink::Claims::hub(
                    who.shop_id.as_str(),
                    &live.hub_id,
                ))
                .await
            }
            None => return Err(ConfigError::new("credentials", "no cloud is configured").into()),
        };
        if !check.ok {
            return Err(ControlError::CheckFailed {
                message: format!(
                    "the connection test failed, so sync stays off. {}",
                    check.failure().unwrap_or_default()
                ),
                check,
            });
        }
        q.set_state("shop_id".into(), Some(who.shop_id.to_string()))
            .await?;
        // The first upload is queued before sync is switched on: a restart in
        // between finishes the queuing at start and leaves sync off.
        {
            let target = config::cloud_target(&settings, &live.credentials, transport);
            let _step = self.inner.step.lock().await;
            self.queue_first_upload(Some(target)).await?;
        }
        self.store_settings(who, &settings).await?;
        self.reload().await?;
        Ok(json!({ "syncEnabled": true, "check": check, "status": self.status().await? }))
    }

    /// The first upload ([`crate::store::queue::Queue::queue_first_upload`]),
    /// stamped with this engine's clock, for the cloud `target`
    /// ([`config::cloud_target`]): a cloud other than the one the first upload
    /// went to gets everything again ([`crate::store::queue::Queue::retarget`]).
    /// Run by `enable` and by every reload while sync is on, with no push
    /// under way (the caller holds the step lock): a push to the old cloud
    /// marked after the reset would pass its records over for the new one.
    pub(super) async fn queue_first_upload(
        &self,
        target: Option<String>,
    ) -> Result<(), StoreError> {
        if let Some(target) = target {
            let now = format_timestamp(self.clock().now());
            if self.queue().retarget(target, now).await? {
                tracing::warn!(
                    "{}: uploading everything again",
                    crate::store::queue::ANOTHER_CLOUD
                );
            }
        }
        self.queue()
            .queue_first_upload(format_timestamp(self.clock().now()))
            .await
    }

    /// `POST /api/sync/disable`: stops pushing; the queue keeps filling.
    pub async fn disable(&self, who: &Principal) -> Result<Value, ControlError> {
        self.same_shop(who).await?;
        let mut settings = self.live().settings.clone();
        settings.enabled = false;
        self.store_settings(who, &settings).await?;
        self.reload().await?;
        Ok(json!({ "syncEnabled": false }))
    }

    /// `GET /api/sync/cost-estimate`.
    pub fn cost(&self) -> Value {
        cost::estimate(&self.live().settings.features)
    }
}

fn view(live: &Live) -> Value {
    let mut v = live.settings.to_json();
    if let Some(m) = v.as_object_mut() {
        m.insert("credentials".into(), live.credentials.shown());
        m.insert("transport".into(), transport_name(&live.transport));
        m.insert(
            "ready".into(),
            json!(live.transport.is_ok() && live.shop_id.is_some()),
        );
        m.insert(
            "notReadyReason".into(),
            json!(live.transport.as_ref().err().map(|e| e.to_string())),
        );
        m.insert(
            "monthlyCostUsd".into(),
            json!(cost::total(&live.settings.features)),
        );
    }
    v
}
