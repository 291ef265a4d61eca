// Value transformations of Sigma modifiers: windash, base64, base64offset, utf16.

#include <array>

#include "mimamori/core/text.h"
#include "rule_set_impl.h"

namespace mimamori::sigma {

std::vector<std::string> windash_forms(const std::string& value) {
  // A dash or slash that starts an option (at the start or after a space) may be written with
  // any of these; every option of a value gets the same form, as pySigma does.
  static const std::array<std::string_view, 5> kDashes = {"-", "/", "\xe2\x80\x93", "\xe2\x80\x94",
                                                          "\xe2\x80\x95"};
  std::vector<std::string> out;
  for (auto dash : kDashes) {
    std::string v;
    for (std::size_t i = 0; i < value.size(); ++i) {
      char c = value[i];
      bool option_start =
          (c == '-' || c == '/') && (i == 0 || value[i - 1] == ' ' || value[i - 1] == '*');
      if (option_start)
        v += dash;
      else
        v.push_back(c);
    }
    bool seen = false;
    for (const auto& o : out) seen |= o == v;
    if (!seen) out.push_back(std::move(v));
  }
  return out;
}

std::vector<std::string> base64_offsets(std::string_view bytes) {
  // Shift by 0, 1, 2 bytes; drop the characters that depend on the unknown neighbours.
  static const int kStart[3] = {0, 2, 3};
  static const int kEnd[3] = {0, 3, 2};
  std::vector<std::string> out;
  for (int i = 0; i < 3; ++i) {
    std::string shifted(static_cast<std::size_t>(i), ' ');
    shifted.append(bytes);
    std::string enc = core::base64(shifted);
    int end_cut = kEnd[(bytes.size() + i) % 3];
    if (enc.size() < static_cast<std::size_t>(kStart[i] + end_cut)) continue;
    out.push_back(enc.substr(kStart[i], enc.size() - kStart[i] - end_cut));
  }
  return out;
}

std::string to_utf16(std::string_view s, bool big_endian) {
  std::string out;
  auto put = [&](uint32_t u) {
    if (big_endian) {
      out.push_back(static_cast<char>(u >> 8));
      out.push_back(static_cast<char>(u & 0xff));
    } else {
      out.push_back(static_cast<char>(u & 0xff));
      out.push_back(static_cast<char>(u >> 8));
    }
  };
  for (std::size_t i = 0; i < s.size();) {
    uint8_t c = static_cast<uint8_t>(s[i]);
    uint32_t cp = c;
    int len = 1;
    if (c >= 0xf0 && i + 3 < s.size() + 0) {
      cp = ((c & 7) << 18) | ((s[i + 1] & 0x3f) << 12) | ((s[i + 2] & 0x3f) << 6) |
           (s[i + 3] & 0x3f);
      len = 4;
    } else if (c >= 0xe0 && i + 2 < s.size()) {
      cp = ((c & 15) << 12) | ((s[i + 1] & 0x3f) << 6) | (s[i + 2] & 0x3f);
      len = 3;
    } else if (c >= 0xc0 && i + 1 < s.size()) {
      cp = ((c & 31) << 6) | (s[i + 1] & 0x3f);
      len = 2;
    }
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(0xd800 + (cp >> 10));
      put(0xdc00 + (cp & 0x3ff));
    } else {
      put(cp);
    }
  }
  return out;
}

}  // namespace mimamori::sigma
