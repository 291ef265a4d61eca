// Secrets: libsodium for randomness, Argon2id and the secretbox of secrets at rest, OpenSSL for
// the HMACs of TOTP and webhooks.

#include "secrets.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "mimamori/core/hash.h"
#include "mimamori/core/log.h"
#include "mimamori/core/text.h"

namespace mimamori::server {
namespace {

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

void ensure_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) MIMAMORI_ASSERT(false, "libsodium failed to initialise");
  });
}

std::string base32_decode(std::string_view in) {
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (char ch : in) {
    char c = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    const char* p = std::strchr(kBase32, c);
    if (c == '=' || c == ' ' || !p || c == 0) continue;
    buf = (buf << 5) | static_cast<uint32_t>(p - kBase32);
    bits += 5;
    if (bits >= 8) {
      out += static_cast<char>((buf >> (bits - 8)) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

}  // namespace

std::string random_id(std::string_view prefix) {
  ensure_sodium();
  std::array<unsigned char, 8> b{};
  randombytes_buf(b.data(), b.size());
  return std::string(prefix) + "_" +
         core::to_hex(std::string_view(reinterpret_cast<char*>(b.data()), b.size()));
}

std::string random_secret() {
  ensure_sodium();
  std::array<unsigned char, 32> b{};
  randombytes_buf(b.data(), b.size());
  std::string out(sodium_base64_ENCODED_LEN(b.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), b.data(), b.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::string secret_hash(std::string_view secret) { return core::sha256_hex(secret); }

bool equal_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_enrollment_code() {
  ensure_sodium();
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == 4) out += '-';
    out += kCrockford[randombytes_uniform(32)];
  }
  return out;
}

std::string normalize_enrollment_code(std::string_view typed) {
  std::string out;
  for (char ch : typed) {
    if (ch == '-' || ch == ' ') continue;
    char c = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (c == 'O') c = '0';
    if (c == 'I' || c == 'L') c = '1';
    out += c;
  }
  return out;
}

core::Result<std::string> hash_password(std::string_view password) {
  ensure_sodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return core::make_error_code(500, "password hashing ran out of memory");
  }
  return std::string(out);
}

bool verify_password(std::string_view stored, std::string_view password) {
  ensure_sodium();
  std::string s(stored);
  return crypto_pwhash_str_verify(s.c_str(), password.data(), password.size()) == 0;
}

std::string random_totp_secret() {
  ensure_sodium();
  std::array<unsigned char, 20> b{};
  randombytes_buf(b.data(), b.size());
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (unsigned char c : b) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out += kBase32[(buf >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kBase32[(buf << (5 - bits)) & 31];
  return out;
}

std::string totp_code(std::string_view base32_secret, int64_t unix_s) {
  std::string key = base32_decode(base32_secret);
  uint64_t step = static_cast<uint64_t>(unix_s / 30);
  unsigned char msg[8];
  for (int i = 7; i >= 0; --i) {
    msg[i] = static_cast<unsigned char>(step & 0xFF);
    step >>= 8;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), msg, sizeof msg, md, &len);
  int off = md[len - 1] & 0x0F;
  uint32_t bin = ((md[off] & 0x7Fu) << 24) | (md[off + 1] << 16) | (md[off + 2] << 8) | md[off + 3];
  return fmt::format("{:06d}", bin % 1000000);
}

bool totp_verify(std::string_view base32_secret, std::string_view code, int64_t unix_s) {
  return totp_step(base32_secret, code, unix_s, 0) != 0;
}

int64_t totp_step(std::string_view base32_secret, std::string_view code, int64_t unix_s,
                  int64_t after_step) {
  if (code.size() != 6) return 0;
  int64_t found = 0;
  for (int d = -1; d <= 1; ++d) {
    int64_t step = unix_s / 30 + d;
    bool match = equal_secret(totp_code(base32_secret, step * 30), code);
    if (match && step > after_step) found = step;
  }
  return found;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return core::to_hex(std::string_view(reinterpret_cast<char*>(md), len));
}

core::Status ensure_private_dir(const std::filesystem::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return core::make_error("cannot read data folder {}: {}", dir.string(), std::strerror(errno));
    }
    std::error_code ec;
    if (dir.has_parent_path()) std::filesystem::create_directories(dir.parent_path(), ec);
    if (ec || (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)) {
      return core::make_error("cannot create data folder {}: {}", dir.string(),
                              ec ? ec.message() : std::strerror(errno));
    }
    // mkdir's mode passes through the umask; chmod does not.
    if (::chmod(dir.c_str(), 0700) != 0) {
      return core::make_error("cannot set the mode of data folder {}: {}", dir.string(),
                              std::strerror(errno));
    }
    return {};
  }
  if (!S_ISDIR(st.st_mode)) return core::make_error("data folder {} is not a folder", dir.string());
  if ((st.st_mode & 077) == 0) return {};
  if (st.st_mode & S_ISVTX) {
    spdlog::warn("data folder {} is shared (mode {:04o}): give the server a folder of its own",
                 dir.string(), st.st_mode & 07777);
    return {};
  }
  spdlog::warn("data folder {} was open to other users (mode {:04o}): set to 0700", dir.string(),
               st.st_mode & 07777);
  if (::chmod(dir.c_str(), 0700) != 0) {
    spdlog::warn("cannot set data folder {} to 0700: {}", dir.string(), std::strerror(errno));
  }
  return {};
}

core::Status ensure_private_file(const std::filesystem::path& file, bool create) {
  if (create) {
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      // open's mode passes through the umask; fchmod does not.
      int rc = ::fchmod(fd, 0600);
      int err = errno;
      ::close(fd);
      if (rc != 0) {
        return core::make_error("cannot set the mode of {}: {}", file.string(), std::strerror(err));
      }
      return {};
    }
    if (errno != EEXIST) {
      return core::make_error("cannot create {}: {}", file.string(), std::strerror(errno));
    }
  }
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    if (errno == ENOENT && !create) return {};
    return core::make_error("cannot read {}: {}", file.string(), std::strerror(errno));
  }
  if ((st.st_mode & 077) == 0) return {};
  spdlog::warn("{} was readable by other users (mode {:04o}): set to 0600", file.string(),
               st.st_mode & 07777);
  if (::chmod(file.c_str(), 0600) != 0) {
    return core::make_error("cannot set {} to 0600: {}", file.string(), std::strerror(errno));
  }
  return {};
}

