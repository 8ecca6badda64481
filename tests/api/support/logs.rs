//! Captures every log line of the test process (all apps share it), so tests
//! can assert what never reaches a log.
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

static CAPTURE: OnceLock<Capture> = OnceLock::new();

/// Installs the capturing JSON subscriber once per process.
pub fn install() {
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let subscriber = otp_sidecar::telemetry::subscriber("info", capture.clone());
        otp_sidecar::telemetry::init(subscriber).unwrap();
        capture
    });
}

/// Everything logged so far.
pub fn captured() -> String {
    let capture = CAPTURE.get().expect("logs::install() first");
    String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned()
}
