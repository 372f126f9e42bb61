//! A small unsigned 256-bit integer, just enough for consensus arithmetic.
//!
//! Mirrors Bitcoin Core's `arith_uint256` (`src/arith_uint256.{h,cpp}`): arithmetic wraps modulo
//! 2^256 exactly as Core's `base_uint` does (Core never overflows on mainnet values; see
//! [`crate::retarget`] for why), division truncates, and `~x` is the bitwise complement that
//! `GetBlockProof` uses to express `2^256 - x - 1`. Four little-endian `u64` limbs; no
//! allocation, no dependency.

use std::cmp::Ordering;
use std::fmt;

/// An unsigned 256-bit integer (little-endian `u64` limbs: `limbs[0]` is the least significant).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct U256(pub [u64; 4]);

impl U256 {
    /// Zero.
    pub const ZERO: U256 = U256([0; 4]);
    /// One.
    pub const ONE: U256 = U256([1, 0, 0, 0]);
    /// 2^256 - 1.
    pub const MAX: U256 = U256([u64::MAX; 4]);

    /// The value of a `u64`.
    pub const fn from_u64(v: u64) -> U256 {
        U256([v, 0, 0, 0])
    }

    /// True when zero.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 4]
    }

    /// The low 64 bits (Core `GetLow64`).
    pub fn low_u64(&self) -> u64 {
        self.0[0]
    }

    /// Number of significant bits: 0 for zero, 256 for values with the top bit set (Core `bits()`).
    pub fn bits(&self) -> u32 {
        for i in (0..4).rev() {
            if self.0[i] != 0 {
                return 64 * i as u32 + (64 - self.0[i].leading_zeros());
            }
        }
        0
    }

    /// Bitwise complement (Core `operator~`): `!x == 2^256 - 1 - x`.
    pub fn complement(self) -> U256 {
        U256([!self.0[0], !self.0[1], !self.0[2], !self.0[3]])
    }

    /// Wrapping addition modulo 2^256.
    pub fn wrapping_add(self, rhs: U256) -> U256 {
        let mut out = [0u64; 4];
        let mut carry = false;
        for (i, o) in out.iter_mut().enumerate() {
            let (s1, c1) = self.0[i].overflowing_add(rhs.0[i]);
            let (s2, c2) = s1.overflowing_add(carry as u64);
            *o = s2;
            carry = c1 || c2;
        }
        U256(out)
    }

    /// Addition that reports overflow past 2^256 - 1 as `None`.
    pub fn checked_add(self, rhs: U256) -> Option<U256> {
        let s = self.wrapping_add(rhs);
        if s < self {
            None
        } else {
            Some(s)
        }
    }

    /// Wrapping subtraction modulo 2^256.
    pub fn wrapping_sub(self, rhs: U256) -> U256 {
        let mut out = [0u64; 4];
        let mut borrow = false;
        for (i, o) in out.iter_mut().enumerate() {
            let (d1, b1) = self.0[i].overflowing_sub(rhs.0[i]);
            let (d2, b2) = d1.overflowing_sub(borrow as u64);
            *o = d2;
            borrow = b1 || b2;
        }
        U256(out)
    }

    /// Multiplication by a `u64`, wrapping modulo 2^256 like Core's `operator*=(uint32_t)`;
    /// the second value is true when the product did not fit.
    pub fn overflowing_mul_u64(self, rhs: u64) -> (U256, bool) {
        let mut out = [0u64; 4];
        let mut carry: u128 = 0;
        for (i, o) in out.iter_mut().enumerate() {
            let p = self.0[i] as u128 * rhs as u128 + carry;
            *o = p as u64;
            carry = p >> 64;
        }
        (U256(out), carry != 0)
    }

    /// Division by a non-zero `u64`, truncating; `None` for a zero divisor.
    pub fn div_rem_u64(self, rhs: u64) -> Option<(U256, u64)> {
        if rhs == 0 {
            return None;
        }
        let mut out = [0u64; 4];
        let mut rem: u128 = 0;
        for i in (0..4).rev() {
            let cur = (rem << 64) | self.0[i] as u128;
            out[i] = (cur / rhs as u128) as u64;
            rem = cur % rhs as u128;
        }
        Some((U256(out), rem as u64))
    }

    /// Full 256-by-256-bit division, truncating (Core `operator/=`, schoolbook shift-subtract);
    /// `None` for a zero divisor (Core throws `uint_error("Division by zero")`).
    pub fn checked_div(self, rhs: U256) -> Option<U256> {
        if rhs.is_zero() {
            return None;
        }
        if self < rhs {
            return Some(U256::ZERO);
        }
        let mut num = self;
        let mut div = rhs;
        let shift = num.bits() - div.bits();
        div = div.shl_bits(shift);
        let mut q = U256::ZERO;
        let mut s = shift as i64;
        while s >= 0 {
            if num >= div {
                num = num.wrapping_sub(div);
                q.0[(s / 64) as usize] |= 1u64 << (s % 64);
            }
            div = div.shr_bits(1);
            s -= 1;
        }
        Some(q)
    }

    /// Left shift; bits shifted past bit 255 are lost and a shift of 256 or more gives zero,
    /// as in Core's `operator<<=`.
    pub fn shl_bits(self, n: u32) -> U256 {
        if n >= 256 {
            return U256::ZERO;
        }
        let limbs = (n / 64) as usize;
        let bits = n % 64;
        let mut out = [0u64; 4];
        for i in (limbs..4).rev() {
            let src = i - limbs;
            out[i] = self.0[src] << bits;
            if bits > 0 && src > 0 {
                out[i] |= self.0[src - 1] >> (64 - bits);
            }
        }
        U256(out)
    }

    /// Logical right shift; a shift of 256 or more gives zero.
    pub fn shr_bits(self, n: u32) -> U256 {
        if n >= 256 {
            return U256::ZERO;
        }
        let limbs = (n / 64) as usize;
        let bits = n % 64;
        let mut out = [0u64; 4];
        for (i, o) in out.iter_mut().enumerate().take(4 - limbs) {
            let src = i + limbs;
            *o = self.0[src] >> bits;
            if bits > 0 && src + 1 < 4 {
                *o |= self.0[src + 1] << (64 - bits);
            }
        }
        U256(out)
    }

    /// The value as the nearest-below `f64` sum of limbs (Core `getdouble`: exact for values
    /// below 2^53, otherwise rounded to 53 significant bits).
    pub fn to_f64(&self) -> f64 {
        let mut r = 0.0f64;
        let mut fact = 1.0f64;
        for limb in self.0 {
            // Two 32-bit halves, as Core does with its 32-bit words, so rounding matches.
            r += fact * (limb & 0xffff_ffff) as f64;
            fact *= 4294967296.0;
            r += fact * (limb >> 32) as f64;
            fact *= 4294967296.0;
        }
        r
    }

    /// From 32 bytes in little-endian order (the order a block hash is hashed in).
    pub fn from_le_bytes(b: [u8; 32]) -> U256 {
        let mut out = [0u64; 4];
        for (i, o) in out.iter_mut().enumerate() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[8 * i..8 * i + 8]);
            *o = u64::from_le_bytes(w);
        }
        U256(out)
    }

    /// To 32 little-endian bytes.
    pub fn to_le_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for i in 0..4 {
            out[8 * i..8 * i + 8].copy_from_slice(&self.0[i].to_le_bytes());
        }
        out
    }

    /// 64 lower-case hex digits, most significant first (Core `GetHex`).
    pub fn to_hex(&self) -> String {
        format!(
            "{:016x}{:016x}{:016x}{:016x}",
            self.0[3], self.0[2], self.0[1], self.0[0]
        )
    }

    /// The value in decimal digits.
    pub fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".to_string();
        }
        // Peel off 19 decimal digits at a time (10^19 fits in a u64).
        const CHUNK: u64 = 10_000_000_000_000_000_000;
        let mut parts = Vec::new();
        let mut x = *self;
        while !x.is_zero() {
            let (q, r) = x.div_rem_u64(CHUNK).unwrap_or((U256::ZERO, 0));
            parts.push(r);
            x = q;
        }
        let mut s = parts.pop().map(|p| p.to_string()).unwrap_or_default();
        for p in parts.iter().rev() {
            s.push_str(&format!("{p:019}"));
        }
        s
    }

    /// Parses up to 64 hex digits (optional `0x`), most significant first; `None` if not hex or
    /// too long.
    pub fn from_hex(s: &str) -> Option<U256> {
        let s = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .unwrap_or(s);
        if s.is_empty() || s.len() > 64 || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let padded = format!("{s:0>64}");
        let mut out = [0u64; 4];
        for (i, o) in out.iter_mut().enumerate() {
            let start = 64 - 16 * (i + 1);
            *o = u64::from_str_radix(&padded[start..start + 16], 16).ok()?;
        }
        Some(U256(out))
    }
}

