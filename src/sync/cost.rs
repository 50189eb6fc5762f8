//! The monthly cost estimate of the cloud features (US dollars).

use super::config::Features;
use serde_json::{json, Value};

/// Monthly price of each feature, in whole dollars, with its API name and label.
pub const PRICES: &[(&str, &str, u32)] = &[
    ("bmsIngestion", "BMS ingestion", 10),
    ("mobileSync", "Mobile sync", 15),
    ("multiLocation", "Multi-location", 20),
    ("fileBackup", "File backup", 25),
    ("realtimeUpdates", "Realtime updates", 30),
];
/// The base plan (Supabase's free tier: 500 MB database, 1 GB storage).
pub const BASE: u32 = 0;

fn on(f: &Features, name: &str) -> bool {
    match name {
        "bmsIngestion" => f.bms_ingestion,
        "mobileSync" => f.mobile_sync,
        "multiLocation" => f.multi_location,
        "fileBackup" => f.file_backup,
        "realtimeUpdates" => f.realtime_updates,
        _ => false,
    }
}

/// The monthly total for the enabled features.
pub fn total(f: &Features) -> u32 {
    BASE + PRICES
        .iter()
        .filter(|(n, _, _)| on(f, n))
        .map(|(_, _, p)| p)
        .sum::<u32>()
}

/// The estimate as the API answers it: each feature with its price and switch,
/// the base, and the total.
pub fn estimate(f: &Features) -> Value {
    let features: Vec<Value> = PRICES
        .iter()
        .map(|(name, label, price)| {
            json!({ "feature": name, "label": label, "monthlyUsd": price, "enabled": on(f, name) })
        })
        .collect();
    json!({
        "currency": "USD",
        "base": { "monthlyUsd": BASE, "includes": "500 MB database, 1 GB storage (free tier)" },
        "features": features,
        "totalMonthlyUsd": total(f),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_feature_and_the_total() {
        let none = Features::default();
        assert_eq!(total(&none), 0);
        let all = Features {
            bms_ingestion: true,
            mobile_sync: true,
            multi_location: true,
            file_backup: true,
            realtime_updates: true,
        };
        assert_eq!(total(&all), 100);
        let some = Features {
            mobile_sync: true,
            file_backup: true,
            ..Default::default()
        };
        assert_eq!(total(&some), 40);
        let e = estimate(&some);
        assert_eq!(e["totalMonthlyUsd"], 40);
        assert_eq!(e["features"][0]["monthlyUsd"], 10);
        assert_eq!(e["features"][4]["monthlyUsd"], 30);
        assert_eq!(e["features"][1]["enabled"], true);
    }
}
