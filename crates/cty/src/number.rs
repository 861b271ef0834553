//! Exact decimal numbers.
//!
//! cty numbers are arbitrary-precision, and Terraform compares the numbers a
//! provider returns with the ones it was sent. Going through `f64` would turn
//! `0.1` or `1e29` into something else, so numbers are kept as decimal digits
//! and converted to binary floats only on request.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::Error;

/// Largest magnitude of the decimal exponent (of the most significant digit)
/// accepted. Numbers render as plain decimals, so without a bound an input as
/// small as `1e999999999` would expand into a gigabyte of zeros.
pub const MAX_DECIMAL_EXPONENT: i64 = 10_000;

/// Arbitrary-precision decimal; 1.5 and 1e29 and -0.000001 round-trip exactly.
///
/// Stored normalised (no leading or trailing zeros in the digits, zero is
/// never negative), so structural equality is numeric equality.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Number {
    negative: bool,
    /// ASCII digits without leading or trailing zeros; empty means zero.
    digits: String,
    /// The value is `digits × 10^exponent`.
    exponent: i64,
}

impl Number {
    /// Zero.
    pub fn zero() -> Number {
        Number { negative: false, digits: String::new(), exponent: 0 }
    }

    /// The number equal to `i`.
    pub fn from_i64(i: i64) -> Number {
        Number::from_integer(i < 0, i.unsigned_abs())
    }

    /// The number with the shortest decimal representation that reads back as
    /// `f` (the way Go's `big.Float.Text('f', -1)` renders a float64-precision
    /// value); `None` for NaN and infinities, which cty numbers cannot hold here.
    pub fn from_f64(f: f64) -> Option<Number> {
        if !f.is_finite() {
            return None;
        }
        // Rust's float Display is the shortest round-tripping form and never
        // uses an exponent, so it is always in the grammar `parse` accepts.
        parse(&f.to_string()).ok()
    }

    fn from_integer(negative: bool, magnitude: u64) -> Number {
        Number::normalised(negative, magnitude.to_string(), 0)
    }

    /// Builds a number from raw parts, establishing the normal form.
    fn normalised(negative: bool, digits: String, exponent: i64) -> Number {
        let trimmed = digits.trim_start_matches('0');
        let without_trailing = trimmed.trim_end_matches('0');
        let trailing = (trimmed.len() - without_trailing.len()) as i64;
        if without_trailing.is_empty() {
            return Number::zero();
        }
        Number { negative, digits: without_trailing.to_owned(), exponent: exponent.saturating_add(trailing) }
    }

    /// Whether this is zero.
    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Whether this is below zero.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// Whether this has no fractional part.
    pub fn is_integer(&self) -> bool {
        self.exponent >= 0 || self.is_zero()
    }

    /// The exact value as an `i64`, or `None` if it has a fractional part or
    /// is out of range.
    pub fn to_i64(&self) -> Option<i64> {
        let magnitude = self.integer_magnitude()?;
        if self.negative {
            0i128.checked_sub(i128::from(magnitude)).and_then(|v| i64::try_from(v).ok())
        } else {
            i64::try_from(magnitude).ok()
        }
    }

    /// The exact value as a `u64`, or `None` if it is negative, has a
    /// fractional part or is out of range.
    pub fn to_u64(&self) -> Option<u64> {
        if self.negative {
            return None;
        }
        self.integer_magnitude()
    }

    fn integer_magnitude(&self) -> Option<u64> {
        if self.is_zero() {
            return Some(0);
        }
        if self.exponent < 0 || self.digits.len() as i64 + self.exponent > 20 {
            return None;
        }
        let mut v: u64 = 0;
        for d in self.digits.bytes() {
            v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        }
        for _ in 0..self.exponent {
            v = v.checked_mul(10)?;
        }
        Some(v)
    }

    /// The nearest `f64`, or `None` if the magnitude is too large for one.
    pub fn to_f64(&self) -> Option<f64> {
        if self.is_zero() {
            return Some(0.0);
        }
        let sign = if self.negative { "-" } else { "" };
        // The standard library's parser rounds correctly for any digit count.
        let f: f64 = format!("{sign}{}e{}", self.digits, self.exponent).parse().ok()?;
        f.is_finite().then_some(f)
    }

