//! SETTINGS (RFC 9113 §6.5): what each side announced, kept in order, and applied where it
//! binds the peer's side of our decoding: the HPACK table the peer's encoder may use, the
//! frame size it may send, and (through flow control) the stream windows.
//!
//! Values apply as soon as the frame is decoded, not at its ACK.

use super::{Connection, StreamBody};
use crate::anomaly::{Anomaly, AnomalyKind};
use crate::http2::frame::SettingId;
use crate::role::Role;

/// SETTINGS frames kept per side; later ones still apply.
const MAX_SETTINGS: usize = 1024;

impl<B: StreamBody> Connection<B> {
    /// A SETTINGS frame (not an ACK) from side `r`.
    pub(super) fn settings(&mut self, r: Role, settings: Vec<(SettingId, u32)>) {
        let peer = r.peer();
        for &(id, value) in &settings {
            match id.0 {
                // HEADER_TABLE_SIZE: bounds the table of the encoder on the other side.
                0x1 => self
                    .side_mut(peer)
                    .blocks
                    .hpack
                    .set_max_table_size_setting(value),
                0x4 => {
                    if value > 0x7fff_ffff {
                        self.anomaly(
                            Anomaly::new(
                                AnomalyKind::InvalidSetting,
                                format!(
                                    "SETTINGS_INITIAL_WINDOW_SIZE {value} above 2^31-1 (RFC 9113 §6.5.2)"
                                ),
                            )
                            .by(r),
                        );
                        continue;
                    }
                    self.initial_window_changed(r, value);
                }
                0x5 => {
                    if !(16_384..=16_777_215).contains(&value) {
                        self.anomaly(
                            Anomaly::new(
                                AnomalyKind::InvalidSetting,
                                format!(
                                    "SETTINGS_MAX_FRAME_SIZE {value} out of range (RFC 9113 §6.5.2)"
                                ),
                            )
                            .by(r),
                        );
                    } else if let Some(d) = self.side_mut(peer).decoder.as_mut() {
                        d.set_max_frame_size(value);
                    }
                }
                _ => {}
            }
        }
        let sent = &mut self.side_mut(r).settings_sent;
        if sent.len() < MAX_SETTINGS {
            sent.push(settings);
        }
    }
}
