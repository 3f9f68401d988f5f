//! A short name for the device behind a login, made from its `User-Agent`, for the person who
//! looks at their sessions: "Firefox 133 on Linux", "Safari on iPhone", "curl 8.5".
//!
//! Why [`ua_parser`] (the ua-parser project's own Rust port, uap-rust) and the uap-core data:
//! - Browsers change their User-Agent every few weeks, so the rules must come from a dataset that
//!   is still maintained, not from us: uap-core is the one shared by the project's ports in a
//!   dozen languages and is updated continuously; the crate is released by the same project.
//!   The data is vendored (`uap-core/`, Apache-2.0, see its README), so a newer dataset is a
//!   file to replace, not a crate release to wait for.
//! - On the browsers people use today it is right where the others were not: Chromium Edge
//!   (`Edg/`), Chrome on iOS (`CriOS`) and on Android (the reduced "Android 10; K" string),
//!   iPhone vs iPad, curl and PostmanRuntime with their versions. `woothee` names curl only
//!   "HTTP Library", knows neither PostmanRuntime nor python-requests, and its rules are code in
//!   the crate, as new as its last release. `uaparser` and `user-agent-parser` read the same
//!   uap-core data (an older copy in the former's case) through a YAML parser, and
//!   `user-agent-parser` took four times as long to build (585 ms against 147 ms, release).
//! - A call is cheap and bounded: its regex set is prefiltered (regex-filtered, Aho-Corasick
//!   atoms), so a User-Agent is checked against a few candidate rules, not a thousand, and the
//!   `regex` crate runs in time linear in the input, which we cut at [`MAX_INPUT`] bytes anyway.
//!
//! Why JSON and not the upstream YAML: `serde_json` is already a dependency, and the YAML crates
//! are either deprecated (`serde_yaml`) or a new dependency for one file.
//!
//! Why three extractors and not [`ua_parser::Extractor`]: the device rules are 60% of the
//! build's time and half its memory (about 90 ms and 14 MB of 150 ms and 26 MB, release), and
//! we only need them to tell an iPhone from an iPad, so only Apple's are compiled.
//!
//! The rules are compiled once, on first use ([`warm_up`] moves that to start-up).

use std::error::Error;
use std::sync::LazyLock;

use ua_parser::{device, os, user_agent, Regexes};

/// uap-core's rules (see `uap-core/README.md`).
const REGEXES: &str = include_str!("uap-core/regexes.json");

/// Only this many bytes of a User-Agent are read (cut back to a character boundary).
pub const MAX_INPUT: usize = 512;

/// A label never has more characters than this.
pub const MAX_LABEL: usize = 64;

/// The label when neither the browser (or tool) nor the system is recognised.
pub const UNKNOWN: &str = "Unknown device";

/// Where one holds the device in one's hand, its name says more than the browser's version.
const HANDHELD: &[&str] = &["iOS", "Android"];

/// Apple's devices, which the device rules name and iOS alone does not.
const APPLE_DEVICES: &[&str] = &["iPhone", "iPad", "iPod"];

struct Parsers {
    browser: user_agent::Extractor<'static>,
    os: os::Extractor<'static>,
    apple: device::Extractor<'static>,
}

/// `None` if the vendored rules did not compile (logged once): every label is then [`UNKNOWN`].
static PARSERS: LazyLock<Option<Parsers>> = LazyLock::new(|| match build() {
    Ok(parsers) => Some(parsers),
    Err(e) => {
        log::error!("device labels: uap-core rules did not compile: {e}");
        None
    }
});

fn build() -> Result<Parsers, Box<dyn Error>> {
    let regexes: Regexes<'static> = serde_json::from_str(REGEXES)?;
    let browser = user_agent::Builder::new()
        .push_all(regexes.user_agent_parsers)?
        .build()?;
    let os = os::Builder::new().push_all(regexes.os_parsers)?.build()?;
    let apple = device::Builder::new()
        .push_all(
            regexes
                .device_parsers
                .into_iter()
                .filter(|p| p.brand_replacement.as_deref() == Some("Apple")),
        )?
        .build()?;
    Ok(Parsers { browser, os, apple })
}

/// Compiles the rules now rather than at the first login (about 60 ms and 12 MB in a release
/// build, half a second in a debug one): call it from a blocking thread at start-up. Optional.
pub fn warm_up() {
    LazyLock::force(&PARSERS);
}