    /// The `f64` that is exactly this number, if there is one. The msgpack
    /// codec uses this to decide whether a fraction may travel as a float
    /// without changing its value, as go-cty does.
    pub fn to_f64_exact(&self) -> Option<f64> {
        // A binary fraction with k fractional bits has exactly k fractional
        // decimal digits, the last of which is 5: cheap rejection of 0.1 etc.
        if self.exponent < 0 && !self.digits.ends_with('5') {
            return None;
        }
        let f = self.to_f64()?;
        (exact_decimal_of_f64(f) == *self).then_some(f)
    }

    /// -1, 0 or 1.
    fn signum(&self) -> i8 {
        if self.is_zero() {
            0
        } else if self.negative {
            -1
        } else {
            1
        }
    }

    fn cmp_magnitude(&self, other: &Number) -> Ordering {
        let own = self.digits.len() as i64 + self.exponent;
        let theirs = other.digits.len() as i64 + other.exponent;
        // With equal leading-digit positions, the digit strings compare
        // lexicographically: neither has trailing zeros, so a longer string
        // that extends a shorter one is the bigger number.
        own.cmp(&theirs).then_with(|| self.digits.as_bytes().cmp(other.digits.as_bytes()))
    }
}

/// Parses the decimal grammar of cty (Go's `big.ParseFloat` in base 10):
/// optional sign, digits with an optional point, optional exponent.
fn parse(s: &str) -> Result<Number, Error> {
    let invalid = || Error::at_root(format!("{s:?} is not a valid number"));
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exp_text) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (int_part.is_empty() && frac_part.is_empty()) || !all_digits(int_part) || !all_digits(frac_part) {
        return Err(invalid());
    }
    let exponent = match exp_text {
        None => 0,
        Some(text) => parse_exponent(text).ok_or_else(invalid)?,
    };
    let mut digits = String::with_capacity(int_part.len() + frac_part.len());
    digits.push_str(int_part);
    digits.push_str(frac_part);
    let frac_len = i64::try_from(frac_part.len()).map_err(|_| invalid())?;
    let n = Number::normalised(negative, digits, exponent.saturating_sub(frac_len));
    let leading = n.digits.len() as i64 + n.exponent;
    if !n.is_zero() && !(-MAX_DECIMAL_EXPONENT..=MAX_DECIMAL_EXPONENT).contains(&leading) {
        return Err(Error::at_root(format!(
            "{s:?} is outside the supported number range (decimal exponent beyond ±{MAX_DECIMAL_EXPONENT})"
        )));
    }
    Ok(n)
}

/// The exponent after `e`; `None` if malformed. Values are clamped far past
/// the supported range, so the range check later reports them properly.
fn parse_exponent(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: i64 = 0;
    for b in digits.bytes() {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    let v = v.min(i64::MAX / 4);
    Some(if negative { -v } else { v })
}

/// The exact decimal value of a finite float (every binary fraction has a
/// finite decimal expansion: `m × 2^-k = m × 5^k × 10^-k`).
fn exact_decimal_of_f64(f: f64) -> Number {
    let bits = f.to_bits();
    let negative = bits >> 63 == 1;
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mantissa, exp2) = if biased == 0 { (fraction, -1074) } else { (fraction | (1u64 << 52), biased - 1075) };
    let mut big = BigDecimalDigits::from_u64(mantissa);
    if exp2 >= 0 {
        big.mul_pow(2, 29, exp2 as u32);
        Number::normalised(negative, big.to_digits(), 0)
    } else {
        big.mul_pow(5, 13, (-exp2) as u32);
        Number::normalised(negative, big.to_digits(), exp2)
    }
}

/// Minimal unsigned big integer in base 10^9 limbs (least significant first),
/// just enough for [`exact_decimal_of_f64`].
struct BigDecimalDigits(Vec<u32>);

impl BigDecimalDigits {
    const BASE: u64 = 1_000_000_000;

    fn from_u64(mut v: u64) -> Self {
        let mut limbs = Vec::new();
        while v > 0 {
            limbs.push((v % Self::BASE) as u32);
            v /= Self::BASE;
        }
        BigDecimalDigits(limbs)
    }