// --- secrets at rest ------------------------------------------------------------------------

namespace {

std::string key_id_of_bytes(const unsigned char* key) {
  return core::sha256_hex(
             std::string_view(reinterpret_cast<const char*>(key), SecretBox::kKeyBytes))
      .substr(0, 8);
}

core::Status fsync_dir(const std::filesystem::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return core::make_error("cannot open {}: {}", dir.string(), std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return core::make_error("cannot sync {}: {}", dir.string(), std::strerror(err));
  return {};
}

// Writes `key` to a new file beside `file`, mode 0600 whatever the umask, synced to disk; returns
// its path.
core::Result<std::filesystem::path> write_key_aside(const std::filesystem::path& file,
                                                    const unsigned char* key) {
  std::filesystem::path tmp = file;
  tmp += fmt::format(".tmp{}", ::getpid());
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return core::make_error("cannot create {}: {}", tmp.string(), std::strerror(errno));
  bool ok = ::fchmod(fd, 0600) == 0 &&
            ::write(fd, key, SecretBox::kKeyBytes) == static_cast<ssize_t>(SecretBox::kKeyBytes) &&
            ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return core::make_error("cannot write {}: {}", tmp.string(), std::strerror(err));
  }
  return tmp;
}

// The key in `file`, which must be a regular file of kKeyBytes that only its owner may read.
core::Status read_key_file(const std::filesystem::path& file, unsigned char* key) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return core::make_error("cannot read secret key file {}: {}", file.string(),
                            std::strerror(errno));
  }
  struct stat st {};
  core::Status out;
  if (::fstat(fd, &st) != 0) {
    out =
        core::make_error("cannot read secret key file {}: {}", file.string(), std::strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    out = core::make_error("secret key file {} is not a regular file", file.string());
  } else if ((st.st_mode & 077) != 0) {
    out = core::make_error(
        "secret key file {} has mode {:04o}: other users may read it; it must be 0600 (chmod 600 "
        "{})",
        file.string(), st.st_mode & 07777, file.string());
  } else if (st.st_size != static_cast<off_t>(SecretBox::kKeyBytes)) {
    out = core::make_error(
        "secret key file {} holds {} bytes, not a key: a key file is exactly {} random bytes "
        "(a missing one is made at start)",
        file.string(), st.st_size, SecretBox::kKeyBytes);
  } else if (::read(fd, key, SecretBox::kKeyBytes) != static_cast<ssize_t>(SecretBox::kKeyBytes)) {
    out =
        core::make_error("cannot read secret key file {}: {}", file.string(), std::strerror(errno));
  }
  ::close(fd);
  return out;
}

