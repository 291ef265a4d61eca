#include "mimamori/uplink/http.h"

#include <zlib.h>
#include <zstd.h>

#include <cctype>

#ifndef _WIN32
#include "mimamori/core/http_client.h"
#endif

namespace mimamori::uplink {

using core::make_error;

#ifndef _WIN32  // Windows: http_winhttp.cc

// The device speaks only HTTPS, trusting the server by the pin of its leaf certificate.
struct HttpsClient::Impl {
  explicit Impl(core::HttpClientOptions o) : client(std::move(o)) {}
  core::HttpClient client;
};

namespace {

core::HttpClientOptions pinned(std::string fingerprint, long timeout_s) {
  core::HttpClientOptions o;
  o.protocols = "https";
  o.connect_timeout_s = 10;
  o.timeout_s = timeout_s;
  o.user_agent = "mimamori-uplink/0.1.0";
  o.pin_leaf = true;
  o.pin = std::move(fingerprint);
  return o;
}

}  // namespace

HttpsClient::HttpsClient(std::string fingerprint, long timeout_s)
    : impl_(std::make_unique<Impl>(pinned(std::move(fingerprint), timeout_s))) {}

HttpsClient::~HttpsClient() = default;

core::Result<HttpResponse> HttpsClient::request(std::string_view method, const std::string& url,
                                                const std::vector<std::string>& headers,
                                                std::string_view body) {
  if (!url.starts_with("https://"))
    return make_error("https: '{}' is not an https:// address; the device speaks only HTTPS",
                      core::redact_url(url));
  core::HttpRequest req{std::string(method), url, headers, body};
  auto r = impl_->client.send(req);
  if (!r) {
    core::Error e = std::move(r).error();
    if (e.code == static_cast<int>(core::HttpErrorCode::kPinMismatch))
      return core::Error{std::move(e.message), -1};
    return core::Error{"https: " + e.message, 0};
  }
  HttpResponse resp;
  resp.status = r->status;
  resp.retry_after = r->header("retry-after");
  resp.etag = r->header("etag");
  resp.fingerprint = std::move(r->fingerprint);
  resp.body = std::move(r->body);
  return resp;
}

#endif  // _WIN32

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