    fn mul_small(&mut self, m: u64) {
        let mut carry = 0u64;
        for limb in &mut self.0 {
            let product = u64::from(*limb) * m + carry;
            *limb = (product % Self::BASE) as u32;
            carry = product / Self::BASE;
        }
        while carry > 0 {
            self.0.push((carry % Self::BASE) as u32);
            carry /= Self::BASE;
        }
    }

    /// Multiplies by `base^exp`, in chunks of `base^chunk` (chosen to stay
    /// below 2^32 so a limb product cannot overflow u64).
    fn mul_pow(&mut self, base: u64, chunk: u32, mut exp: u32) {
        while exp > 0 {
            let step = exp.min(chunk);
            self.mul_small(base.pow(step));
            exp -= step;
        }
    }

    fn to_digits(&self) -> String {
        let mut out = String::new();
        for (i, limb) in self.0.iter().rev().enumerate() {
            if i == 0 {
                out.push_str(&limb.to_string());
            } else {
                out.push_str(&format!("{limb:09}"));
            }
        }
        out
    }
}

impl FromStr for Number {
    type Err = Error;

    /// Accepts `[+-]digits[.digits][(e|E)[+-]digits]` (either side of the
    /// point may be empty, not both); rejects `Inf`, `NaN` and hex.
    fn from_str(s: &str) -> Result<Number, Error> {
        parse(s)
    }
}

