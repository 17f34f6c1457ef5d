//! HPACK header decompression (RFC 7541). CONTRACT PLACEHOLDER: the HPACK helper replaces it.
