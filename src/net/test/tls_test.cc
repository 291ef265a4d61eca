// The TLS parser on a crafted ClientHello: SNI and JA3 (GREASE values left out).

#include <gtest/gtest.h>

#include <string>

#include "app/app.h"
#include "app_sink.h"

namespace mimamori::net {
namespace {

using apptest::buffer_at;
using apptest::RecordingSink;

std::string be16(unsigned v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }
std::string be24(unsigned v) { return static_cast<char>(v >> 16) + be16(v & 0xffff); }

std::string extension(unsigned type, const std::string& body) {
  return be16(type) + be16(body.size()) + body;
}

// TLS 1.2 ClientHello: ciphers 0x1301, 0xc02f and a GREASE value (left out of JA3); SNI,
// supported groups (x25519 and GREASE), EC point formats.
std::string client_hello(const std::string& sni) {
  std::string hello = be16(0x0303) + std::string(32, '\x11') + std::string(1, '\0');
  hello += be16(6) + be16(0x0a0a) + be16(0x1301) + be16(0xc02f);
  hello += std::string("\x01\x00", 2);
  std::string name = std::string(1, '\0') + be16(sni.size()) + sni;
  std::string exts = extension(0x0000, be16(name.size()) + name);
  exts += extension(0x000a, be16(4) + be16(0x1a1a) + be16(0x001d));
  exts += extension(0x000b, std::string("\x01\x00", 2));
  hello += be16(exts.size()) + exts;
  std::string handshake = std::string(1, '\x01') + be24(hello.size()) + hello;
  return std::string("\x16\x03\x01", 3) + be16(handshake.size()) + handshake;
}

TEST(TlsParser, ClientHelloGivesSniAndJa3) {
  auto parser = make_tls_parser();
  RecordingSink sink(parser.get(), {Buffer::kTlsSni, Buffer::kJa3String, Buffer::kJa3Hash});
  bool give_up = true;
  std::string hello = client_hello("example.org");
  EXPECT_EQ(detect_tcp_proto(Direction::kToServer, hello, give_up), AppProto::kTls);
  // In two pieces: the record is reassembled before it is read.
  parser->parse(Direction::kToServer, std::string_view(hello).substr(0, 20), sink);
  EXPECT_TRUE(sink.progress_.empty());
  parser->parse(Direction::kToServer, std::string_view(hello).substr(20), sink);
  ASSERT_EQ(sink.progress_.size(), 1u);
  EXPECT_EQ(sink.progress_[0], AppProgress::kTlsClientHello);
  EXPECT_EQ(buffer_at(sink, AppProgress::kTlsClientHello, Buffer::kTlsSni), "example.org");
  EXPECT_EQ(buffer_at(sink, AppProgress::kTlsClientHello, Buffer::kJa3String),
            "771,4865-49199,0-10-11,29,0");
  EXPECT_EQ(buffer_at(sink, AppProgress::kTlsClientHello, Buffer::kJa3Hash),
            "595921e9fec93842ba4be2d9f46f3bbe");
}

}  // namespace
}  // namespace mimamori::net
