//! Durations as people write them: `1s`, `250ms`, `2m`, `1h`, `1.5s`, or a
//! bare number of seconds (the command line, the config file, scenarios),
//! and as a clock shows them (`12:05`, the progress bars of both front ends).

use std::time::Duration;

/// `0:42`, `12:05`, `1:02:03`: whole seconds, rounded up (a count-down
/// reads 0:00 only at its end).
pub fn clock(d: Duration) -> String {
    let s = d.as_secs_f64().ceil() as u64;
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A duration that did not parse; the message names the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("'{0}' is not a duration (try 1s, 250ms, 10m)")]
    NotANumber(String),
    #[error("unknown unit '{unit}' in '{text}' (use ms, s, m or h)")]
    UnknownUnit { unit: String, text: String },
    #[error("'{0}' is not a valid duration")]
    Invalid(String),
}

/// serde: an optional duration written as text (`"30m"`) or a number of
/// seconds (`90`), for the TOML files (scenarios, campaigns).
pub fn de_opt_duration<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(f64),
        Text(String),
    }
    match <Option<Raw> as serde::Deserialize>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Secs(s)) if s.is_finite() && s >= 0.0 => Ok(Some(Duration::from_secs_f64(s))),
        Some(Raw::Secs(s)) => Err(serde::de::Error::custom(format!(
            "{s} is not a valid duration"
        ))),
        Some(Raw::Text(t)) => parse_duration(&t)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// Parse `1s`, `250ms`, `2m`, `1h`, `1.5s` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| DurationError::NotANumber(s.to_string()))?;
    let secs = match unit.trim() {
        "ms" => v / 1000.0,
        "s" | "" => v,
        "m" | "min" => v * 60.0,
        "h" => v * 3600.0,
        u => {
            return Err(DurationError::UnknownUnit {
                unit: u.to_string(),
                text: s.to_string(),
            })
        }
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(DurationError::Invalid(s.to_string()));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_reads_as_a_clock() {
        assert_eq!(clock(Duration::from_secs(42)), "0:42");
        assert_eq!(clock(Duration::from_millis(41_200)), "0:42");
        assert_eq!(clock(Duration::from_secs(725)), "12:05");
        assert_eq!(clock(Duration::from_secs(3723)), "1:02:03");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3 days").is_err());
    }
}
