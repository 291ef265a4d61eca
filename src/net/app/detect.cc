// Protocol detection by content: the first bytes of a TCP direction tell HTTP, TLS, SSH or
// DNS apart, or say that more bytes are needed.

#include <algorithm>

#include "app/app.h"
#include "bytes.h"

namespace mimamori::net {

AppProto detect_tcp_proto(Direction dir, std::string_view d, bool& give_up) {
  give_up = false;
  if (d.empty()) return AppProto::kUnknown;
  // TLS: handshake record of SSLv3/TLS.
  if (d.size() >= 3 && uint8_t(d[0]) == 0x16 && uint8_t(d[1]) == 3 && uint8_t(d[2]) <= 4)
    return AppProto::kTls;
  if (d.size() >= 4 && d.substr(0, 4) == "SSH-") return AppProto::kSsh;
  if (dir == Direction::kToClient && d.size() >= 5 && d.substr(0, 5) == "HTTP/")
    return AppProto::kHttp;
  static constexpr std::string_view kMethods[] = {
      "GET ",   "POST ",   "HEAD ",     "PUT ",       "DELETE ",    "OPTIONS ", "CONNECT ",
      "TRACE ", "PATCH ",  "PROPFIND ", "PROPPATCH ", "MKCOL ",     "COPY ",    "MOVE ",
      "LOCK ",  "UNLOCK ", "SEARCH ",   "REPORT ",    "SUBSCRIBE ", "NOTIFY ",  "M-SEARCH "};
  if (dir == Direction::kToServer) {
    for (auto m : kMethods) {
      if (d.size() >= m.size() && d.substr(0, m.size()) == m) return AppProto::kHttp;
    }
  }
  // DNS over TCP: a length prefix that frames a well-formed message.
  if (d.size() >= 14) {
    std::size_t len = load_be16(d.data());
    if (len >= 12 && len + 2 <= d.size() && looks_like_dns(d.substr(2, len))) return AppProto::kDns;
  }
  // Still ambiguous while a method or banner could be cut short.
  if (d.size() < 10) {
    for (auto m : kMethods)
      if (m.substr(0, d.size()) == d) return AppProto::kUnknown;
    if (std::string_view("SSH-").substr(0, std::min<std::size_t>(4, d.size())) ==
        d.substr(0, std::min<std::size_t>(4, d.size())))
      return AppProto::kUnknown;
    if (std::string_view("HTTP/").substr(0, std::min<std::size_t>(5, d.size())) ==
        d.substr(0, std::min<std::size_t>(5, d.size())))
      return AppProto::kUnknown;
  }
  give_up = true;
  return AppProto::kUnknown;
}

}  // namespace mimamori::net
