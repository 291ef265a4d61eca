#include "store/community_id.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>

namespace mimamori::server {
namespace {

// The text of the first `"key":"…"` string value (no escapes inside), or nullopt.
std::optional<std::string_view> string_member(std::string_view rec, std::string_view pattern) {
  const size_t at = rec.find(pattern);
  if (at == std::string_view::npos) return std::nullopt;
  const size_t begin = at + pattern.size();
  const size_t end = rec.find('"', begin);
  if (end == std::string_view::npos) return std::nullopt;
  const auto v = rec.substr(begin, end - begin);
  if (v.find('\\') != std::string_view::npos) return std::nullopt;
  return v;
}

std::optional<uint16_t> port_member(std::string_view rec, std::string_view pattern) {
  const size_t at = rec.find(pattern);
  if (at == std::string_view::npos) return std::nullopt;
  const char* begin = rec.data() + at + pattern.size();
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(begin, rec.data() + rec.size(), v);
  if (ec != std::errc() || end == begin || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

}  // namespace

std::string community_id_v1(const core::IpAddress& src, const core::IpAddress& dst, uint8_t proto,
                            uint16_t src_port, uint16_t dst_port, uint16_t seed) {
  if (src.empty() || src.family() != dst.family()) return {};
  const size_t alen = src.is_v6() ? 16 : 4;
  const uint8_t* a = src.bytes().data();
  const uint8_t* b = dst.bytes().data();
  uint16_t pa = src_port, pb = dst_port;
  const int c = std::memcmp(a, b, alen);
  if (c > 0 || (c == 0 && pa > pb)) {
    std::swap(a, b);
    std::swap(pa, pb);
  }
  uint8_t buf[2 + 16 + 16 + 2 + 4];
  size_t n = 0;
  buf[n++] = static_cast<uint8_t>(seed >> 8);
  buf[n++] = static_cast<uint8_t>(seed);
  std::memcpy(buf + n, a, alen);
  n += alen;
  std::memcpy(buf + n, b, alen);
  n += alen;
  buf[n++] = proto;
  buf[n++] = 0;
  buf[n++] = static_cast<uint8_t>(pa >> 8);
  buf[n++] = static_cast<uint8_t>(pa);
  buf[n++] = static_cast<uint8_t>(pb >> 8);
  buf[n++] = static_cast<uint8_t>(pb);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (EVP_Digest(buf, n, md, &mdlen, EVP_sha1(), nullptr) != 1) return {};
  char b64[64] = "1:";
  const int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64 + 2), md, static_cast<int>(mdlen));
  return std::string(b64, static_cast<size_t>(2 + len));
}

std::string eve_community_id(std::string_view record) {
  const auto proto = string_member(record, "\"proto\":\"");
  if (!proto) return {};
  uint8_t p = 0;
  if (*proto == "TCP") {
    p = 6;
  } else if (*proto == "UDP") {
    p = 17;
  } else if (*proto == "SCTP") {
    p = 132;
  } else {
    return {};
  }
  const auto src = string_member(record, "\"src_ip\":\"");
  const auto dst = string_member(record, "\"dest_ip\":\"");
  const auto sp = port_member(record, "\"src_port\":");
  const auto dp = port_member(record, "\"dest_port\":");
  if (!src || !dst || !sp || !dp) return {};
  auto a = core::IpAddress::parse(*src);
  auto b = core::IpAddress::parse(*dst);
  if (!a.ok() || !b.ok()) return {};
  return community_id_v1(*a, *b, p, *sp, *dp);
}

}  // namespace mimamori::server
