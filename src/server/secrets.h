#pragma once
// Random identifiers and secrets (libsodium), password hashing (Argon2id), TOTP (RFC 6238).

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "mimamori/core/result.h"

namespace mimamori::server {

/// `prefix_` + 16 random hex digits: object ids.
std::string random_id(std::string_view prefix);
/// 32 random bytes as URL-safe base64 without padding: tokens and secrets.
std::string random_secret();
/// SHA-256 hex of a secret, as stored.
std::string secret_hash(std::string_view secret);
/// Constant-time comparison of two equal-length strings.
bool equal_secret(std::string_view a, std::string_view b);
/// An enrollment code: 8 Crockford base32 characters shown as XXXX-XXXX.
std::string random_enrollment_code();
/// The canonical form of a typed code: dashes and spaces dropped, upper case, O→0, I/L→1.
std::string normalize_enrollment_code(std::string_view typed);
/// Argon2id hash string of a password (libsodium's interactive limits).
core::Result<std::string> hash_password(std::string_view password);
/// True when `password` matches the stored Argon2id string.
bool verify_password(std::string_view stored, std::string_view password);
/// A new TOTP secret, base32 (RFC 4648, no padding), 160 bits.
std::string random_totp_secret();
/// The 6-digit TOTP code of `base32_secret` for the 30-second step containing `unix_s`.
std::string totp_code(std::string_view base32_secret, int64_t unix_s);
/// True when `code` matches the current, previous or next step.
bool totp_verify(std::string_view base32_secret, std::string_view code, int64_t unix_s);
/// The newest of the current, previous and next steps (unix time / 30) that is later than
/// `after_step` and whose code is `code`; 0 when there is none. A login remembers the step it
/// accepted and passes it as `after_step` next time, so that each code is accepted once.
int64_t totp_step(std::string_view base32_secret, std::string_view code, int64_t unix_s,
                  int64_t after_step);
/// HMAC-SHA256 of `data` with `key`, hex.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

/// The server's data folder: created with its parents when missing, itself mode 0700 whatever
/// the umask. An existing folder open to group or others is logged and narrowed to 0700 (a
/// shared sticky folder such as /tmp is only logged).
core::Status ensure_private_dir(const std::filesystem::path& dir);
/// A file the server keeps under its data folder (database, WAL, keys): with `create`, a
/// missing one is created empty with mode 0600 whatever the umask; an existing one open to
/// group or others is logged and narrowed to 0600. Without `create`, a missing one is fine.
core::Status ensure_private_file(const std::filesystem::path& file, bool create);

}  // namespace mimamori::server
