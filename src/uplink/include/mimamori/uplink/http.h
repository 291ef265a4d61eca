#pragma once
/// HttpsClient: the device's HTTPS client, on core::HttpClient (libcurl, so HTTPS_PROXY works),
/// that pins the server's leaf certificate by its SHA-256 fingerprint instead of trusting a CA.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mimamori/core/result.h"

namespace mimamori::uplink {

/// One HTTP answer.
struct HttpResponse {
  long status = 0;
  std::string body;
  std::string retry_after;  ///< the Retry-After header, if any
  std::string etag;         ///< the ETag header, if any
  std::string fingerprint;  ///< SHA-256 (hex) of the server's leaf certificate as seen
};

/// A keep-alive HTTPS connection to one server, pinned to one certificate fingerprint.
class HttpsClient {
 public:
  /// `fingerprint`: 64 hex digits to pin; empty trusts the first certificate seen (enrollment).
  explicit HttpsClient(std::string fingerprint, long timeout_s = 30);
  ~HttpsClient();
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  /// Sends one request. A transport failure (refused, timeout, pin mismatch) is an Error;
  /// any HTTP status is a response.
  core::Result<HttpResponse> request(std::string_view method, const std::string& url,
                                     const std::vector<std::string>& headers,
                                     std::string_view body);

  struct Impl;  ///< the core HTTP client (private to http.cc)

 private:
  std::unique_ptr<Impl> impl_;
};

/// Normalises a fingerprint given by a person (`AB:CD:…` or hex, any case) to 64 lowercase
/// hex digits; an error says why it is not one.
core::Result<std::string> normalize_fingerprint(std::string_view text);

/// Compression of ingest bodies.
enum class Compression : uint8_t { kNone, kGzip, kZstd };

/// `data` compressed with `method` (kNone: unchanged).
core::Result<std::string> compress(std::string_view data, Compression method);

/// The Content-Encoding name of `method` (empty for kNone).
std::string_view encoding_name(Compression method);

}  // namespace mimamori::uplink
