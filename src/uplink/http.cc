#include "mimamori/uplink/http.h"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <zlib.h>
#include <zstd.h>

#include <cctype>
#include <mutex>

#include "mimamori/core/hash.h"

namespace mimamori::uplink {
namespace {

using core::make_error;
using core::make_error_code;

// What the TLS verify callback compares against and what it saw.
struct Pin {
  std::string expected;   // empty: accept and record (first contact)
  std::string seen;       // seen in this request's handshake (none on a reused connection)
  std::string last_seen;  // seen in the latest handshake of this client
};

int pin_index() {
  static int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Called by OpenSSL for each certificate of the chain. The chain itself is not judged (a
// device's server usually has a self-signed certificate); the leaf must match the pin.
int verify_leaf(int /*preverify_ok*/, X509_STORE_CTX* store) {
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* pin = static_cast<Pin*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), pin_index()));
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  if (!pin || !cert) return 0;
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len <= 0) return 0;
  pin->seen = core::sha256_hex({reinterpret_cast<const char*>(der), static_cast<size_t>(len)});
  OPENSSL_free(der);
  if (!pin->expected.empty() && pin->seen != pin->expected) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  return 1;
}

CURLcode setup_ssl_ctx(CURL*, void* ssl_ctx, void* user) {
  auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  SSL_CTX_set_ex_data(ctx, pin_index(), user);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_leaf);
  return CURLE_OK;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* resp = static_cast<HttpResponse*>(user);
  std::string_view line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name;
    for (char c : line.substr(0, colon)) name += static_cast<char>(std::tolower(c));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    if (name == "retry-after") resp->retry_after = value;
    if (name == "etag") resp->etag = value;
  }
  return size * n;
}

}  // namespace

struct HttpsClient::Impl {
  CURL* curl = nullptr;
  Pin pin;
  long timeout_s = 30;
};

HttpsClient::HttpsClient(std::string fingerprint, long timeout_s) : impl_(new Impl) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  impl_->pin.expected = std::move(fingerprint);
  impl_->timeout_s = timeout_s;
  impl_->curl = curl_easy_init();
}

HttpsClient::~HttpsClient() {
  if (impl_->curl) curl_easy_cleanup(impl_->curl);
}

core::Result<HttpResponse> HttpsClient::request(std::string_view method, const std::string& url,
                                                const std::vector<std::string>& headers,
                                                std::string_view body) {
  CURL* c = impl_->curl;
  if (!c) return make_error("https: libcurl could not be initialised");
  if (!url.starts_with("https://"))
    return make_error("https: '{}' is not an https:// address; the device speaks only HTTPS", url);
  curl_easy_reset(c);
  HttpResponse resp;
  std::string method_s(method);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method_s.c_str());
  if (method != "GET") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, impl_->timeout_s);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "mimamori-uplink/0.1.0");
  // Trust comes from the pin, not from a CA: curl's own chain check is off, ours is on.
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, setup_ssl_ctx);
  curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, &impl_->pin);
  // A resumed TLS session skips certificate verification: never resume.
  curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE, 0L);
  impl_->pin.seen.clear();
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(list);
  if (rc != CURLE_OK) {
    if (!impl_->pin.expected.empty() && !impl_->pin.seen.empty() &&
        impl_->pin.seen != impl_->pin.expected) {
      return make_error_code(
          -1,
          "https: {}: the server's certificate fingerprint is {}, but {} is pinned; refusing "
          "to talk to it (re-enroll if the server's certificate was replaced)",
          url, impl_->pin.seen, impl_->pin.expected);
    }
    return make_error("https: {} {}: {}", method, url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  // A reused keep-alive connection has no handshake: it still talks to the certificate seen last.
  if (!impl_->pin.seen.empty()) impl_->pin.last_seen = impl_->pin.seen;
  resp.fingerprint = !impl_->pin.last_seen.empty() ? impl_->pin.last_seen : impl_->pin.expected;
  return resp;
}

core::Result<std::string> normalize_fingerprint(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ':' || c == ' ') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      return make_error("fingerprint '{}': '{}' is not a hex digit", text, c);
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (out.size() != 64)
    return make_error("fingerprint '{}': expected 64 hex digits (SHA-256), got {}", text,
                      out.size());
  return out;
}

std::string_view encoding_name(Compression method) {
  switch (method) {
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
    case Compression::kNone:
      break;
  }
  return {};
}

core::Result<std::string> compress(std::string_view data, Compression method) {
  if (method == Compression::kNone) return std::string(data);
  if (method == Compression::kZstd) {
    std::string out(ZSTD_compressBound(data.size()), '\0');
    size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
    if (ZSTD_isError(n)) return make_error("zstd: {}", ZSTD_getErrorName(n));
    out.resize(n);
    return out;
  }
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return make_error("gzip: deflateInit2 failed");
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return make_error("gzip: deflate failed ({})", rc);
  out.resize(z.total_out);
  return out;
}

}  // namespace mimamori::uplink
