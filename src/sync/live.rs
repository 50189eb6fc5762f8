//! The sync engine's live configuration: the settings and credentials as
//! stored (environment, the shop's `settings.sync`, the hub's secrets), the
//! transport made from them, and whether a push may run.

use super::config::{self, Credentials, Secret, Settings, Transport};
use super::pg::PgSink;
use super::sink::{Claims, CloudSink};
use super::worker::{sync_error, Engine, Outcome};
use std::sync::Arc;

/// The live configuration and the transport made from it.
pub(super) struct Live {
    pub shop_id: Option<String>,
    pub hub_id: String,
    pub settings: Settings,
    pub credentials: Credentials,
    pub transport: Result<Transport, config::ConfigError>,
    pub sink: Option<Arc<dyn CloudSink>>,
}

impl Engine {
    pub(super) fn live(&self) -> Arc<Live> {
        match self.inner.live.read() {
            Ok(l) => l.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The shop's stored `settings.sync` object (or null).
    pub(super) async fn shop_sync_settings(
        &self,
        shop_id: &str,
    ) -> anyhow::Result<serde_json::Value> {
        let Some(shops) = crate::domain::TableId::by_name("shops") else {
            return Ok(serde_json::Value::Null);
        };
        let rec = self
            .inner
            .store
            .get(shops, &crate::domain::ShopId::new(shop_id), shop_id)
            .await
            .map_err(sync_error)?;
        Ok(rec
            .and_then(|r| {
                r.to_json()
                    .get("settings")
                    .and_then(|s| s.get("sync"))
                    .cloned()
            })
            .unwrap_or(serde_json::Value::Null))
    }

    /// The environment's settings overridden by the shop's stored ones
    /// (`settings.sync`), and the stored object as used. A stored setting a
    /// newer hub refuses (its checks grew) is left out alone, with a warning;
    /// the others, `enabled` among them, still apply, so an upgrade never
    /// turns sync off by itself.
    pub(super) fn usable(&self, mut stored: serde_json::Value) -> (Settings, serde_json::Value) {
        let mut settings = self.inner.env.settings.clone();
        while stored.is_object() {
            match settings.overridden(&stored) {
                Ok(s) => {
                    settings = s;
                    break;
                }
                Err(e) => {
                    tracing::warn!(
                        field = %e.field,
                        "a stored sync setting is invalid and is ignored: {}",
                        e.message
                    );
                    let top = e.field.split('.').next().unwrap_or_default();
                    if stored.as_object_mut().and_then(|o| o.remove(top)).is_none() {
                        stored = serde_json::Value::Null;
                    }
                }
            }
        }
        (settings, stored)
    }

    /// Settings and credentials as stored: environment, then the shop's
    /// `settings.sync`, then the hub's secrets.
    pub(super) async fn load(&self) -> anyhow::Result<(Option<String>, Settings, Credentials)> {
        let q = &self.inner.queue;
        let state = q.state().await.map_err(sync_error)?;
        let shop_id = match state.get("shop_id") {
            Some(s) => Some(s.clone()),
            None => self
                .inner
                .store
                .shop_ids()
                .await
                .map_err(sync_error)?
                .into_iter()
                .next(),
        };
        let mut settings = self.inner.env.settings.clone();
        if let Some(shop) = &shop_id {
            let stored = self.shop_sync_settings(shop).await?;
            settings = self.usable(stored).0;
        }
        let mut creds = self.inner.env.credentials.clone();
        for (name, value) in q.secrets().await.map_err(sync_error)? {
            creds.set(&name, Some(Secret::new(value)));
        }
        Ok((shop_id, settings, creds))
    }

    /// Reads the configuration again and remakes the transport.
    pub async fn reload(&self) -> anyhow::Result<()> {
        let (shop_id, settings, credentials) = self.load().await?;
        let mut transport = config::ready(&settings, &credentials);
        let old = self.live();
        let same_cloud = old.credentials == credentials
            && old.transport == transport
            && old.settings.db_ca_file == settings.db_ca_file
            && old.settings.rest_base() == settings.rest_base();
        let sink: Option<Arc<dyn CloudSink>> = if same_cloud && old.sink.is_some() {
            old.sink.clone()
        } else {
            match (&transport, &credentials.db_url) {
                (Ok(Transport::Rest), _) => {
                    match super::rest::RestSink::new(
                        &settings.rest_base().unwrap_or_default(),
                        &credentials,
                    ) {
                        Ok(sink) => Some(Arc::new(sink)),
                        Err(e) => {
                            transport = Err(e);
                            None
                        }
                    }
                }
                (Ok(Transport::Postgres), Some(url)) => {
                    match config::db_tls(&settings, &credentials) {
                        Ok(tls) => Some(Arc::new(PgSink::with_tls(url.clone(), tls))),
                        Err(e) => {
                            transport = Err(e);
                            None
                        }
                    }
                }
                _ => None,
            }
        };
        // No push may run between a reset for a new cloud and the swap to it.
        let _step = self.inner.step.lock().await;
        let interrupted = self
            .inner
            .queue
            .state()
            .await
            .map_err(sync_error)?
            .get("initial_upload")
            .is_some_and(|s| s == "queuing");
        if settings.enabled || interrupted {
            // On from the environment, or a cloud changed while on: the first
            // upload is queued here, as `enable` does (once per cloud; a no-op
            // after). A first enable stopped half-way (a crash) finishes its
            // queuing here too, with sync left off as the enable never answered.
            let target = transport
                .as_ref()
                .ok()
                .map(|t| config::cloud_target(&settings, &credentials, *t));
            self.queue_first_upload(target).await.map_err(sync_error)?;
        }
        let live = Arc::new(Live {
            shop_id,
            hub_id: old.hub_id.clone(),
            settings,
            credentials,
            transport,
            sink,
        });
        match self.inner.live.write() {
            Ok(mut l) => *l = live,
            Err(p) => *p.into_inner() = live,
        }
        self.inner.wake.notify_one();
        Ok(())
    }

    /// Whether sync is on (an owner's enable, or the environment's).
    pub fn is_enabled(&self) -> bool {
        self.live().settings.enabled
    }

    /// The claims of this hub for its shop.
    pub(super) fn claims(live: &Live) -> Option<Claims> {
        live.shop_id
            .as_deref()
            .map(|s| Claims::hub(s, &live.hub_id))
    }

    /// The sink and claims to push with, or why there are none (sync off, no
    /// credentials, no shop).
    pub(super) fn ready(live: &Live) -> Result<(Arc<dyn CloudSink>, Claims), Outcome> {
        if !live.settings.enabled {
            return Err(Outcome {
                disabled: true,
                ..Outcome::default()
            });
        }
        match (live.sink.clone(), Self::claims(live)) {
            (Some(sink), Some(claims)) => Ok((sink, claims)),
            _ => Err(Outcome {
                not_ready: Some(match &live.transport {
                    Err(e) => e.to_string(),
                    Ok(_) => "this hub has no shop yet".to_string(),
                }),
                ..Outcome::default()
            }),
        }
    }
}
