//! The part file of one shard: compact, self-describing and checked.
//!
//! Layout (all integers little-endian):
//!
//! | bytes | what |
//! |---|---|
//! | 8 | magic `HPSHARD1` |
//! | 8 | `u64` length `h` of the header |
//! | h | header, JSON ([`PartHeader`]): plan hash, shard index, and per unit its point, block range, paths and columns (name, dtype `f64`/`f32`, length) |
//! | … | each unit's columns in the header's order, little-endian arrays |
//! | … | `optimal`'s price phase only: the in-sample, then the fresh priced columns (header's `optimal`) |
//! | 32 | SHA-256 of everything before |
//!
//! The columns are the engine's own per-path and per-block values
//! (`crate::strategy::fixed::Raw::columns`), so a value added there is written, checked and
//! merged without touching this file. A part is written to a temporary file in the same directory
//! and renamed into place, so a reader never sees half a part and a retried task overwrites.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{bad, Plan, ShardError, Unit};
use crate::run::{resolve, Part};
use crate::strategy::fixed::ColumnData;
use crate::strategy::optimal::{PricedColumn, PricedEquity, PricedObjective, PricedPaths, Sample};

const MAGIC: &[u8; 8] = b"HPSHARD1";

/// A column as the header lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartColumn {
    /// The engine's name of the values.
    pub name: String,
    /// `f64`, `f32` or `u32`.
    pub dtype: String,
    /// Number of values.
    pub len: u64,
}

/// One unit of a part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartUnit {
    /// Grid point.
    pub point: usize,
    /// Block range, end exclusive.
    pub blocks: [usize; 2],
    /// Paths of the range.
    pub paths: usize,
    /// The columns, in the order their values follow the header.
    pub columns: Vec<PartColumn>,
}

/// One sample's priced paths in a part of `optimal`'s price phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricedRange {
    /// Block range of the sample (in-sample or fresh), end exclusive.
    pub blocks: [usize; 2],
    /// Paths of the range.
    pub paths: usize,
    /// The columns ([`PricedPaths::columns`]), in the order their values follow.
    pub columns: Vec<PartColumn>,
}

/// The `optimal` section of a price-phase part: the policy and the priced paths' ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricedHeader {
    /// The hash of the policy file the paths were priced with.
    pub policy: String,
    /// The shard's in-sample paths.
    pub in_sample: PricedRange,
    /// The shard's fresh paths.
    pub fresh: PricedRange,
}

/// The header of a part file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartHeader {
    /// The plan's hash.
    pub plan: String,
    /// The shard's index in the plan.
    pub index: usize,
    /// The units, in the plan's order.
    pub units: Vec<PartUnit>,
    /// `optimal`'s price phase: the priced paths (absent from every other part).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimal: Option<PricedHeader>,
}

fn dtype_bytes(dtype: &str) -> u64 {
    if dtype == "f64" {
        8
    } else {
        4
    }
}

impl PartHeader {
    /// Bytes of the whole file this header describes.
    fn file_len(&self, header_len: u64) -> u64 {
        let priced = self
            .optimal
            .iter()
            .flat_map(|o| o.in_sample.columns.iter().chain(&o.fresh.columns));
        let data: u64 = self
            .units
            .iter()
            .flat_map(|u| &u.columns)
            .chain(priced)
            .map(|c| c.len.saturating_mul(dtype_bytes(&c.dtype)))
            .fold(0u64, u64::saturating_add);
        (16 + header_len).saturating_add(data).saturating_add(32)
    }
}

/// The priced paths of a price-phase part, and the hash of their policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Priced {
    /// The hash of the policy file they were priced with.
    pub policy: String,
    /// In-sample paths.
    pub in_sample: PricedPaths,
    /// Fresh paths.
    pub fresh: PricedPaths,
}

fn priced_columns(p: &mut PricedPaths) -> Vec<PartColumn> {
    p.columns()
        .into_iter()
        .map(|(name, _, data)| {
            let (dtype, len) = match data {
                PricedColumn::F64(v) => ("f64", v.len()),
                PricedColumn::U32(v) => ("u32", v.len()),
                PricedColumn::OptF64(v) => ("f64", v.len()),
            };
            PartColumn {
                name: name.into(),
                dtype: dtype.into(),
                len: len as u64,
            }
        })
        .collect()
}

