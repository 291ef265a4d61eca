// Secrets: libsodium for randomness and Argon2id, OpenSSL for the HMACs of TOTP and webhooks.

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

}  // namespace mimamori::server
