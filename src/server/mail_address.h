#pragma once
// E-mail addresses (users, notification targets and senders). One check, made when a channel is
// saved, when the sender address is configured and again just before a message is sent, so a
// stored or configured value can never smuggle SMTP commands or mail headers (CR/LF).

#include <cstddef>
#include <string>
#include <string_view>

#include "mimamori/core/result.h"

namespace mimamori::server {

/// Longest local part (RFC 5321 §4.5.3.1.1) and whole address (the path's 256 octets less
/// the angle brackets) accepted.
constexpr std::size_t kMaxLocalPart = 64;
constexpr std::size_t kMaxMailbox = 254;

/// Checks that `address` is an RFC 5321 mailbox: a dot-atom or quoted-string local part, "@",
/// and a domain of hostname labels or an address literal ([192.0.2.1], [IPv6:2001:db8::1]);
/// ASCII only, no control characters, local part ≤ 64 and the whole ≤ 254 octets. The error
/// (code 400) says why and where, without repeating the value.
core::Status check_mailbox(std::string_view address);

/// `text` as an RFC 2047 header value: printable ASCII as is, anything else as UTF-8 "B"
/// encoded-words of at most 75 characters each, folded onto continuation lines. Control
/// characters (CR and LF included) become spaces first, so a header value never ends a line.
std::string encode_header_text(std::string_view text);

}  // namespace mimamori::server