fn priced_range(p: &mut PricedPaths) -> PricedRange {
    PricedRange {
        blocks: [p.first_block as usize, p.end_block as usize],
        paths: p.len(),
        columns: priced_columns(p),
    }
}

/// The file name of shard `index`'s part.
pub fn file_name(index: usize) -> String {
    format!("part-{index:05}.part")
}

/// The error of a failed write of `path`.
pub(super) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ShardError + '_ {
    move |source| ShardError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Hashes everything written through it.
pub(super) struct Hashing<W: Write> {
    inner: W,
    hash: Sha256,
}

impl Hashing<std::io::BufWriter<std::fs::File>> {
    /// Hashes what is written to `inner`.
    pub(super) fn new(inner: std::io::BufWriter<std::fs::File>) -> Self {
        Hashing {
            inner,
            hash: Sha256::new(),
        }
    }

    /// Appends the SHA-256 of everything written, flushes and syncs the file.
    pub(super) fn finish(self) -> std::io::Result<()> {
        let mut inner = self.inner;
        inner.write_all(&self.hash.finalize())?;
        let file = inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    }
}

impl<W: Write> Hashing<W> {
    /// Writes and hashes `b`.
    pub(super) fn put(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.hash.update(b);
        self.inner.write_all(b)
    }
}

/// Writes shard `index`'s part (its units' values, and with `optimal`'s price phase its priced
/// paths) into `dir` atomically: a temporary file in `dir`, synced, then renamed to
/// [`file_name`]. Returns the part's path.
pub fn write(
    dir: &Path,
    plan: &Plan,
    index: usize,
    units: &mut [(Unit, Part)],
    mut priced: Option<&mut Priced>,
) -> Result<PathBuf, ShardError> {
    let optimal = priced.as_deref_mut().map(|p| PricedHeader {
        policy: p.policy.clone(),
        in_sample: priced_range(&mut p.in_sample),
        fresh: priced_range(&mut p.fresh),
    });
    let header = PartHeader {
        optimal,
        plan: plan.hash.clone(),
        index,
        units: units
            .iter_mut()
            .map(|(u, p)| PartUnit {
                point: u.point,
                blocks: u.blocks,
                paths: p.paths(),
                columns: p
                    .raw
                    .columns()
                    .into_iter()
                    .map(|c| {
                        let (dtype, len) = match c.data {
                            ColumnData::F64(v) => ("f64", v.len()),
                            ColumnData::F32(v) => ("f32", v.len()),
                        };
                        PartColumn {
                            name: c.name.into(),
                            dtype: dtype.into(),
                            len: len as u64,
                        }
                    })
                    .collect(),
            })
            .collect(),
    };
    let head = serde_json::to_vec(&header).map_err(|e| bad(format!("part header: {e}")))?;
    let path = dir.join(file_name(index));
    let tmp = dir.join(format!(".{}.tmp-{}", file_name(index), std::process::id()));
    let file = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
    let mut w = Hashing::new(std::io::BufWriter::with_capacity(1 << 20, file));
    let result = (|| -> std::io::Result<()> {
        w.put(MAGIC)?;
        w.put(&(head.len() as u64).to_le_bytes())?;
        w.put(&head)?;
        let mut buf = Vec::with_capacity(1 << 16);
        for (_, p) in units.iter_mut() {
            for c in p.raw.columns() {
                match c.data {
                    ColumnData::F64(v) => put_le(&mut w, &mut buf, v, |x| x.to_le_bytes())?,
                    ColumnData::F32(v) => put_le(&mut w, &mut buf, v, |x| x.to_le_bytes())?,
                }
            }
        }
        if let Some(p) = priced {
            for pp in [&mut p.in_sample, &mut p.fresh] {
                for (_, _, c) in pp.columns() {
                    match c {
                        PricedColumn::F64(v) => put_le(&mut w, &mut buf, v, |x| x.to_le_bytes())?,
                        PricedColumn::U32(v) => put_le(&mut w, &mut buf, v, |x| x.to_le_bytes())?,
                        PricedColumn::OptF64(v) => {
                            let coded: Vec<f64> = v.iter().map(|x| x.unwrap_or(f64::NAN)).collect();
                            put_le(&mut w, &mut buf, &coded, |x| x.to_le_bytes())?
                        }
                    }
                }
            }
        }
        w.finish()
    })();
    settle(&tmp, path, result)
}

