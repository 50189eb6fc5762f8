//! Bay tablets' identities and the client operation ids already applied.
//!
//! A device is registered on its first hello and keeps its Automerge actor for
//! good; its writes are signed with that actor. The writer calls the functions
//! taking a `Connection` inside its transaction (register, revoke, the device
//! of a write, the op-id record); the reads here run on the reader pool.

use super::{Store, StoreError};
use crate::domain::value::format_timestamp;
use crate::domain::ShopId;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// How long an applied operation id is remembered: longer than any offline period.
pub const OP_ID_DAYS: i64 = 30;
/// Most devices a shop may have paired (not revoked) at once: far more tablets
/// than a shop has, few enough that the owner's device list shows them all.
pub const MAX_PAIRED_DEVICES: i64 = 200;
/// Longest device id or operation id a tablet may give.
pub const MAX_ID_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    pub id: String,
    pub shop_id: String,
    /// The user who last said hello from it.
    pub user_id: String,
    /// Its Automerge actor id (hex).
    pub actor: String,
    pub first_seen: String,
    pub last_seen: String,
    pub revoked_at: Option<String>,
}

/// A tablet operation that was applied: the answer a retry gets again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedOp {
    /// Who made it (`None`: remembered before migration 0014 kept it).
    pub user_id: Option<String>,
    pub table: String,
    pub record_id: String,
    pub seq: i64,
    pub heads: Vec<String>,
}

/// A device id or an operation id: 1 to 64 of `A-Z a-z 0-9 - _ . :`.
pub fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.chars().count() <= MAX_ID_CHARS
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

const DEVICE_SELECT: &str =
    "SELECT id, shop_id, user_id, actor, first_seen, last_seen, revoked_at FROM devices";

fn device_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        id: r.get(0)?,
        shop_id: r.get(1)?,
        user_id: r.get(2)?,
        actor: r.get(3)?,
        first_seen: r.get(4)?,
        last_seen: r.get(5)?,
        revoked_at: r.get(6)?,
    })
}

fn find(conn: &Connection, id: &str) -> Result<Option<Device>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("{DEVICE_SELECT} WHERE id = ?1"))?
        .query_row([id], device_row)
        .optional()?)
}

/// Registers the device on first contact (a new actor for it) or notes that it
/// was seen again, by this user. Refuses a revoked device and one paired with
/// another shop. Also forgets operation ids older than [`OP_ID_DAYS`].
pub(crate) fn register(
    conn: &Connection,
    shop_id: &ShopId,
    user_id: &str,
    device_id: &str,
    now: time::OffsetDateTime,
) -> Result<Device, StoreError> {
    if !valid_id(device_id) {
        return Err(StoreError::Refused(crate::domain::value::FieldError::new(
            "device_id",
            format!("must be 1 to {MAX_ID_CHARS} letters, digits or - _ . :"),
        )));
    }
    let at = format_timestamp(now);
    conn.prepare_cached("DELETE FROM device_ops WHERE applied_at < ?1")?
        .execute([format_timestamp(now - time::Duration::days(OP_ID_DAYS))])?;
    match find(conn, device_id)? {
        Some(d) if *shop_id != d.shop_id => Err(StoreError::Forbidden(
            "device_id: this device is paired with another shop".into(),
        )),
        Some(d) if d.revoked_at.is_some() => {
            Err(StoreError::Forbidden("this device was revoked".into()))
        }
        Some(mut d) => {
            conn.prepare_cached("UPDATE devices SET last_seen = ?2, user_id = ?3 WHERE id = ?1")?
                .execute(params![device_id, at, user_id])?;
            d.last_seen = at;
            d.user_id = user_id.to_string();
            Ok(d)
        }
        None => {
            let paired: i64 = conn
                .prepare_cached(
                    "SELECT count(*) FROM devices WHERE shop_id = ?1 AND revoked_at IS NULL",
                )?
                .query_row([shop_id.as_str()], |r| r.get(0))?;
            if paired >= MAX_PAIRED_DEVICES {
                return Err(StoreError::Conflict(format!(
                    "this shop already has {MAX_PAIRED_DEVICES} paired devices: revoke the ones \
                     no longer used (Devices page) before pairing another"
                )));
            }
            let d = Device {
                id: device_id.to_string(),
                shop_id: shop_id.to_string(),
                user_id: user_id.to_string(),
                actor: automerge::ActorId::random().to_hex_string(),
                first_seen: at.clone(),
                last_seen: at,
                revoked_at: None,
            };
            conn.prepare_cached(
                "INSERT INTO devices (id, shop_id, user_id, actor, first_seen, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                d.id,
                d.shop_id,
                d.user_id,
                d.actor,
                d.first_seen,
                d.last_seen
            ])?;
            Ok(d)
        }
    }
}

