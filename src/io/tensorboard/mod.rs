//! TensorBoard event files: TFRecord framing (length, masked CRC32C of the length, the
//! serialized `Event`, masked CRC32C of it) around the protos in [`proto`]. Just enough for
//! scalars, PNG images, markdown text and the restart marker a resumed run needs.
//!
//! Written here rather than taken from a crate: of the crates that write tfevents,
//! tensorboard-rs is built on protobuf 2 and image 0.23, tboard runs protoc at build time, and
//! tfrecord brings a large dependency tree on prost 0.12; this is ~200 lines on prost and crc32c.

pub mod proto;

use prost::Message;
use proto::{Event, Kind, PluginData, SessionLog, SessionStatus, Summary, SummaryMetadata, Value};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Every event file name starts with this; TensorBoard reads the files whose name contains
/// "tfevents", in name order.
const PREFIX: &str = "events.out.tfevents.";

/// TFRecord's CRC mask: rotate right by 15 bits and add a constant, so that a CRC stored next
/// to the data it covers does not checksum to a fixed value.
pub fn masked_crc32c(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// One TFRecord: u64 length (little-endian), its masked CRC, the data, the data's masked CRC.
pub fn record(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
    out
}

/// An open event file; each event is written whole with one `write_all` and not buffered, so
/// TensorBoard sees it at once and a kill tears at most the last record (which readers drop).
pub struct EventWriter {
    file: File,
    path: PathBuf,
}

impl EventWriter {
    /// A new event file in `dir` (created when missing), named to sort after the event files
    /// already there. `restart`: the first step this writer may log on a resumed run; a
    /// SessionLog START there makes readers drop what older files hold from that step on.
    pub fn create(dir: &Path, restart: Option<i64>) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let secs = file_seconds(dir);
        let pid = std::process::id();
        let mut n = 0;
        let (file, path) = loop {
            let path = dir.join(format!("{PREFIX}{secs:010}.wgpu-gan.{pid}.{n}"));
            match File::create_new(&path) {
                Ok(f) => break (f, path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
                Err(e) => return Err(e),
            }
        };
        let mut w = Self { file, path };
        w.write(0, proto::What::FileVersion("brain.Event:2".into()))?;
        if let Some(step) = restart {
            let log = SessionLog {
                status: SessionStatus::Start as i32,
                ..Default::default()
            };
            w.write(step, proto::What::SessionLog(log))?;
        }
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Scalars at `step`, all in one event.
    pub fn scalars(&mut self, step: i64, values: &[(String, f32)]) -> std::io::Result<()> {
        let value = values
            .iter()
            .map(|(tag, v)| Value {
                tag: tag.clone(),
                metadata: None,
                kind: Some(Kind::SimpleValue(*v)),
            })
            .collect();
        self.write(step, proto::What::Summary(Summary { value }))
    }

    /// A PNG image of `width` x `height` with `channels` (1 gray, 3 RGB, 4 RGBA).
    pub fn image(
        &mut self,
        step: i64,
        tag: &str,
        png: &[u8],
        (width, height, channels): (u32, u32, u8),
    ) -> std::io::Result<()> {
        let image = proto::Image {
            height: height as i32,
            width: width as i32,
            colorspace: channels.into(),
            encoded_image_string: png.to_vec(),
        };
        self.summary(step, tag, None, Kind::Image(image))
    }

    /// Markdown for the text plugin: a string tensor tagged with the plugin's name.
    pub fn text(&mut self, step: i64, tag: &str, markdown: &str) -> std::io::Result<()> {
        let metadata = SummaryMetadata {
            plugin_data: Some(PluginData {
                plugin_name: "text".into(),
                content: Vec::new(),
            }),
        };
        let tensor = proto::TensorProto {
            dtype: proto::DT_STRING,
            string_val: vec![markdown.as_bytes().to_vec()],
        };
        self.summary(step, tag, Some(metadata), Kind::Tensor(tensor))
    }

    fn summary(
        &mut self,
        step: i64,
        tag: &str,
        metadata: Option<SummaryMetadata>,
        kind: Kind,
    ) -> std::io::Result<()> {
        let value = Value {
            tag: tag.into(),
            metadata,
            kind: Some(kind),
        };
        let summary = Summary { value: vec![value] };
        self.write(step, proto::What::Summary(summary))
    }

    fn write(&mut self, step: i64, what: proto::What) -> std::io::Result<()> {
        let wall_time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let event = Event {
            wall_time,
            step,
            what: Some(what),
        };
        self.file.write_all(&record(&event.encode_to_vec()))
    }
}

/// The timestamp for a new file's name: now, or one second past the newest file already in
/// `dir` (a resume within the same second must still sort after the file it continues).
fn file_seconds(dir: &Path) -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let newest = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_prefix(PREFIX)?
                .split('.')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .max();
    newest.map_or(now, |s| now.max(s + 1))
}

#[cfg(test)]
mod tests;