/// The end of an atomic write: on success the temporary file `tmp` is renamed to `path` (a
/// reader never sees half a file; a retried task overwrites), on failure it is removed.
pub(super) fn settle(
    tmp: &Path,
    path: PathBuf,
    result: std::io::Result<()>,
) -> Result<PathBuf, ShardError> {
    if let Err(e) = result {
        let _ = std::fs::remove_file(tmp);
        return Err(io_err(tmp)(e));
    }
    std::fs::rename(tmp, &path).map_err(io_err(&path))?;
    Ok(path)
}

/// Writes `v` little-endian through `w`, in chunks via `buf`.
pub(super) fn put_le<W: Write, T: Copy, const N: usize>(
    w: &mut Hashing<W>,
    buf: &mut Vec<u8>,
    v: &[T],
    le: impl Fn(T) -> [u8; N],
) -> std::io::Result<()> {
    for chunk in v.chunks(8192) {
        buf.clear();
        for &x in chunk {
            buf.extend_from_slice(&le(x));
        }
        w.put(buf)?;
    }
    Ok(())
}

/// Reads a part's header only (cheap: for checking a directory before merging). Errors name the
/// file: not a part, or a size that does not match its header (truncated or padded).
pub fn read_header(path: &Path) -> Result<PartHeader, ShardError> {
    read_head(path, &PART_FILE).map(|x| x.0)
}

/// A kind of shard file: a magic, a u64 header length, a JSON header, data, a SHA-256.
pub(super) struct FileKind<T> {
    /// The first 8 bytes.
    pub magic: &'static [u8; 8],
    /// What the file is, for messages ("part", "fit part").
    pub what: &'static str,
    /// The whole file's length from the header and the header's length.
    pub file_len: fn(&T, u64) -> u64,
    /// The plan hash the header names.
    pub plan: fn(&T) -> &str,
}

const PART_FILE: FileKind<PartHeader> = FileKind {
    magic: MAGIC,
    what: "part",
    file_len: PartHeader::file_len,
    plan: |h| &h.plan,
};

/// A whole shard file of `kind`, checked: its header, the header's length and the file's bytes.
/// Errors name the file: unreadable, not of this kind, truncated, corrupt (checksum), or of
/// another plan than `plan`.
pub(super) fn read_checked<T: serde::de::DeserializeOwned>(
    path: &Path,
    kind: &FileKind<T>,
    plan: &Plan,
) -> Result<(T, u64, Vec<u8>), ShardError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| bad(format!("{name}: cannot read: {e}")))?;
    let (header, h) = decode_head(&name, bytes.len() as u64, &bytes[..], kind)?;
    let body = bytes.len().saturating_sub(32);
    if Sha256::digest(&bytes[..body]).as_slice() != &bytes[body..] {
        return Err(bad(format!(
            "{name}: corrupt (its SHA-256 checksum does not match its contents)"
        )));
    }
    let hash = (kind.plan)(&header);
    if hash != plan.hash {
        return Err(bad(format!(
            "{name}: belongs to another plan (hash {hash}, this plan's is {})",
            plan.hash
        )));
    }
    Ok((header, h, bytes))
}

/// Reads the header of the file at `path` of `kind` (and its length).
pub(super) fn read_head<T: serde::de::DeserializeOwned>(
    path: &Path,
    kind: &FileKind<T>,
) -> Result<(T, u64), ShardError> {
    let name = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| bad(format!("{name}: cannot read: {e}")))?;
    let size = f
        .metadata()
        .map_err(|e| bad(format!("{name}: cannot read: {e}")))?
        .len();
    decode_head(&name, size, f, kind)
}

