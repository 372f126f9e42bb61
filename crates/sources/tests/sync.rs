//! The RPC and mempool clients against fake services on 127.0.0.1 that answer like the real ones,
//! from the shipped data — including every failure mode the CLI must report clearly.

use std::time::Duration;

use hashpivot_data::shipped;
use hashpivot_sources::mempool::MempoolClient;
use hashpivot_sources::rpc::{RpcAuth, RpcClient};
use hashpivot_sources::sync::{sync_mempool, sync_rpc, Anchor, RpcSyncOptions};
use hashpivot_sources::testing::{fake_core, fake_mempool, Fault, TestServer, World};
use hashpivot_sources::SourceError;

const TIP: u64 = 879_100; // epoch 436 (starts 878976, the last shipped bitcoinj header)

fn client(server: &TestServer, auth: RpcAuth, timeout_ms: u64) -> RpcClient {
    RpcClient::new(&server.url(), auth, Duration::from_millis(timeout_ms)).unwrap()
}

fn opts(from: u32, fee_days: u32) -> RpcSyncOptions {
    let e = &shipped::epochs()[from as usize - 1];
    RpcSyncOptions {
        from_epoch: from,
        anchor: Some(Anchor {
            epoch: e.epoch,
            first_block_hash: e.first_block_hash.clone(),
            bits: e.bits,
        }),
        fee_days,
    }
}

fn sync(fault: Fault) -> Result<hashpivot_sources::sync::SyncData, SourceError> {
    let s = TestServer::start(fake_core(TIP, fault)).unwrap();
    sync_rpc(
        &client(&s, RpcAuth::None, 2000),
        &opts(430, 0),
        &mut |_, _| {},
    )
}