/// The label of the device that sent `user_agent`: at most [`MAX_LABEL`] characters, never
/// empty, [`UNKNOWN`] for an empty or unrecognised value. Never panics.
pub fn label(user_agent: &str) -> String {
    let ua = prefix(user_agent, MAX_INPUT).trim();
    let Some(parsers) = PARSERS.as_ref().filter(|_| !ua.is_empty()) else {
        return UNKNOWN.to_owned();
    };
    let browser = parsers.browser.extract(ua).filter(|b| b.family != "Other");
    let system = parsers.os.extract(ua).filter(|o| o.os != "Other");
    let text = match (browser, system) {
        (None, None) => return UNKNOWN.to_owned(),
        (None, Some(system)) => format!("Unknown browser on {}", place(parsers, ua, &system.os)),
        // No system: a tool or a library, whose minor version matters ("curl 8.5").
        (Some(b), None) => versioned(browser_name(&b.family), b.major, b.minor),
        (Some(b), Some(system)) if HANDHELD.contains(&system.os.as_ref()) => format!(
            "{} on {}",
            browser_name(&b.family),
            place(parsers, ua, &system.os)
        ),
        (Some(b), Some(system)) => format!(
            "{} on {}",
            versioned(browser_name(&b.family), b.major, None),
            place(parsers, ua, &system.os)
        ),
    };
    clean(&text)
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// The browser's everyday name: the form factor is said by the place ("on iPhone").
fn browser_name(family: &str) -> &str {
    match family {
        "Mobile Safari" => "Safari",
        "Chrome Mobile" | "Chrome Mobile iOS" => "Chrome",
        "Firefox Mobile" | "Firefox iOS" => "Firefox",
        "Edge Mobile" => "Edge",
        "Opera Mobile" => "Opera",
        "Mobile Safari UI/WKWebView" | "Chrome Mobile WebView" => "In-app browser",
        other => other,
    }
}

/// The system's everyday name, or the Apple device's where the rules name one.
fn place(parsers: &Parsers, ua: &str, system: &str) -> String {
    match system {
        "iOS" => parsers
            .apple
            .extract(ua)
            .map(|d| d.device.into_owned())
            .filter(|d| APPLE_DEVICES.contains(&d.as_str()))
            .unwrap_or_else(|| "iOS".to_owned()),
        "Mac OS X" | "Mac OS" => "macOS".to_owned(),
        "Chrome OS" => "ChromeOS".to_owned(),
        other => other.to_owned(),
    }
}

/// `name`, then `major` (and `.minor` if given): "Firefox 133", "curl 8.5".
fn versioned(name: &str, major: Option<&str>, minor: Option<&str>) -> String {
    match (
        major.filter(|v| !v.is_empty()),
        minor.filter(|v| !v.is_empty()),
    ) {
        (Some(major), Some(minor)) => format!("{name} {major}.{minor}"),
        (Some(major), None) => format!("{name} {major}"),
        (None, _) => name.to_owned(),
    }
}

/// One line of at most [`MAX_LABEL`] characters: the names come partly from the User-Agent
/// itself, so control characters go and runs of white space become one space.
fn clean(text: &str) -> String {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let line = words.join(" ");
    if line.is_empty() {
        return UNKNOWN.to_owned();
    }
    if line.chars().count() <= MAX_LABEL {
        return line;
    }
    let mut cut: String = line.chars().take(MAX_LABEL - 1).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIREFOX_LINUX: &str =
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    const FIREFOX_UBUNTU: &str =
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
        (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const EDGE_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
        (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
    const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) \
        AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1";
    const SAFARI_IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) \
        AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1";
    const CHROME_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) \
        AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1";
    const SAFARI_MACOS: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) \
        AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15";
    const CHROME_ANDROID: &str = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 \
        (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
    const SAMSUNG_ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) \
        AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 \
        Mobile Safari/537.36";
    const CHROME_CHROMEOS: &str = "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 \
        (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const CURL: &str = "curl/8.5.0";
    /// What Postman sends, and newman too (it runs the same postman-runtime).
    const POSTMAN: &str = "PostmanRuntime/7.39.1";

    /// 10 KB of printable junk with 3-byte characters, so byte 512 falls inside one.
    fn junk() -> String {
        let mut junk = String::new();
        for c in "€{}~".chars().cycle() {
            if junk.len() >= 10 * 1024 {
                break;
            }
            junk.push(c);
        }
        junk
    }

    #[test]
    fn browsers_on_computers_with_their_major_version() {
        assert_eq!(label(FIREFOX_LINUX), "Firefox 133 on Linux");
        assert_eq!(label(FIREFOX_UBUNTU), "Firefox 133 on Ubuntu");
        assert_eq!(label(CHROME_WINDOWS), "Chrome 131 on Windows");
        assert_eq!(label(EDGE_WINDOWS), "Edge 131 on Windows");
        assert_eq!(label(SAFARI_MACOS), "Safari 17 on macOS");
        assert_eq!(label(CHROME_CHROMEOS), "Chrome 131 on ChromeOS");
    }

    #[test]
    fn browsers_on_phones_with_the_device() {
        assert_eq!(label(SAFARI_IPHONE), "Safari on iPhone");
        assert_eq!(label(SAFARI_IPAD), "Safari on iPad");
        assert_eq!(label(CHROME_IPHONE), "Chrome on iPhone");
        assert_eq!(label(CHROME_ANDROID), "Chrome on Android");
        assert_eq!(label(SAMSUNG_ANDROID), "Samsung Internet on Android");
    }

    #[test]
    fn tools_with_major_and_minor_version() {
        assert_eq!(label(CURL), "curl 8.5");
        assert_eq!(label(POSTMAN), "PostmanRuntime 7.39");
    }

    #[test]
    fn empty_and_garbage_are_unknown() {
        for ua in [
            "",
            "   ",
            "\t\r\n",
            "-",
            "garbage !!@@## <script>",
            "\u{0}\u{1b}[31m",
        ] {
            assert_eq!(label(ua), UNKNOWN, "{ua:?}");
        }
        let junk = junk();
        assert!(junk.len() >= 10 * 1024 && !junk.is_char_boundary(MAX_INPUT));
        assert_eq!(label(&junk), UNKNOWN);
    }

    #[test]
    fn only_the_first_512_bytes_are_read() {
        let padded = format!("{CURL} {}", junk());
        assert_eq!(label(&padded), "curl 8.5");
        let hidden = format!("{} {CURL}", "x".repeat(MAX_INPUT));
        assert_eq!(label(&hidden), UNKNOWN);
    }

    #[test]
    fn prefix_stops_on_a_character_boundary() {
        assert_eq!(prefix("a€", 2), "a");
        assert_eq!(prefix("a€", 3), "a");
        assert_eq!(prefix("a€", 4), "a€");
        assert_eq!(prefix("a€", 99), "a€");
        assert_eq!(prefix("€", 0), "");
        assert_eq!(prefix(&junk(), MAX_INPUT).len(), MAX_INPUT - 2);
    }

    #[test]
    fn labels_are_one_short_line() {
        assert_eq!(clean("Foo\u{7}\n  Bar\u{0}\tBaz"), "Foo Bar Baz");
        assert_eq!(clean(" \u{0} "), UNKNOWN);
        let long = clean(&"é".repeat(200));
        assert_eq!(long.chars().count(), MAX_LABEL);
        assert!(long.ends_with('…'));
        assert_eq!(clean(&"a".repeat(MAX_LABEL)), "a".repeat(MAX_LABEL));
    }

    #[test]
    fn every_label_is_bounded_and_never_empty() {
        let junk = junk();
        let long_product = format!("{}/1.0", "A".repeat(400));
        for ua in [
            FIREFOX_LINUX,
            CHROME_WINDOWS,
            EDGE_WINDOWS,
            SAFARI_IPHONE,
            SAFARI_MACOS,
            CHROME_ANDROID,
            CURL,
            POSTMAN,
            "",
            &junk,
            &long_product,
        ] {
            let l = label(ua);
            assert!(
                !l.is_empty() && l.chars().count() <= MAX_LABEL,
                "{ua:?} gave {l:?}"
            );
        }
    }

    /// The vendored rules compile, and what that costs once per process (shown with
    /// `--nocapture`; debug builds are about ten times slower than release ones).
    #[test]
    fn rules_compile_once_at_a_measured_cost() {
        let start = std::time::Instant::now();
        let fresh = build();
        let elapsed = start.elapsed();
        assert!(fresh.is_ok(), "{:?}", fresh.err());
        assert!(PARSERS.is_some());
        eprintln!("device_label: uap-core rules compiled in {elapsed:?}");
    }
}
