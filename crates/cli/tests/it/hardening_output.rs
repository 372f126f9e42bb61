//! Issue 17, CLI half: no silent data loss and no panic on output errors, safe first use and
//! read-only use of the store. Items 1, 2, 6, 8 and 10 of the issue, each with its regression test.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{hashpivot, tempdir};

fn bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("hashpivot")
}

/// Runs `sh -c SCRIPT` with `$B` the binary and `$HASHPIVOT_DB` the test's database.
fn sh(dir: &Path, script: &str) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("B", bin())
        .env("HASHPIVOT_DB", dir.join("hashpivot.sqlite"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run sh")
}

fn full_export(dir: &Path) -> Vec<u8> {
    let o = hashpivot(dir)
        .args(["data", "export", "price"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    o.stdout
}

/// Item 1: under a file-size limit, stdout export used to be cut on a line boundary with exit 0.
#[test]
fn export_to_stdout_past_the_file_size_limit_fails_with_exit_1() {
    let dir = tempdir();
    let whole = full_export(dir.path());
    assert!(whole.len() > 4096, "the export is longer than the limit");
    let o = sh(
        dir.path(),
        "ulimit -f 4; exec \"$B\" data export price > out.csv",
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("File too large"), "{err}");
}

/// Item 2: a failed `--out` write leaves the previous good file untouched, and no temp file.
#[test]
fn export_out_that_fails_keeps_the_old_file() {
    let dir = tempdir();
    full_export(dir.path());
    std::fs::write(dir.path().join("good.csv"), "good\n").unwrap();
    let o = sh(
        dir.path(),
        "ulimit -f 4; exec \"$B\" data export price --out good.csv",
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("File too large"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("good.csv")).unwrap(),
        "good\n"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(names.is_empty(), "temp files left: {names:?}");
    // On success the whole export lands.
    let o = hashpivot(dir.path())
        .args(["data", "export", "price", "--out", "good.csv"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        std::fs::read(dir.path().join("good.csv")).unwrap(),
        full_export(dir.path())
    );
}

/// Item 2: `--out` naming the database (directly, through a symlink, or any SQLite file) is refused.
#[test]
fn export_out_refuses_the_database_itself() {
    let dir = tempdir();
    let db = dir.path().join("hashpivot.sqlite");
    full_export(dir.path());
    let before = std::fs::read(&db).unwrap();
    std::os::unix::fs::symlink(&db, dir.path().join("link.db")).unwrap();
    std::fs::copy(&db, dir.path().join("other.sqlite")).unwrap();
    for target in [
        db.clone(),
        dir.path().join("link.db"),
        dir.path().join("other.sqlite"),
    ] {
        let o = hashpivot(dir.path())
            .args(["--json", "data", "export", "price", "--out"])
            .arg(&target)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{target:?}: {o:?}");
        let v = crate::common::json(&o);
        assert!(
            v["error"]
                .as_str()
                .unwrap()
                .contains("refusing to overwrite"),
            "{v}"
        );
    }
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

/// Item 8: a full disk used to panic with exit 101; now exit 1 with the OS error, for every
/// kind of output (tables, JSON, export).
#[test]
fn writing_to_dev_full_is_exit_1_not_a_panic() {
    let dir = tempdir();
    full_export(dir.path());
    for cmd in [
        "\"$B\" hashprice --price 100000 --difficulty 1e14 > /dev/full",
        "\"$B\" --json hashprice --price 100000 --difficulty 1e14 > /dev/full",
        "\"$B\" data export price > /dev/full",
        "\"$B\" simulate --paths 200 > /dev/full",
    ] {
        let o = sh(dir.path(), cmd);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{cmd}: {err}");
        assert!(err.contains("No space left on device"), "{cmd}: {err}");
        assert!(!err.contains("panicked"), "{cmd}: {err}");
    }
}

/// Item 8: a closed pipe ends quietly (no panic message, no error).
#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = tempdir();
    full_export(dir.path());
    let o = sh(
        dir.path(),
        "\"$B\" data export price 2>err.txt | head -1; cat err.txt",
    );
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.trim(), "date,close_usd", "{out}");
}

/// Item 6: four concurrent first uses of a new database all succeed (one migrates, the others
/// wait for it instead of failing on "table meta already exists").
#[test]
fn concurrent_first_use_of_a_new_database() {
    for _round in 0..3 {
        let dir = tempdir();
        let db = dir.path().join("new.sqlite");
        let children: Vec<_> = (0..4)
            .map(|_| {
                Command::new(bin())
                    .arg("--db")
                    .arg(&db)
                    .args(["--json", "data", "status"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let o = c.wait_with_output().unwrap();
            assert_eq!(
                o.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&o.stderr)
            );
            let v = crate::common::json(&o);
            assert!(v.to_string().contains("price"), "{v}");
        }
    }
}

/// Item 10: read-only commands work on a database in a read-only directory (the store is opened
/// read-only, and as immutable when SQLite cannot create its `-shm` file there).
#[test]
fn read_only_commands_work_in_a_read_only_directory() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let db = ro.join("hashpivot.sqlite");
    let o = Command::new(bin())
        .arg("--db")
        .arg(&db)
        .args(["data", "status"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // Root ignores permissions: run as nobody then (setpriv is util-linux, present on Linux CI).
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let run = |args: &[&str]| {
        let mut c = if root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(bin());
            c
        } else {
            Command::new(bin())
        };
        c.arg("--db").arg(&db).args(args).output().unwrap()
    };
    for args in [
        &["data", "status"][..],
        &["data", "export", "price"][..],
        &["--json", "history", "hashprice", "--from", "2024-01-01"][..],
    ] {
        let o = run(args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!o.stdout.is_empty());
    }
    // A command that writes still says why it cannot.
    std::fs::write(
        dir.path().join("p.csv"),
        "date,close_usd\n2020-01-01,7000\n",
    )
    .unwrap();
    let o = run(&[
        "data",
        "import",
        "--kind",
        "price",
        dir.path().join("p.csv").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}
