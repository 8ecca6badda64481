//! Branding from configuration as CSS custom properties (`static/brand.css`),
//! with text colours derived so that contrast stays readable (WCAG AA) for
//! any primary colour.
use super::{Branding, Problem};

/// A colour, parsed once from `#rrggbb` (`[branding] primary_color`);
/// serialized as `#rrggbb` (lower case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl serde::Serialize for Rgb {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.hex())
    }
}

impl std::fmt::Display for Rgb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.hex())
    }
}

impl Rgb {
    /// `#rrggbb` only: the one form configuration accepts.
    pub fn parse(s: &str) -> Option<Rgb> {
        let hex = s.strip_prefix('#')?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("00"), 16).ok();
        Some(Rgb(byte(0)?, byte(2)?, byte(4)?))
    }

    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(self.0) + 0.7152 * channel(self.1) + 0.0722 * channel(self.2)
    }

    pub fn contrast(self, other: Rgb) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        let (hi, lo) = if a > b { (a, b) } else { (b, a) };
        (hi + 0.05) / (lo + 0.05)
    }

    fn mix(self, other: Rgb, t: f64) -> Rgb {
        let m = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
        Rgb(m(self.0, other.0), m(self.1, other.1), m(self.2, other.2))
    }

    /// This colour, moved towards `towards` just enough to reach `ratio`
    /// against `background`.
    pub fn readable_on(self, background: Rgb, towards: Rgb, ratio: f64) -> Rgb {
        (0..=20)
            .map(|step| self.mix(towards, f64::from(step) / 20.0))
            .find(|c| c.contrast(background) >= ratio)
            .unwrap_or(towards)
    }
}

pub const WHITE: Rgb = Rgb(0xff, 0xff, 0xff);
pub const BLACK: Rgb = Rgb(0, 0, 0);
/// Page background in dark mode (`--page`, see `static/page.css`).
pub const DARK_BACKGROUND: Rgb = Rgb(0x12, 0x12, 0x12);
/// The card's background in dark mode (`--surface`), lighter than the page:
/// the buttons and brand-coloured text (links, secondary buttons) sit on it.
pub const DARK_SURFACE: Rgb = Rgb(0x26, 0x29, 0x2d);

/// Problems with the branding configuration.
pub fn validate(branding: &Branding) -> Vec<Problem> {
    // The colour is an `Rgb`, valid by construction.
    let mut problems = Vec::new();
    if branding.product_name.trim().is_empty() {
        problems.push(Problem::file(
            "[branding] product_name",
            "must not be empty",
        ));
    }
    if let Some(logo) = &branding.logo_url {
        let ok = logo.starts_with("https://")
            || logo.starts_with("http://localhost")
            || logo.starts_with("http://127.0.0.1")
            || (logo.starts_with('/') && !logo.starts_with("//"));
        if !ok
            || logo
                .chars()
                .any(|c| c.is_whitespace() || c == '"' || c == '\'')
        {
            problems.push(Problem::file(
                "[branding] logo_url",
                format!("`{logo}` must be an https:// URL or an absolute path"),
            ));
        }
    }
    problems
}

/// Colours derived from the primary colour, as template data and CSS.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Palette {
    /// The configured colour (buttons, accents).
    pub primary: String,
    /// Text on a primary-coloured background.
    pub on_primary: String,
    /// The primary colour as text on white (links, the code in mails).
    pub primary_text: String,
    /// The primary colour as text on the dark-mode background.
    pub primary_text_dark: String,
    /// The primary colour as a button background in dark mode.
    pub primary_dark: String,
    pub on_primary_dark: String,
}

pub fn palette(branding: &Branding) -> Palette {
    let primary = branding.primary_color;
    let on = |bg: Rgb| {
        if WHITE.contrast(bg) >= BLACK.contrast(bg) {
            WHITE
        } else {
            BLACK
        }
    };
    let primary_text = primary.readable_on(WHITE, BLACK, 4.5);
    let primary_text_dark = primary.readable_on(DARK_SURFACE, WHITE, 4.5);
    // A button must stand out from the dark card it sits on, and the card
    // from the page (3:1 for UI components).
    let primary_dark =
        primary
            .readable_on(DARK_SURFACE, WHITE, 3.0)
            .readable_on(DARK_BACKGROUND, WHITE, 3.0);
    Palette {
        primary: primary.hex(),
        on_primary: on(primary).hex(),
        primary_text: primary_text.hex(),
        primary_text_dark: primary_text_dark.hex(),
        primary_dark: primary_dark.hex(),
        on_primary_dark: on(primary_dark).hex(),
    }
}

/// `static/brand.css`: custom properties that `static/page.css` uses.
pub fn css(branding: &Branding) -> String {
    let p = palette(branding);
    format!(
        "/* Generated from [branding] in the configuration. */\n\
         :root {{\n  --brand: {};\n  --on-brand: {};\n  --brand-text: {};\n}}\n\
         @media (prefers-color-scheme: dark) {{\n  :root {{\n    --brand: {};\n    --on-brand: {};\n    --brand-text: {};\n  }}\n}}\n",
        p.primary, p.on_primary, p.primary_text, p.primary_dark, p.on_primary_dark, p.primary_text_dark
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn derived_colours_are_readable_for_any_primary() {
        for colour in [
            "#1f5fbf", "#ffff00", "#000000", "#ffffff", "#7fdbff", "#c0392b",
        ] {
            let b = Branding {
                primary_color: Rgb::parse(colour).unwrap(),
                ..Branding::default()
            };
            let p = palette(&b);
            let c = |s: &str| Rgb::parse(s).unwrap();
            assert!(c(&p.on_primary).contrast(c(&p.primary)) >= 4.5, "{colour}");
            assert!(c(&p.primary_text).contrast(WHITE) >= 4.5, "{colour}");
            assert!(
                c(&p.primary_text_dark).contrast(DARK_SURFACE) >= 4.5,
                "{colour}"
            );
            assert!(
                c(&p.on_primary_dark).contrast(c(&p.primary_dark)) >= 3.0,
                "{colour}"
            );
        }
    }

    #[test]
    fn rejects_colours_that_could_inject_css() {
        assert!(Rgb::parse("red;}body{display:none").is_none());
        assert!(Rgb::parse("#12345g").is_none());
        assert!(Rgb::parse("#1f5fbf;}").is_none());
        assert_eq!(Rgb::parse("#1F5FBF").unwrap().to_string(), "#1f5fbf");
    }
}
