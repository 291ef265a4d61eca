#pragma once
// Random identifiers and secrets (libsodium), password hashing (Argon2id), TOTP (RFC 6238).

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

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

// --- secrets at rest ------------------------------------------------------------------------
// Secret columns (users.totp_secret, channels.secret and outbox.secret, and the target URLs of
// webhook, Slack and Teams channels and their outbox messages, which carry their own tokens) are
// stored sealed: "sb1:<key id>:<base64 of nonce and ciphertext>", libsodium's secretbox
// (XSalsa20-Poly1305) under a 32-byte key from the key file (`server.secret_key_file`). The key
// id is 8 hex digits of the key's SHA-256, so a value names the key that opens it.
//
// Rotation (`mimamori admin rotate-key`), crash-safe at every step: (1) the current key is
// copied to `<key file>.old`; (2) a new key replaces the key file (written aside, fsynced,
// renamed); (3) every sealed value is opened and sealed again under the new key in one
// transaction; (4) after the commit `.old` is removed. A process that starts in between loads
// both files and opens values under either key; a rotation that finds `.old` first finishes the
// one before it.

/// Channel kinds whose target is a URL that carries its own token (webhook, Slack, Teams): the
/// target is a secret column for them.
inline constexpr std::array<std::string_view, 3> kSecretTargetKinds = {"webhook", "slack", "teams"};
bool target_is_secret(std::string_view kind);

/// Seals and opens secret column values with the server's keys. Empty stays empty (no secret).
class SecretBox {
 public:
  static constexpr std::string_view kPrefix = "sb1:";
  static constexpr size_t kKeyBytes = 32;

  /// A box without keys: seal and open fail (a store opened without a key file).
  SecretBox() = default;
  /// Keys of kKeyBytes each, the newest (the one seal uses) first.
  explicit SecretBox(const std::vector<std::string>& keys);
  /// The keys of `file` and, while a rotation is unfinished, of `file`.old. A missing `file` is
  /// created (0600; a missing folder 0700) with a new random key when `create`. A key file that
  /// is not a regular file of exactly kKeyBytes, or is open to group or others, is an error.
  static core::Result<SecretBox> load(const std::filesystem::path& file, bool create = true);

  bool has_key() const { return !keys_.empty(); }
  /// The id of the key seal uses ("" without keys), and of every key held, newest first.
  std::string key_id() const { return keys_.empty() ? std::string() : keys_.front().id; }
  std::vector<std::string> key_ids() const;
  /// `plain` sealed under the newest key ("" for "").
  core::Result<std::string> seal(std::string_view plain) const;
  /// The plain text of a sealed value ("" for ""); `what` names the value (table.column of
  /// which row) in the error when its key is not held, it was altered or is malformed. A value
  /// without the sealed prefix is plain text stored before sealing and is returned as it is
  /// (the store seals such values at start).
  core::Result<std::string> open(std::string_view sealed, std::string_view what) const;
  /// A channel or outbox target: sealed when `kind`'s target is a secret, else as it is.
  core::Result<std::string> seal_target(std::string_view kind, std::string_view target) const;
  core::Result<std::string> open_target(std::string_view kind, std::string_view stored,
                                        std::string_view what) const;
  /// True when `stored` has the sealed form's prefix.
  static bool is_sealed(std::string_view stored) { return stored.starts_with(kPrefix); }
  /// The key id a sealed value names ("" when it is not sealed).
  static std::string key_id_of(std::string_view stored);

 private:
  struct Key {
    std::string id;
    std::array<unsigned char, kKeyBytes> bytes{};
  };
  std::vector<Key> keys_;
};

/// `<key file>.old`: the previous key while a rotation is unfinished.
std::filesystem::path old_key_file(const std::filesystem::path& file);
/// Rotation steps 1 and 2 (see above): the key file's key saved as `.old`, a new random key in
/// the key file. `.old` must not exist yet. Returns the new key's id.
core::Result<std::string> begin_key_rotation(const std::filesystem::path& file);
/// Rotation step 4: `.old` removed (no error when it is gone already).
core::Status end_key_rotation(const std::filesystem::path& file);

}  // namespace mimamori::server
