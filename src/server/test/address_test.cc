// E-mail addresses (RFC 5321 mailbox syntax and limits) and RFC 2047 header text: the checks
// that keep a stored or configured value from adding SMTP commands or mail headers.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mail_address.h"

namespace mimamori::server::testing {
namespace {

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    out += u < 0x20 || u == 0x7f ? fmt::format("\\x{:02x}", u) : std::string(1, c);
  }
  return out;
}

TEST(MailboxAddress, AcceptsRfc5321Mailboxes) {
  const std::string label63(63, 'a');
  std::vector<std::string> good = {
      "owner@example.jp",
      "soc.desk+alerts@mail.a-b.example.co.jp",
      "mimamori@localhost",
      "!#$%&'*+-/=?^_`{|}~@example.jp",
      "\"soc desk\"@example.jp",
      "\"a\\\"b@c\"@example.jp",
      "\"a..b\"@example.jp",
      "soc@[192.0.2.25]",
      "soc@[IPv6:2001:db8::1]",
      "x@" + label63 + "." + label63 + ".example",
      std::string(64, 'l') + "@example.jp",
  };
  // Exactly 254 octets: a 64-octet local part and a domain of 189.
  std::string whole = std::string(64, 'l') + "@" + label63 + "." + label63 + "." +
                      std::string(189 - 63 - 63 - 2, 'd');
  ASSERT_EQ(whole.size(), 254u);
  good.push_back(whole);
  for (const auto& a : good) {
    auto st = check_mailbox(a);
    EXPECT_TRUE(st.ok()) << a << ": " << (st.ok() ? "" : st.error().message);
  }
}

TEST(MailboxAddress, RefusesControlCharactersAndMalformedForms) {
  const std::string label63(63, 'a');
  std::string too_long = std::string(64, 'l') + "@" + label63 + "." + label63 + "." +
                         std::string(190 - 63 - 63 - 2, 'd');
  ASSERT_EQ(too_long.size(), 255u);
  const std::vector<std::string> bad = {
      "a@b.example\r\nRCPT TO:<x@evil.example>",
      "a@b.example\r",
      "a@b.example\nBcc: x@evil.example",
      std::string("a@b.example\0", 12),
      std::string("a\0@b.example", 12),
      "a\t@b.example",
      "a\x7f@b.example",
      "\"a\r\nb\"@b.example",
      "a b@b.example",
      " a@b.example",
      "a@b.example ",
      "a@b .example",
      "owner.b.example",
      "",
      "@b.example",
      "a@",
      std::string(65, 'a') + "@b.example",
      too_long,
      "a@b.example.",
      "a.@b.example",
      ".a@b.example",
      "a..b@b.example",
      "a@b..example",
      "a@-b.example",
      "a@b-.example",
      "a@" + std::string(64, 'b') + ".example",
      "a@b_c.example",
      "<a@b.example>",
      "a@b.example>",
      "a@b.example, x@evil.example",
      "a@b@c.example",
      "\"a@b.example",
      "\"a\"b\"@b.example",
      "a@[300.0.0.1]",
      "a@[192.0.2]",
      "a@[IPv6:zz::1]",
      "a@[192.0.2.1",
      "ユーザー@b.example",
      "a@例え.jp",
  };
  for (const auto& a : bad) {
    auto st = check_mailbox(a);
    ASSERT_FALSE(st.ok()) << "accepted " << printable(a);
    EXPECT_EQ(st.error().code, 400);
    EXPECT_NE(st.error().message.find("not an e-mail address"), std::string::npos);
    // The reason never repeats the value, so it is safe in a log line or an outbox error.
    EXPECT_EQ(st.error().message.find('\r'), std::string::npos) << printable(a);
    EXPECT_EQ(st.error().message.find('\n'), std::string::npos) << printable(a);
  }
  EXPECT_NE(check_mailbox("a@b.example\r\nRCPT TO:<x@evil.example>")
                .error()
                .message.find("control character 0x0d at octet 12"),
            std::string::npos);
  EXPECT_NE(check_mailbox(std::string(65, 'a') + "@b.example").error().message.find("65"),
            std::string::npos);
}

// Decodes base64 (the test's own, independent of the encoder's library).
std::string unbase64(std::string_view s) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    if (c == '=') break;
    auto v = kAlphabet.find(c);
    if (v == std::string::npos) return "<bad base64>";
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

bool whole_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

TEST(HeaderText, Rfc2047EncodedWordsOfWholeCharactersAndNoLineBreaks) {
  std::string subject =
      "[見守り][critical] ランサムウェアの疑い: 192.168.5.5 から 203.0.113.5 への通信\r\nBcc: "
      "x@evil.example";
  std::string v = encode_header_text(subject);
  std::string decoded;
  size_t pos = 0;
  while (true) {
    size_t eol = v.find("\r\n ", pos);
    std::string word = v.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    ASSERT_TRUE(word.starts_with("=?UTF-8?B?") && word.ends_with("?=")) << word;
    EXPECT_LE(word.size(), 75u);
    EXPECT_EQ(word.find_first_of("\r\n"), std::string::npos);
    std::string text = unbase64(word.substr(10, word.size() - 12));
    EXPECT_TRUE(whole_utf8(text)) << word;
    decoded += text;
    if (eol == std::string::npos) break;
    pos = eol + 3;
  }
  std::string expected = subject;
  for (char& c : expected) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  EXPECT_EQ(decoded, expected);
  // Lines are folded only by CRLF and a space, nowhere else.
  for (size_t i = v.find('\n'); i != std::string::npos; i = v.find('\n', i + 1)) {
    ASSERT_GT(i, 0u);
    EXPECT_EQ(v[i - 1], '\r');
    ASSERT_LT(i + 1, v.size());
    EXPECT_EQ(v[i + 1], ' ');
  }
  // Short printable ASCII stays readable; control characters become spaces.
  EXPECT_EQ(encode_header_text("Sensor offline"), "Sensor offline");
  EXPECT_EQ(encode_header_text("a\r\nBcc: b"), "a  Bcc: b");
  // Text that would read as an encoded-word is encoded itself.
  EXPECT_TRUE(encode_header_text("=?UTF-8?B?eA==?=").starts_with("=?UTF-8?B?"));
}

}  // namespace
}  // namespace mimamori::server::testing