/// The header of a file of `kind` of `size` bytes read from `r`, and the header's length.
/// Errors name the file: not of this kind, truncated, or trailing bytes.
pub(super) fn decode_head<T: serde::de::DeserializeOwned>(
    name: &str,
    size: u64,
    mut r: impl Read,
    kind: &FileKind<T>,
) -> Result<(T, u64), ShardError> {
    let what = kind.what;
    let mut fixed = [0u8; 16];
    r.read_exact(&mut fixed).map_err(|_| {
        bad(format!(
            "{name}: truncated ({size} bytes): not a whole {what}"
        ))
    })?;
    if &fixed[..8] != kind.magic {
        return Err(bad(format!(
            "{name}: not a hashpivot {what} (it does not start with {:?})",
            std::str::from_utf8(kind.magic).unwrap_or_default()
        )));
    }
    let h = u64::from_le_bytes(fixed[8..].try_into().unwrap_or_default());
    if h > size.saturating_sub(48) {
        return Err(bad(format!(
            "{name}: truncated ({size} bytes; its header alone is {h} bytes)"
        )));
    }
    let mut head = vec![0u8; h as usize];
    r.read_exact(&mut head)
        .map_err(|_| bad(format!("{name}: truncated ({size} bytes)")))?;
    let header: T =
        serde_json::from_slice(&head).map_err(|e| bad(format!("{name}: corrupt header: {e}")))?;
    let want = (kind.file_len)(&header, h);
    if size != want {
        return Err(bad(format!(
            "{name}: {size} bytes where its header says {want}: {}",
            if size < want {
                "truncated"
            } else {
                "trailing bytes"
            }
        )));
    }
    Ok((header, h))
}

/// A part's contents.
#[derive(Debug, Clone, PartialEq)]
pub struct PartData {
    /// Its header.
    pub header: PartHeader,
    /// Each unit's values.
    pub units: Vec<(Unit, Part)>,
    /// `optimal`'s price phase: the priced paths.
    pub priced: Option<Priced>,
}

/// Reads and checks a whole part of `plan`: the checksum, the plan hash, and each unit's
/// columns against the engine's (names, types and lengths), returning each unit's values (and
/// for `optimal`'s price phase the priced paths, checked against the shard's block ranges).
pub fn read(path: &Path, plan: &Plan) -> Result<PartData, ShardError> {
    let name = path.display().to_string();
    let (header, h, bytes) = read_checked(path, &PART_FILE, plan)?;
    let want = plan.shards.get(header.index).ok_or_else(|| {
        bad(format!(
            "{name}: shard index {} is not in this plan (0 to {})",
            header.index,
            plan.shards.len() - 1
        ))
    })?;
    let got: Vec<Unit> = header
        .units
        .iter()
        .map(|u| Unit {
            point: u.point,
            blocks: u.blocks,
        })
        .collect();
    if &got != want {
        return Err(bad(format!(
            "{name}: its units {got:?} are not shard {}'s {want:?}",
            header.index
        )));
    }
    let cfg = plan.config();
    let mut at = 16 + h as usize;
    let mut out = Vec::with_capacity(got.len());
    for (u, hu) in got.iter().zip(&header.units) {
        let sc = &plan.points[u.point].scenario;
        let r = resolve(sc, &cfg)?;
        let mut part = Part::empty(sc, &r, u.blocks[0]);
        let first = u.blocks[0] * crate::process::BLOCK;
        let paths = (u.blocks[1] * crate::process::BLOCK).min(r.paths as usize)
            - first.min(r.paths as usize);
        part.raw.paths = paths;
        let nblocks = u.blocks[1] - u.blocks[0];
        let cols = part.raw.columns();
        if cols.len() != hu.columns.len() {
            return Err(bad(format!(
                "{name}: {} columns where this engine has {}",
                hu.columns.len(),
                cols.len()
            )));
        }
        for (c, hc) in cols.into_iter().zip(&hu.columns) {
            let n = c.width * if c.per_block { nblocks } else { paths };
            let dtype = match c.data {
                ColumnData::F64(_) => "f64",
                ColumnData::F32(_) => "f32",
            };
            if hc.name != c.name || hc.dtype != dtype || hc.len != n as u64 {
                return Err(bad(format!(
                    "{name}: column {} ({}, {} values) where {} ({dtype}, {n} values) is expected",
                    hc.name, hc.dtype, hc.len, c.name
                )));
            }
            match c.data {
                ColumnData::F64(v) => {
                    *v = take(&bytes, &mut at, n, f64::from_le_bytes);
                }
                ColumnData::F32(v) => {
                    *v = take(&bytes, &mut at, n, f32::from_le_bytes);
                }
            }
        }
        out.push((*u, part));
    }
    let priced = read_priced(&name, &bytes, &mut at, plan, &header)?;
    Ok(PartData {
        header,
        units: out,
        priced,
    })
}

