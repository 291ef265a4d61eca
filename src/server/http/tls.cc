// Certificates: a self-signed P-256 certificate made on first start (so that a fresh install
// speaks HTTPS at once) and the fingerprint devices pin at enrollment.

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "mimamori/core/hash.h"
#include "mimamori/server/server.h"

namespace mimamori::server {
namespace {

struct FileCloser {
  void operator()(FILE* f) const {
    if (f) std::fclose(f);
  }
};
using File = std::unique_ptr<FILE, FileCloser>;

// Opens `path` for writing, truncated, mode 0600 whatever the umask or the mode of a file
// already there.
FILE* open_private(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return nullptr;
  if (::fchmod(fd, 0600) != 0) {
    ::close(fd);
    return nullptr;
  }
  FILE* f = fdopen(fd, "w");
  if (!f) ::close(fd);
  return f;
}

}  // namespace

core::Status ensure_self_signed(const std::string& cert, const std::string& key) {
  if (std::filesystem::exists(cert)) return {};
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  if (!pkey) return core::make_error("tls: cannot generate a P-256 key");
  X509* x = X509_new();
  std::unique_ptr<X509, decltype(&X509_free)> xg(x, X509_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> kg(pkey, EVP_PKEY_free);
  X509_set_version(x, 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7F;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600);
  X509_set_pubkey(x, pkey);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("mimamori-server"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name,
                                                "DNS:localhost,IP:127.0.0.1,IP:::1")) {
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(x, pkey, EVP_sha256()) == 0) return core::make_error("tls: signing failed");
  std::filesystem::create_directories(std::filesystem::path(cert).parent_path());
  {
    File f(open_private(key));
    if (!f || !PEM_write_PrivateKey(f.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr)) {
      return core::make_error("tls: cannot write key {}: {}", key, std::strerror(errno));
    }
  }
  File f(open_private(cert));
  if (!f || !PEM_write_X509(f.get(), x)) {
    return core::make_error("tls: cannot write certificate {}: {}", cert, std::strerror(errno));
  }
  return {};
}

core::Result<std::string> certificate_fingerprint(const std::string& cert_file) {
  File f(std::fopen(cert_file.c_str(), "r"));
  if (!f) {
    return core::make_error("tls: cannot read certificate {}: {}", cert_file, std::strerror(errno));
  }
  X509* x = PEM_read_X509(f.get(), nullptr, nullptr, nullptr);
  if (!x) return core::make_error("tls: {} holds no PEM certificate", cert_file);
  unsigned char* der = nullptr;
  int len = i2d_X509(x, &der);
  X509_free(x);
  if (len <= 0) return core::make_error("tls: cannot encode {} as DER", cert_file);
  std::string out =
      core::sha256_hex(std::string_view(reinterpret_cast<char*>(der), static_cast<size_t>(len)));
  OPENSSL_free(der);
  return out;
}

}  // namespace mimamori::server
