//! Placeholder, replaced by the real parser.
use super::{NetError, Parsed};
use crate::capture::LinkType;

pub fn parse_packet(link_type: LinkType, _data: &[u8]) -> Result<Parsed<'_>, NetError> {
    Err(NetError::UnsupportedLinkType(link_type))
}