bool file_exists(const std::filesystem::path& file) {
  struct stat st {};
  return ::lstat(file.c_str(), &st) == 0;
}

}  // namespace

bool target_is_secret(std::string_view kind) {
  for (auto k : kSecretTargetKinds) {
    if (k == kind) return true;
  }
  return false;
}

SecretBox::SecretBox(const std::vector<std::string>& keys) {
  for (const auto& k : keys) {
    MIMAMORI_ASSERT(k.size() == kKeyBytes, "a secret key is 32 bytes");
    Key key;
    std::memcpy(key.bytes.data(), k.data(), kKeyBytes);
    key.id = key_id_of_bytes(key.bytes.data());
    keys_.push_back(std::move(key));
  }
}

core::Result<SecretBox> SecretBox::load(const std::filesystem::path& file, bool create) {
  ensure_sodium();
  SecretBox box;
  Key key;
  if (!file_exists(file)) {
    if (!create) return core::make_error("secret key file {} does not exist", file.string());
    // A missing folder is made private; an existing one is the administrator's choice.
    if (file.has_parent_path() && !file_exists(file.parent_path())) {
      if (auto st = ensure_private_dir(file.parent_path()); !st.ok()) return st.error();
    }
    randombytes_buf(key.bytes.data(), kKeyBytes);
    auto tmp = write_key_aside(file, key.bytes.data());
    if (!tmp.ok()) return tmp.error();
    // link, not rename: of two processes making the key at once, the second one keeps the first
    // one's key instead of replacing it.
    const bool made = ::link(tmp->c_str(), file.c_str()) == 0;
    const int err = errno;
    ::unlink(tmp->c_str());
    if (!made && err != EEXIST) {
      return core::make_error("cannot create secret key file {}: {}", file.string(),
                              std::strerror(err));
    }
    if (made) {
      if (auto st = fsync_dir(file.parent_path()); !st.ok()) return st.error();
      spdlog::info("secret key file {} created: keep a copy of it with the database's backups",
                   file.string());
    }
  }
  if (auto st = read_key_file(file, key.bytes.data()); !st.ok()) return st.error();
  key.id = key_id_of_bytes(key.bytes.data());
  box.keys_.push_back(key);
  const auto old = old_key_file(file);
  if (file_exists(old)) {
    Key prev;
    if (auto st = read_key_file(old, prev.bytes.data()); !st.ok()) return st.error();
    prev.id = key_id_of_bytes(prev.bytes.data());
    if (prev.id != key.id) box.keys_.push_back(prev);
  }
  sodium_memzero(key.bytes.data(), kKeyBytes);
  return box;
}

std::vector<std::string> SecretBox::key_ids() const {
  std::vector<std::string> out;
  for (const auto& k : keys_) out.push_back(k.id);
  return out;
}

core::Result<std::string> SecretBox::seal(std::string_view plain) const {
  if (plain.empty()) return std::string();
  if (keys_.empty()) {
    return core::make_error(
        "no secret key is loaded (server.secret_key_file): secrets cannot be "
        "stored");
  }
  ensure_sodium();
  std::string buf(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size(), '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(buf.data());
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plain.data()), plain.size(), nonce,
                        keys_.front().bytes.data());
  return fmt::format("{}{}:{}", kPrefix, keys_.front().id, core::base64(buf));
}

std::string SecretBox::key_id_of(std::string_view stored) {
  if (!is_sealed(stored)) return {};
  stored.remove_prefix(kPrefix.size());
  auto colon = stored.find(':');
  return colon == std::string_view::npos ? std::string() : std::string(stored.substr(0, colon));
}

