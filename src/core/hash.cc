#include "mimamori/core/hash.h"

#ifdef _WIN32
#include <windows.h>
// windows.h first: bcrypt.h needs its types.
#include <bcrypt.h>
#else
#include <openssl/evp.h>
#endif

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

namespace mimamori::core {
namespace {

// One SHA-256 computation: OpenSSL's EVP on Linux, BCrypt (CNG) on Windows.
#ifdef _WIN32
class Sha256 {
 public:
  Sha256() {
    // The provider handle is shared: opening it is the costly part.
    static const BCRYPT_ALG_HANDLE alg = [] {
      BCRYPT_ALG_HANDLE h = nullptr;
      BCryptOpenAlgorithmProvider(&h, BCRYPT_SHA256_ALGORITHM, nullptr, 0);
      return h;
    }();
    BCryptCreateHash(alg, &hash_, nullptr, 0, nullptr, 0, 0);
  }
  ~Sha256() {
    if (hash_) BCryptDestroyHash(hash_);
  }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, std::size_t size) {
    auto* p = static_cast<const uint8_t*>(data);
    while (size > 0) {  // BCryptHashData takes a 32-bit length
      ULONG n = size > 0x40000000 ? 0x40000000 : static_cast<ULONG>(size);
      BCryptHashData(hash_, const_cast<PUCHAR>(p), n, 0);
      p += n;
      size -= n;
    }
  }
  std::array<uint8_t, 32> final() {
    std::array<uint8_t, 32> out{};
    BCryptFinishHash(hash_, out.data(), static_cast<ULONG>(out.size()), 0);
    return out;
  }

 private:
  BCRYPT_HASH_HANDLE hash_ = nullptr;
};
#else
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }
  void update(const void* data, std::size_t size) { EVP_DigestUpdate(ctx_.get(), data, size); }
  std::array<uint8_t, 32> final() {
    std::array<uint8_t, 32> out{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), out.data(), &len);
    return out;
  }

 private:
  struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx_;
};
#endif

}  // namespace

std::array<uint8_t, 32> sha256(std::string_view data) {
#ifdef _WIN32
  Sha256 h;
  h.update(data.data(), data.size());
  return h.final();
#else
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
#endif
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    s += kHex[c >> 4];
    s += kHex[c & 15];
  }
  return s;
}

std::string sha256_hex(std::string_view data) {
  auto d = sha256(data);
  return to_hex({reinterpret_cast<const char*>(d.data()), d.size()});
}

Result<std::string> sha256_file_hex(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("cannot read '{}': {}", path.string(), std::strerror(errno));
  Sha256 ctx;
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof buf);
    if (in.gcount() > 0) ctx.update(buf, static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return make_error("error reading '{}'", path.string());
  auto md = ctx.final();
  return to_hex({reinterpret_cast<const char*>(md.data()), md.size()});
}

}  // namespace mimamori::core