impl fmt::Display for Number {
    /// Canonical plain decimal without exponent: `1e29` renders as
    /// `100000000000000000000000000000`, `1.50` as `1.5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        let mut out = String::with_capacity(self.digits.len() + 4);
        if self.negative {
            out.push('-');
        }
        if self.exponent >= 0 {
            out.push_str(&self.digits);
            out.extend(std::iter::repeat_n('0', self.exponent as usize));
        } else {
            let point = self.digits.len() as i64 + self.exponent;
            if point > 0 {
                let (int, frac) = self.digits.split_at(point as usize);
                out.push_str(int);
                out.push('.');
                out.push_str(frac);
            } else {
                out.push_str("0.");
                out.extend(std::iter::repeat_n('0', (-point) as usize));
                out.push_str(&self.digits);
            }
        }
        f.write_str(&out)
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Number) -> Ordering {
        let (own, theirs) = (self.signum(), other.signum());
        if own != theirs {
            return own.cmp(&theirs);
        }
        match own {
            0 => Ordering::Equal,
            1 => self.cmp_magnitude(other),
            _ => self.cmp_magnitude(other).reverse(),
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl From<i64> for Number {
    fn from(i: i64) -> Number {
        Number::from_i64(i)
    }
}

impl From<u64> for Number {
    fn from(u: u64) -> Number {
        Number::from_integer(false, u)
    }
}

impl From<i32> for Number {
    fn from(i: i32) -> Number {
        Number::from_i64(i64::from(i))
    }
}

impl From<u32> for Number {
    fn from(u: u32) -> Number {
        Number::from(u64::from(u))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        s.parse().unwrap_or_else(|e| panic!("parse {s}: {e}"))
    }

    #[test]
    fn parse_and_display_canonical() {
        let cases = [
            ("0", "0"),
            ("-0", "0"),
            ("0.000", "0"),
            ("+7", "7"),
            ("-7", "-7"),
            ("1.5", "1.5"),
            ("1.50", "1.5"),
            ("001.500", "1.5"),
            ("1e29", "100000000000000000000000000000"),
            ("1E+29", "100000000000000000000000000000"),
            ("-0.000001", "-0.000001"),
            ("-1e-6", "-0.000001"),
            ("0.1", "0.1"),
            (".5", "0.5"),
            ("5.", "5"),
            ("12.345e1", "123.45"),
            ("12.345e-5", "0.00012345"),
            ("9223372036854775807", "9223372036854775807"),
            ("9223372036854775808", "9223372036854775808"),
            ("-123456789012345678901234567890.123456789", "-123456789012345678901234567890.123456789"),
        ];
        for (input, want) in cases {
            assert_eq!(n(input).to_string(), want, "input {input}");
            // Display output parses back to the same number.
            assert_eq!(n(want), n(input));
        }
    }

    #[test]
    fn parse_rejects_garbage() {
        for bad in [
            "",
            "-",
            ".",
            "e5",
            "1e",
            "1e+",
            "abc",
            "1.2.3",
            "Inf",
            "-Inf",
            "NaN",
            "0x10",
            "1 ",
            " 1",
            "1_000",
            "1e99999",
            "1e-99999",
            "1e99999999999999999999999",
        ] {
            assert!(bad.parse::<Number>().is_err(), "{bad:?} should not parse");
        }
        // Zero is fine whatever the exponent.
        assert!(n("0e99999").is_zero());
    }

    #[test]
    fn equality_and_order_are_numeric() {
        assert_eq!(n("1.0"), n("1"));
        assert_eq!(n("100"), n("1e2"));
        let ordered = [
            "-1e29",
            "-10",
            "-1.5",
            "-1",
            "-0.000001",
            "0",
            "0.000001",
            "0.1",
            "0.15",
            "0.2",
            "1",
            "1.2",
            "1.25",
            "12",
            "120",
            "1e29",
        ];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                assert_eq!(n(a).cmp(&n(b)), i.cmp(&j), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn integer_conversions() {
        assert_eq!(n("-7").to_i64(), Some(-7));
        assert_eq!(n("7.0").to_i64(), Some(7));
        assert_eq!(n("1e3").to_i64(), Some(1000));
        assert_eq!(n("1.5").to_i64(), None);
        assert_eq!(n("9223372036854775807").to_i64(), Some(i64::MAX));
        assert_eq!(n("-9223372036854775808").to_i64(), Some(i64::MIN));
        assert_eq!(n("9223372036854775808").to_i64(), None);
        assert_eq!(n("9223372036854775808").to_u64(), Some(1 << 63));
        assert_eq!(n("18446744073709551616").to_u64(), None);
        assert_eq!(n("1e29").to_i64(), None);
        assert_eq!(Number::from(u64::MAX).to_string(), "18446744073709551615");
        assert_eq!(Number::from_i64(i64::MIN).to_string(), "-9223372036854775808");
        assert_eq!(Number::from(0i64), Number::zero());
    }

    #[test]
    fn float_conversions() {
        assert_eq!(n("1.5").to_f64(), Some(1.5));
        assert_eq!(n("0.1").to_f64(), Some(0.1));
        assert_eq!(n("1e29").to_f64(), Some(1e29));
        assert_eq!(n("1e400").to_f64(), None);
        assert_eq!(Number::from_f64(0.1), Some(n("0.1")));
        assert_eq!(Number::from_f64(1e29), Some(n("1e29")));
        assert_eq!(Number::from_f64(-0.0), Some(Number::zero()));
        assert_eq!(Number::from_f64(f64::NAN), None);
        assert_eq!(Number::from_f64(f64::INFINITY), None);
    }

    #[test]
    fn exact_float_detection() {
        assert_eq!(n("1.5").to_f64_exact(), Some(1.5));
        assert_eq!(n("-0.375").to_f64_exact(), Some(-0.375));
        assert_eq!(n("0.1").to_f64_exact(), None);
        assert_eq!(n("0.15").to_f64_exact(), None);
        assert_eq!(n("1e29").to_f64_exact(), None); // 5^29 needs more than 53 bits
        assert_eq!(n("1024").to_f64_exact(), Some(1024.0));
        // The exact expansion of the float nearest 0.1 is itself exact.
        let exact_tenth = "0.1000000000000000055511151231257827021181583404541015625";
        assert_eq!(n(exact_tenth).to_f64_exact(), Some(0.1));
        assert_eq!(exact_decimal_of_f64(0.1), n(exact_tenth));
        assert_eq!(exact_decimal_of_f64(f64::MIN_POSITIVE / 4.0).to_f64(), Some(f64::MIN_POSITIVE / 4.0));
        assert_eq!(exact_decimal_of_f64(f64::MAX).to_f64(), Some(f64::MAX));
    }
}