core::Result<std::string> SecretBox::open(std::string_view sealed, std::string_view what) const {
  if (sealed.empty()) return std::string();
  // Plain text stored before sealing (by an older version, or written by hand): as it is; the
  // next start seals it.
  if (!is_sealed(sealed)) return std::string(sealed);
  std::string_view rest = sealed.substr(kPrefix.size());
  auto colon = rest.find(':');
  if (colon == std::string_view::npos)
    return core::make_error("{}: a malformed sealed value", what);
  std::string_view id = rest.substr(0, colon);
  const Key* key = nullptr;
  for (const auto& k : keys_) {
    if (k.id == id) key = &k;
  }
  if (!key) {
    std::string held;
    for (const auto& k : keys_) {
      if (!held.empty()) held += ", ";
      held += k.id;
    }
    return core::make_error(
        "{}: sealed under key {}, which the secret key file does not hold (it holds {}): the "
        "database was copied or restored without its key file",
        what, id, held.empty() ? "none" : held);
  }
  auto bytes = core::base64_decode(rest.substr(colon + 1));
  if (!bytes || bytes->size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return core::make_error("{}: a malformed sealed value", what);
  }
  ensure_sodium();
  const auto* nonce = reinterpret_cast<const unsigned char*>(bytes->data());
  const auto* box = nonce + crypto_secretbox_NONCEBYTES;
  const size_t box_len = bytes->size() - crypto_secretbox_NONCEBYTES;
  std::string plain(box_len - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()), box, box_len,
                                 nonce, key->bytes.data()) != 0) {
    return core::make_error("{}: does not open under key {} (altered in the database?)", what, id);
  }
  return plain;
}

core::Result<std::string> SecretBox::seal_target(std::string_view kind,
                                                 std::string_view target) const {
  if (!target_is_secret(kind)) return std::string(target);
  return seal(target);
}

core::Result<std::string> SecretBox::open_target(std::string_view kind, std::string_view stored,
                                                 std::string_view what) const {
  if (!target_is_secret(kind)) return std::string(stored);
  return open(stored, what);
}

std::filesystem::path old_key_file(const std::filesystem::path& file) {
  std::filesystem::path old = file;
  old += ".old";
  return old;
}

core::Result<std::string> begin_key_rotation(const std::filesystem::path& file) {
  ensure_sodium();
  const auto old = old_key_file(file);
  if (file_exists(old)) {
    return core::make_error("{} exists: the rotation before this one is unfinished", old.string());
  }
  std::array<unsigned char, SecretBox::kKeyBytes> cur{}, next{};
  if (auto st = read_key_file(file, cur.data()); !st.ok()) return st.error();
  // 1: the current key as .old (written aside, synced, renamed), so that it outlives step 2.
  auto tmp = write_key_aside(old, cur.data());
  sodium_memzero(cur.data(), cur.size());
  if (!tmp.ok()) return tmp.error();
  if (::rename(tmp->c_str(), old.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp->c_str());
    return core::make_error("cannot create {}: {}", old.string(), std::strerror(err));
  }
  if (auto st = fsync_dir(file.parent_path()); !st.ok()) return st.error();
  // 2: the new key replaces the key file.
  randombytes_buf(next.data(), next.size());
  tmp = write_key_aside(file, next.data());
  std::string id = key_id_of_bytes(next.data());
  sodium_memzero(next.data(), next.size());
  if (!tmp.ok()) return tmp.error();
  if (::rename(tmp->c_str(), file.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp->c_str());
    return core::make_error("cannot replace {}: {}", file.string(), std::strerror(err));
  }
  if (auto st = fsync_dir(file.parent_path()); !st.ok()) return st.error();
  return id;
}

core::Status end_key_rotation(const std::filesystem::path& file) {
  const auto old = old_key_file(file);
  if (::unlink(old.c_str()) != 0 && errno != ENOENT) {
    return core::make_error("cannot remove {}: {}", old.string(), std::strerror(errno));
  }
  return fsync_dir(file.parent_path());
}

}  // namespace mimamori::server