/// Revokes a device of this shop (idempotent: a revoked one stays revoked).
pub(crate) fn revoke(
    conn: &Connection,
    shop_id: &ShopId,
    device_id: &str,
    now: &str,
) -> Result<Device, StoreError> {
    find(conn, device_id)?
        .filter(|d| *shop_id == d.shop_id)
        .ok_or(StoreError::NotFound)?;
    conn.prepare_cached("UPDATE devices SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1")?
        .execute(params![device_id, now])?;
    find(conn, device_id)?.ok_or(StoreError::NotFound)
}

/// The device a write comes from, as long as it may still write: of this shop,
/// paired with this user, not revoked.
pub(crate) fn writer_device(
    conn: &Connection,
    shop_id: &ShopId,
    user_id: Option<&str>,
    device_id: &str,
) -> Result<Device, StoreError> {
    let d = find(conn, device_id)?
        .filter(|d| *shop_id == d.shop_id)
        .ok_or_else(|| StoreError::Forbidden("this device is not paired with the hub".into()))?;
    if d.revoked_at.is_some() {
        return Err(StoreError::Forbidden("this device was revoked".into()));
    }
    if user_id != Some(d.user_id.as_str()) {
        return Err(StoreError::Forbidden(
            "this device is paired with another user: say hello again".into(),
        ));
    }
    Ok(d)
}

/// The answer an operation id already got, if it was applied.
pub(crate) fn applied_op(
    conn: &Connection,
    device_id: &str,
    op_id: &str,
) -> Result<Option<AppliedOp>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT table_name, record_id, seq, heads, user_id FROM device_ops
             WHERE device_id = ?1 AND op_id = ?2",
        )?
        .query_row(params![device_id, op_id], |r| {
            let heads: String = r.get(3)?;
            Ok(AppliedOp {
                user_id: r.get(4)?,
                table: r.get(0)?,
                record_id: r.get(1)?,
                seq: r.get(2)?,
                heads: heads
                    .split(',')
                    .filter(|h| !h.is_empty())
                    .map(str::to_string)
                    .collect(),
            })
        })
        .optional()?)
}

/// Whether a write that reuses a remembered op id is a retry of that op: the
/// same user (when the op recorded one), the same table, and the same record
/// (a create without an id names none).
pub(crate) fn is_retry_of(
    prev: &AppliedOp,
    user_id: Option<&str>,
    table: &str,
    op: &super::WriteOp,
) -> bool {
    use super::WriteOp;
    let same_record = match op {
        WriteOp::Create { id, .. } => {
            id.is_none_or(|id| id.hyphenated().to_string() == prev.record_id)
        }
        WriteOp::Update { id, .. } | WriteOp::Delete { id } => *id == prev.record_id,
        _ => false,
    };
    prev.user_id.as_deref().is_none_or(|u| Some(u) == user_id) && prev.table == table && same_record
}

/// Remembers that an operation id was applied, in the write's transaction.
pub(crate) fn record_op(
    conn: &Connection,
    device_id: &str,
    op_id: &str,
    shop_id: &ShopId,
    op: &AppliedOp,
    now: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO device_ops
             (device_id, op_id, shop_id, table_name, record_id, seq, heads, applied_at, user_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        device_id,
        op_id,
        shop_id,
        op.table,
        op.record_id,
        op.seq,
        op.heads.join(","),
        now,
        op.user_id
    ])?;
    Ok(())
}

/// The device ids of these actors (actors no device has are left out).
pub(crate) fn devices_of_actors(
    conn: &Connection,
    actors: &[&str],
) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT id FROM devices WHERE actor = ?1")?;
    let mut out = Vec::new();
    for a in actors {
        if let Some(id) = stmt.query_row([a], |r| r.get::<_, String>(0)).optional()? {
            out.push(((*a).to_string(), id));
        }
    }
    Ok(out)
}

impl Store {
    /// The shop's devices: every paired one, newest first, then the most
    /// recently revoked.
    pub async fn devices(&self, shop_id: &ShopId) -> Result<Vec<Device>, StoreError> {
        let shop_id = shop_id.as_str().to_string();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "{DEVICE_SELECT} WHERE shop_id = ?1
                 ORDER BY revoked_at IS NOT NULL, first_seen DESC, id LIMIT 1000"
            ))?;
            let rows = stmt.query_map([shop_id], device_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// One device of this shop.
    pub async fn device(&self, shop_id: &ShopId, id: &str) -> Result<Option<Device>, StoreError> {
        let (shop_id, id) = (shop_id.as_str().to_string(), id.to_string());
        self.read(move |c| Ok(find(c, &id)?.filter(|d| *shop_id == d.shop_id)))
            .await
    }
}