/// The priced paths of a price-phase part (`at`: where they start), checked against the plan:
/// present exactly for an optimal plan, the shard's block ranges, the columns' names, types and
/// lengths.
fn read_priced(
    name: &str,
    bytes: &[u8],
    at: &mut usize,
    plan: &Plan,
    header: &PartHeader,
) -> Result<Option<Priced>, ShardError> {
    let o = match (&header.optimal, plan.is_optimal()) {
        (None, false) => return Ok(None),
        (Some(o), true) => o,
        (None, true) => {
            return Err(bad(format!(
                "{name}: holds no priced paths: allowed the parts of `hashpivot shard run --phase                  price` for this optimal plan"
            )))
        }
        (Some(_), false) => {
            return Err(bad(format!(
                "{name}: holds priced paths of optimal, but the plan's strategy is {}",
                plan.run.strategy
            )))
        }
    };
    let ins_blocks = plan.shards[header.index]
        .first()
        .map(|u| u.blocks)
        .unwrap_or_default();
    let fresh_blocks = plan.fresh.get(header.index).copied().unwrap_or_default();
    let cfg = plan.optimal_config();
    let tranches = plan.points[0].scenario.strategy.tranches.max(1) as usize;
    let levered = plan.points[0].scenario.finance.is_some();
    let mut sample = |r: &PricedRange, s: Sample, want: [usize; 2], total: u64| {
        if r.blocks != want {
            return Err(bad(format!(
                "{name}: {s:?} blocks {}..{} where shard {} has {}..{}",
                r.blocks[0], r.blocks[1], header.index, want[0], want[1]
            )));
        }
        let bl = crate::process::BLOCK;
        let paths = (want[1] * bl).min(total as usize) - (want[0] * bl).min(total as usize);
        let mut p = PricedPaths::empty(s, tranches, want[0] as u64);
        p.end_block = want[1] as u64;
        if s == Sample::InSample && levered {
            p.equity = Some(PricedEquity::default());
        }
        if levered {
            p.levered = Some(PricedObjective::default());
        }
        let cols = p.columns();
        if cols.len() != r.columns.len() {
            return Err(bad(format!(
                "{name}: {} priced columns where this engine has {}",
                r.columns.len(),
                cols.len()
            )));
        }
        for ((cname, width, c), hc) in cols.into_iter().zip(&r.columns) {
            let dtype = match &c {
                PricedColumn::F64(_) | PricedColumn::OptF64(_) => "f64",
                PricedColumn::U32(_) => "u32",
            };
            let n = paths * width;
            if hc.name != cname || hc.dtype != dtype || hc.len != n as u64 {
                return Err(bad(format!(
                    "{name}: priced column {} ({}, {} values) where {cname} ({dtype}, {n} values)                      is expected",
                    hc.name, hc.dtype, hc.len
                )));
            }
            match c {
                PricedColumn::F64(v) => *v = take(bytes, at, n, f64::from_le_bytes),
                PricedColumn::U32(v) => *v = take(bytes, at, n, u32::from_le_bytes),
                PricedColumn::OptF64(v) => {
                    let coded = take(bytes, at, n, f64::from_le_bytes);
                    *v = coded
                        .into_iter()
                        .map(|x| (!x.is_nan()).then_some(x))
                        .collect();
                }
            }
        }
        Ok(p)
    };
    let in_sample = sample(&o.in_sample, Sample::InSample, ins_blocks, cfg.paths)?;
    let fresh = sample(&o.fresh, Sample::Fresh, fresh_blocks, cfg.fresh_paths)?;
    Ok(Some(Priced {
        policy: o.policy.clone(),
        in_sample,
        fresh,
    }))
}

fn take<T, const N: usize>(
    bytes: &[u8],
    at: &mut usize,
    n: usize,
    from: impl Fn([u8; N]) -> T,
) -> Vec<T> {
    let end = *at + n * N;
    let v = bytes[*at..end]
        .chunks_exact(N)
        .map(|c| from(c.try_into().unwrap_or([0; N])))
        .collect();
    *at = end;
    v
}
