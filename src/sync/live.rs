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
            if stored.is_object() {
                match settings.overridden(&stored) {
                    Ok(s) => settings = s,
                    Err(e) => tracing::warn!(
                        field = %e.field,
                        "the shop's stored sync settings are invalid; using the environment's: {}",
                        e.message
                    ),
                }
            }
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
        if settings.enabled {
            // On from the environment: the first upload is queued here, as
            // `enable` does (once; a no-op after).
            self.queue_first_upload().await.map_err(sync_error)?;
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
