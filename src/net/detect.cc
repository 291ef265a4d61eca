#include "mimamori/net/detect.h"

#include <array>

namespace mimamori::net {
namespace {

struct BufferInfo {
  std::string_view name;
  AppProto proto;
};

// Indexed by Buffer; the static_assert below keeps it in step with the enum.
constexpr std::array<BufferInfo, static_cast<std::size_t>(Buffer::kCount)> kBuffers = {{
    {"http.uri", AppProto::kHttp},
    {"http.uri.raw", AppProto::kHttp},
    {"http.method", AppProto::kHttp},
    {"http.host", AppProto::kHttp},
    {"http.host.raw", AppProto::kHttp},
    {"http.user_agent", AppProto::kHttp},
    {"http.header", AppProto::kHttp},
    {"http.header.raw", AppProto::kHttp},
    {"http.header_names", AppProto::kHttp},
    {"http.cookie", AppProto::kHttp},
    {"http.request_body", AppProto::kHttp},
    {"http.response_body", AppProto::kHttp},
    {"http.stat_code", AppProto::kHttp},
    {"http.stat_msg", AppProto::kHttp},
    {"http.content_type", AppProto::kHttp},
    {"http.content_len", AppProto::kHttp},
    {"http.referer", AppProto::kHttp},
    {"http.request_line", AppProto::kHttp},
    {"http.response_line", AppProto::kHttp},
    {"http.start", AppProto::kHttp},
    {"http.location", AppProto::kHttp},
    {"http.server", AppProto::kHttp},
    {"http.accept", AppProto::kHttp},
    {"http.accept_enc", AppProto::kHttp},
    {"http.accept_lang", AppProto::kHttp},
    {"http.connection", AppProto::kHttp},
    {"http.protocol", AppProto::kHttp},
    {"file.data", AppProto::kUnknown},
    {"dns.query", AppProto::kDns},
    {"tls.sni", AppProto::kTls},
    {"tls.cert_subject", AppProto::kTls},
    {"tls.cert_issuer", AppProto::kTls},
    {"tls.cert_serial", AppProto::kTls},
    {"tls.certs", AppProto::kTls},
    {"tls.version", AppProto::kTls},
    {"ja3.hash", AppProto::kTls},
    {"ja3.string", AppProto::kTls},
    {"ja3s.hash", AppProto::kTls},
    {"ja4.hash", AppProto::kTls},
    {"ssh.proto", AppProto::kSsh},
    {"ssh.software", AppProto::kSsh},
    {"tls.cert_fingerprint", AppProto::kTls},
    {"ja3s.string", AppProto::kTls},
}};
static_assert(kBuffers.size() == static_cast<std::size_t>(Buffer::kCount));

}  // namespace

std::string_view buffer_name(Buffer b) {
  auto i = static_cast<std::size_t>(b);
  return i < kBuffers.size() ? kBuffers[i].name : std::string_view{};
}

std::optional<Buffer> buffer_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kBuffers.size(); ++i)
    if (kBuffers[i].name == name) return static_cast<Buffer>(i);
  return std::nullopt;
}

AppProto buffer_app_proto(Buffer b) {
  auto i = static_cast<std::size_t>(b);
  return i < kBuffers.size() ? kBuffers[i].proto : AppProto::kUnknown;
}

}  // namespace mimamori::net
