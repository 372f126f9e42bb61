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

const MAGIC: &[u8; 8] = b"HPSHARD1";

/// A column as the header lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartColumn {
    /// The engine's name of the values.
    pub name: String,
    /// `f64` or `f32`.
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
}

impl PartHeader {
    /// Bytes of the whole file this header describes.
    fn file_len(&self, header_len: u64) -> u64 {
        let data: u64 = self
            .units
            .iter()
            .flat_map(|u| &u.columns)
            .map(|c| c.len.saturating_mul(if c.dtype == "f32" { 4 } else { 8 }))
            .fold(0u64, u64::saturating_add);
        (16 + header_len).saturating_add(data).saturating_add(32)
    }
}

/// The file name of shard `index`'s part.
pub fn file_name(index: usize) -> String {
    format!("part-{index:05}.part")
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ShardError + '_ {
    move |source| ShardError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Hashes everything written through it.
struct Hashing<W: Write> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Hashing<W> {
    fn put(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.hash.update(b);
        self.inner.write_all(b)
    }
}

/// Writes shard `index`'s part (its units' values) into `dir` atomically: a temporary file in
/// `dir`, synced, then renamed to [`file_name`]. Returns the part's path.
pub fn write(
    dir: &Path,
    plan: &Plan,
    index: usize,
    units: &mut [(Unit, Part)],
) -> Result<PathBuf, ShardError> {
    let header = PartHeader {
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
    let file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    let mut w = Hashing {
        inner: std::io::BufWriter::with_capacity(1 << 20, file),
        hash: Sha256::new(),
    };
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
        let sum = w.hash.clone().finalize();
        w.inner.write_all(&sum)?;
        let file = w.inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(&tmp)(e));
    }
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(path)
}

fn put_le<W: Write, T: Copy, const N: usize>(
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
    let name = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| bad(format!("{name}: cannot read: {e}")))?;
    let size = f
        .metadata()
        .map_err(|e| bad(format!("{name}: cannot read: {e}")))?
        .len();
    decode_header(&name, size, f).map(|x| x.0)
}

/// The header of a part of `size` bytes read from `r`, and the header's length.
fn decode_header(name: &str, size: u64, mut r: impl Read) -> Result<(PartHeader, u64), ShardError> {
    let mut fixed = [0u8; 16];
    r.read_exact(&mut fixed).map_err(|_| {
        bad(format!(
            "{name}: truncated ({size} bytes): not a whole part"
        ))
    })?;
    if &fixed[..8] != MAGIC {
        return Err(bad(format!(
            "{name}: not a hashpivot part (it does not start with {:?})",
            std::str::from_utf8(MAGIC).unwrap_or_default()
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
    let header: PartHeader =
        serde_json::from_slice(&head).map_err(|e| bad(format!("{name}: corrupt header: {e}")))?;
    let want = header.file_len(h);
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

/// Reads and checks a whole part of `plan`: the checksum, the plan hash, and each unit's
/// columns against the engine's (names, types and lengths), returning each unit's values.
pub fn read(path: &Path, plan: &Plan) -> Result<(PartHeader, Vec<(Unit, Part)>), ShardError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| bad(format!("{name}: cannot read: {e}")))?;
    let (header, h) = decode_header(&name, bytes.len() as u64, &bytes[..])?;
    let body = bytes.len().saturating_sub(32);
    if Sha256::digest(&bytes[..body]).as_slice() != &bytes[body..] {
        return Err(bad(format!(
            "{name}: corrupt (its SHA-256 checksum does not match its contents)"
        )));
    }
    if header.plan != plan.hash {
        return Err(bad(format!(
            "{name}: belongs to another plan (hash {}, this plan's is {})",
            header.plan, plan.hash
        )));
    }
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
    Ok((header, out))
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
