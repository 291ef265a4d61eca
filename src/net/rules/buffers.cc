#include "mimamori/net/rules/buffers.h"

#include <array>

namespace mimamori::net::rules {

namespace {

struct BufferInfo {
  std::string_view name;
  BufferSide side;
  std::string_view protocol;
};

// Indexed by BufferId; the static_assert below keeps the table and the enum in step.
constexpr std::array<BufferInfo, kBufferCount> kInfo{{
    {"pkt_data", BufferSide::kEither, ""},
    {"http.uri", BufferSide::kToServer, "http"},
    {"http.uri.raw", BufferSide::kToServer, "http"},
    {"http.method", BufferSide::kToServer, "http"},
    {"http.host", BufferSide::kToServer, "http"},
    {"http.host.raw", BufferSide::kToServer, "http"},
    {"http.user_agent", BufferSide::kToServer, "http"},
    {"http.header", BufferSide::kEither, "http"},
    {"http.header.raw", BufferSide::kEither, "http"},
    {"http.header_names", BufferSide::kEither, "http"},
    {"http.cookie", BufferSide::kEither, "http"},
    {"http.request_body", BufferSide::kToServer, "http"},
    {"http.response_body", BufferSide::kToClient, "http"},
    {"http.stat_code", BufferSide::kToClient, "http"},
    {"http.stat_msg", BufferSide::kToClient, "http"},
    {"http.content_type", BufferSide::kEither, "http"},
    {"http.content_len", BufferSide::kEither, "http"},
    {"http.referer", BufferSide::kToServer, "http"},
    {"http.request_line", BufferSide::kToServer, "http"},
    {"http.response_line", BufferSide::kToClient, "http"},
    {"http.start", BufferSide::kEither, "http"},
    {"http.location", BufferSide::kToClient, "http"},
    {"http.server", BufferSide::kToClient, "http"},
    {"http.accept", BufferSide::kToServer, "http"},
    {"http.accept_enc", BufferSide::kToServer, "http"},
    {"http.accept_lang", BufferSide::kToServer, "http"},
    {"http.connection", BufferSide::kEither, "http"},
    {"http.protocol", BufferSide::kEither, "http"},
    {"file.data", BufferSide::kEither, ""},
    {"dns.query", BufferSide::kToServer, "dns"},
    {"tls.sni", BufferSide::kToServer, "tls"},
    {"tls.cert_subject", BufferSide::kEither, "tls"},
    {"tls.cert_issuer", BufferSide::kEither, "tls"},
    {"tls.cert_serial", BufferSide::kEither, "tls"},
    {"tls.cert_fingerprint", BufferSide::kEither, "tls"},
    {"tls.certs", BufferSide::kEither, "tls"},
    {"ja3.hash", BufferSide::kToServer, "tls"},
    {"ja3.string", BufferSide::kToServer, "tls"},
    {"ja3s.hash", BufferSide::kToClient, "tls"},
    {"ja3s.string", BufferSide::kToClient, "tls"},
    {"ja4.hash", BufferSide::kToServer, "tls"},
    {"ssh.proto", BufferSide::kEither, "ssh"},
    {"ssh.software", BufferSide::kEither, "ssh"},
}};

}  // namespace

static_assert(kInfo.size() == kBufferCount);

std::string_view buffer_name(BufferId id) { return kInfo[static_cast<size_t>(id)].name; }
BufferSide buffer_side(BufferId id) { return kInfo[static_cast<size_t>(id)].side; }
std::string_view buffer_protocol(BufferId id) { return kInfo[static_cast<size_t>(id)].protocol; }
bool buffer_is_multi(BufferId id) { return id == BufferId::kTlsCerts; }

}  // namespace mimamori::net::rules