#[test]
fn rpc_sync_returns_verified_epochs_equal_to_the_shipped_ones() {
    let s = TestServer::start(fake_core(TIP, Fault::None)).unwrap();
    let data = sync_rpc(
        &client(&s, RpcAuth::None, 5000),
        &opts(430, 2),
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(data.tip_height, TIP);
    assert_eq!(data.epochs.len(), 7); // 430..=436
    for e in &data.epochs {
        let shipped_e = &shipped::epochs()[e.epoch as usize];
        assert_eq!(e.bits, shipped_e.bits, "epoch {}", e.epoch);
        assert_eq!(e.start_time_unix, shipped_e.start_time_unix);
        assert_eq!(e.first_block_hash, shipped_e.first_block_hash);
        assert!((e.difficulty / shipped_e.difficulty - 1.0).abs() < 1e-12);
    }
    // Implied hashrate between two fetched epochs matches the shipped column.
    let e430 = &data.epochs[0];
    let want = shipped::epochs()[430].implied_hashrate_ehs.unwrap();
    assert!((e430.implied_hashrate_ehs.unwrap() / want - 1.0).abs() < 1e-6);
    // Two complete UTC days of fees summed from getblockstats: the world's blocks of each UTC
    // day (their times interpolated between the shipped heights) and its fees.
    assert_eq!(data.fees.len(), 2);
    let world = World::new(TIP);
    for f in &data.fees {
        let a = world.height_at(f.date.unix_midnight() - 1).unwrap();
        let z = world
            .height_at(f.date.add_days(1).unix_midnight() - 1)
            .unwrap();
        assert_eq!(f.blocks, Some((z - a) as u32), "{f:?}");
        let sat: u64 = (a + 1..=z).map(|h| world.fee_sat(h)).sum();
        assert_eq!(f.fees_btc, sat as f64 / 1e8, "{f:?}");
        assert!(f.fees_btc > 1.0 && f.fees_btc < 50.0, "{f:?}");
    }
}

#[test]
fn credentials_basic_and_cookie() {
    let s = TestServer::start(fake_core(
        TIP,
        Fault::RequireAuth("alice".into(), "pw".into()),
    ))
    .unwrap();
    let ok = client(
        &s,
        RpcAuth::UserPass {
            user: "alice".into(),
            password: "pw".into(),
        },
        2000,
    );
    assert_eq!(ok.getblockchaininfo().unwrap().blocks, TIP);
    let bad = client(
        &s,
        RpcAuth::UserPass {
            user: "alice".into(),
            password: "nope".into(),
        },
        2000,
    );
    let e = bad.getblockchaininfo().unwrap_err();
    assert!(
        matches!(e, SourceError::Unauthorized { status: 401, .. }),
        "{e}"
    );
    assert!(!e.to_string().contains("nope"));
    assert!(!format!("{bad:?}").contains("nope"));
    let dir = tempfile::tempdir().unwrap();
    let cookie = dir.path().join(".cookie");
    std::fs::write(&cookie, "alice:pw\n").unwrap();
    let c = client(&s, RpcAuth::Cookie(cookie.clone()), 2000);
    assert_eq!(c.getblockchaininfo().unwrap().chain, "main");
    std::fs::write(&cookie, "garbage").unwrap();
    let e = RpcClient::new(&s.url(), RpcAuth::Cookie(cookie), Duration::from_secs(1)).unwrap_err();
    assert!(e.to_string().contains("user:password"), "{e}");
    // Credentials in the URL are moved to the header and never shown.
    let url = s.url().replace("http://", "http://alice:pw@");
    let c = RpcClient::new(&url, RpcAuth::None, Duration::from_secs(2)).unwrap();
    assert!(!c.url().contains("pw"));
    assert_eq!(c.getblockchaininfo().unwrap().blocks, TIP);
}

#[test]
fn rpc_failures_are_clear() {
    let e = sync(Fault::Http500).unwrap_err();
    assert!(matches!(e, SourceError::Http { status: 500, .. }), "{e}");
    assert!(e.to_string().contains("HTTP 500"), "{e}");

    let e = sync(Fault::MalformedJson("getblockchaininfo".into())).unwrap_err();
    assert!(matches!(e, SourceError::Json { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("malformed response to getblockchaininfo"),
        "{e}"
    );

    let e = sync(Fault::RpcError("getblockheader".into())).unwrap_err();
    assert_eq!(
        e,
        SourceError::Rpc {
            method: "getblockheader".into(),
            code: -28,
            message: "Loading block index…".into()
        }
    );

    let e = sync(Fault::Slow("getblockhash".into(), 3000)).unwrap_err();
    assert!(matches!(e, SourceError::Timeout { .. }), "{e}");
    assert!(
        e.to_string().contains("timeout") && e.to_string().contains("getblockhash"),
        "{e}"
    );

    let e = sync(Fault::BadPow(433 * 2016)).unwrap_err();
    assert!(
        matches!(
            e,
            SourceError::Verify {
                height: 872_928,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("fails proof of work"), "{e}");
}

#[test]
fn node_on_another_chain_is_refused() {
    let s = TestServer::start(fake_core(TIP, Fault::None)).unwrap();
    let mut o = opts(430, 0);
    if let Some(a) = o.anchor.as_mut() {
        a.first_block_hash = Some("00".repeat(32));
    }
    let e = sync_rpc(&client(&s, RpcAuth::None, 2000), &o, &mut |_, _| {}).unwrap_err();
    assert!(e.to_string().contains("different chain"), "{e}");
}

#[test]
fn connection_refused_is_reported() {
    let url = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let c = RpcClient::new(&url, RpcAuth::None, Duration::from_secs(2)).unwrap();
    let e = c.getblockchaininfo().unwrap_err();
    assert!(matches!(e, SourceError::Connect { .. }), "{e}");
}

#[test]
fn mempool_sync_and_failures() {
    let tip = 934_000;
    let s = TestServer::start(fake_mempool(tip, Fault::None)).unwrap();
    let c = MempoolClient::new(&s.url(), Duration::from_secs(5)).unwrap();
    let data = sync_mempool(&c, "1y", shipped::epochs(), true).unwrap();
    assert_eq!(data.tip_height, tip);
    // A year of adjustments before the tip (mempool's window), oldest first, ending at the tip's.
    let world = World::new(tip);
    let year_ago = world.tip_time() - 365 * 86_400;
    let want = world
        .adjustments()
        .iter()
        .filter(|a| a.0 >= year_ago)
        .count();
    assert!((26..=27).contains(&want), "{want}");
    assert_eq!(data.epochs.len(), want);
    assert_eq!(data.epochs.last().unwrap().epoch, 463);
    // Prices: the 00:00 UTC price of d+1 is the close of d; the newest is the last day over at
    // the tip, and each equals the shipped close.
    let last = data.prices.last().unwrap();
    assert_eq!(
        last.date,
        hashpivot_data::Date::from_unix(world.tip_time()).add_days(-1)
    );
    for p in data.prices.iter().rev().take(30) {
        let shipped_p = shipped::prices().iter().find(|x| x.date == p.date).unwrap();
        assert_eq!(p.close_usd, shipped_p.close_usd, "{}", p.date);
    }
    assert!(data.hashrate_ehs.unwrap() > 500.0);

    // Disagreement with the store is refused.
    let mut stored = shipped::epochs().to_vec();
    stored[463].difficulty *= 1.01;
    let e = sync_mempool(&c, "1y", &stored, false).unwrap_err();
    assert!(e.to_string().contains("epoch 463"), "{e}");

    for (fault, want) in [
        (Fault::Http500, "HTTP 500"),
        (
            Fault::MalformedJson("difficulty-adjustments".into()),
            "malformed response",
        ),
        (Fault::Slow("hashrate".into(), 3000), "timeout"),
    ] {
        let s = TestServer::start(fake_mempool(tip, fault)).unwrap();
        let c = MempoolClient::new(&s.url(), Duration::from_millis(1000)).unwrap();
        let e = sync_mempool(&c, "1y", shipped::epochs(), true)
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{e}");
    }
}