impl Ord for U256 {
    fn cmp(&self, other: &Self) -> Ordering {
        for i in (0..4).rev() {
            match self.0[i].cmp(&other.0[i]) {
                Ordering::Equal => continue,
                o => return o,
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for U256 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for U256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "U256(0x{})", self.to_hex())
    }
}

impl fmt::Display for U256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl From<u64> for U256 {
    fn from(v: u64) -> Self {
        U256::from_u64(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn u128v(x: U256) -> u128 {
        assert!(x.0[2] == 0 && x.0[3] == 0);
        x.0[0] as u128 | (x.0[1] as u128) << 64
    }
    fn from_u128(v: u128) -> U256 {
        U256([v as u64, (v >> 64) as u64, 0, 0])
    }

    #[test]
    fn hex_round_trip_and_shifts() {
        let x = U256::from_hex("00000000ffff0000000000000000000000000000000000000000000000000000")
            .unwrap();
        assert_eq!(x, U256::from_u64(0xffff).shl_bits(208));
        assert_eq!(x.bits(), 224);
        assert_eq!(x.shr_bits(208), U256::from_u64(0xffff));
        assert_eq!(U256::ONE.shl_bits(255).bits(), 256);
        assert_eq!(U256::ONE.shl_bits(256), U256::ZERO);
        assert_eq!(U256::MAX.shr_bits(255), U256::ONE);
        assert_eq!(U256::from_hex("0x1").unwrap(), U256::ONE);
        assert!(U256::from_hex("xyz").is_none());
        assert!(U256::from_hex(&"f".repeat(65)).is_none());
        assert_eq!(U256::ZERO.to_decimal(), "0");
        assert_eq!(U256::from_u64(0x1_0001_0001).to_decimal(), "4295032833");
        assert_eq!(
            U256::MAX.to_decimal(),
            "115792089237316195423570985008687907853269984665640564039457584007913129639935"
        );
        assert_eq!(U256::ONE.shl_bits(64).to_decimal(), "18446744073709551616");
    }

    #[test]
    fn division_matches_known_values() {
        // 2^256 / (T+1) for the genesis target is 0x100010001 (Core GetBlockProof; also the
        // chain work of every early block: 0x0100010001 per block).
        let t = U256::from_u64(0xffff).shl_bits(208);
        let w = t
            .complement()
            .checked_div(t.wrapping_add(U256::ONE))
            .unwrap()
            .wrapping_add(U256::ONE);
        assert_eq!(w, U256::from_u64(0x1_0001_0001));
        assert_eq!(U256::MAX.checked_div(U256::MAX), Some(U256::ONE));
        assert_eq!(U256::ONE.checked_div(U256::ZERO), None);
        assert_eq!(
            U256::from_u64(7).div_rem_u64(2),
            Some((U256::from_u64(3), 1))
        );
        assert_eq!(U256::ONE.div_rem_u64(0), None);
    }

    #[test]
    fn to_f64_is_exact_for_powers_of_two() {
        assert_eq!(U256::ONE.shl_bits(200).to_f64(), 2f64.powi(200));
        assert_eq!(U256::from_u64(123456789).to_f64(), 123456789.0);
    }

    proptest! {
        #[test]
        fn arithmetic_agrees_with_u128(a in any::<u64>(), b in any::<u64>(), c in 1u64.., s in 0u32..64) {
            let (a128, b128) = (a as u128, b as u128);
            prop_assert_eq!(u128v(U256::from_u64(a).wrapping_add(U256::from_u64(b))), a128 + b128);
            prop_assert_eq!(u128v(U256::from_u64(a).overflowing_mul_u64(b).0), a128 * b128);
            let prod = from_u128(a128 * b128);
            prop_assert_eq!(u128v(prod.div_rem_u64(c).unwrap().0), a128 * b128 / c as u128);
            prop_assert_eq!(u128v(prod.checked_div(U256::from_u64(c)).unwrap()), a128 * b128 / c as u128);
            prop_assert_eq!(u128v(U256::from_u64(a).shl_bits(s)), a128 << s);
            prop_assert_eq!(u128v(prod.shr_bits(s)), (a128 * b128) >> s);
        }

        #[test]
        fn division_identity(l in any::<[u64; 4]>(), r in any::<[u64; 4]>(), shift in 0u32..256) {
            let n = U256(l);
            let d = U256(r).shr_bits(shift);
            prop_assume!(!d.is_zero());
            let q = n.checked_div(d).unwrap();
            // q*d <= n < (q+1)*d, checked via n - q*d < d using u64-by-limb products.
            let mut qd = U256::ZERO;
            for i in 0..4 {
                let (p, _) = d.overflowing_mul_u64(q.0[i]);
                qd = qd.wrapping_add(p.shl_bits(64 * i as u32));
            }
            prop_assert!(qd <= n);
            prop_assert!(n.wrapping_sub(qd) < d);
        }

        #[test]
        fn bytes_and_hex_round_trip(l in any::<[u64; 4]>()) {
            let x = U256(l);
            prop_assert_eq!(U256::from_le_bytes(x.to_le_bytes()), x);
            prop_assert_eq!(U256::from_hex(&x.to_hex()), Some(x));
        }
    }
}
