//! Numeric scenario keys by name: one table, so the sensitivity analysis and the calibration set
//! the same fields the same way (and a key renamed in the scenario is renamed here once).

use crate::Scenario;

/// A numeric scenario key: its dotted name, and how to read and write it.
#[derive(Debug, Clone, Copy)]
pub struct NumericKey {
    /// Dotted TOML name, e.g. `price.vol`.
    pub key: &'static str,
    /// Reads the value.
    pub get: fn(&Scenario) -> f64,
    /// Writes the value (no validation: call `Scenario::validate` after).
    pub set: fn(&mut Scenario, f64),
}

/// Every numeric key an analysis reads or sets by name.
pub const KEYS: [NumericKey; 14] = [
    NumericKey {
        key: "price.spot",
        get: |s| s.price.spot,
        set: |s, v| s.price.spot = v,
    },
    NumericKey {
        key: "price.drift",
        get: |s| s.price.drift,
        set: |s, v| s.price.drift = v,
    },
    NumericKey {
        key: "price.vol",
        get: |s| s.price.vol,
        set: |s, v| s.price.vol = v,
    },
    NumericKey {
        key: "site.power_usd_mwh",
        get: |s| s.site.power_usd_mwh,
        set: |s, v| s.site.power_usd_mwh = v,
    },
    NumericKey {
        key: "ai.lease_usd_per_kw_month",
        get: |s| s.ai.lease_usd_per_kw_month,
        set: |s, v| s.ai.lease_usd_per_kw_month = v,
    },
    NumericKey {
        key: "ai.capex_usd_per_mw_it",
        get: |s| s.ai.capex_usd_per_mw_it,
        set: |s, v| s.ai.capex_usd_per_mw_it = v,
    },
    NumericKey {
        key: "hashrate.speed_up",
        get: |s| s.hashrate.speed_up,
        set: |s, v| s.hashrate.speed_up = v,
    },
    NumericKey {
        key: "hashrate.speed_down",
        get: |s| s.hashrate.speed_down,
        set: |s, v| s.hashrate.speed_down = v,
    },
    NumericKey {
        key: "hashrate.vol",
        get: |s| s.hashrate.vol,
        set: |s, v| s.hashrate.vol = v,
    },
    NumericKey {
        key: "hashrate.power_share",
        get: |s| s.hashrate.power_share,
        set: |s, v| s.hashrate.power_share = v,
    },
    NumericKey {
        key: "fees.btc_per_block",
        get: |s| s.fees.btc_per_block,
        set: |s, v| s.fees.btc_per_block = v,
    },
    NumericKey {
        key: "fees.speed",
        get: |s| s.fees.speed,
        set: |s, v| s.fees.speed = v,
    },
    NumericKey {
        key: "fees.vol",
        get: |s| s.fees.vol,
        set: |s, v| s.fees.vol = v,
    },
    NumericKey {
        key: "mining.discount_rate",
        get: |s| s.mining.discount_rate,
        set: |s, v| s.mining.discount_rate = v,
    },
];

/// The key named `key`, if it is in [`KEYS`].
pub fn numeric_key(key: &str) -> Option<&'static NumericKey> {
    KEYS.iter().find(|k| k.key == key)
}

/// Sets `key` to `v`; false when `key` is not a key of [`KEYS`] (nothing changed).
pub fn set_key(sc: &mut Scenario, key: &str, v: f64) -> bool {
    match numeric_key(key) {
        Some(k) => {
            (k.set)(sc, v);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_reads_what_it_wrote_and_names_a_toml_key() {
        let toml_text = Scenario::default().to_toml_string();
        let table: toml::Table = toml::from_str(&toml_text).unwrap();
        for k in &KEYS {
            let mut sc = Scenario::default();
            let v = (k.get)(&sc) + 0.125;
            assert!(set_key(&mut sc, k.key, v));
            assert_eq!((k.get)(&sc), v, "{}", k.key);
            // The dotted name is the scenario file's own key.
            let (t, f) = k.key.split_once('.').unwrap();
            assert!(table[t].get(f).is_some(), "{} is not a TOML key", k.key);
        }
        assert!(!set_key(&mut Scenario::default(), "fees.long_run", 1.0));
    }
}
