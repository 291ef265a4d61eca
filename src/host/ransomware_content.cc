// The content heuristics of the ransomware guards (see ransomware_content.h).

#include "mimamori/host/ransomware_content.h"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <map>
#include <string>

#include "mimamori/host/ransomware.h"

namespace mimamori::host {
namespace {

bool begins(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

std::string_view content_type_name(ContentType t) {
  static constexpr std::string_view kNames[] = {"unknown", "text", "pdf",  "zip",  "png", "jpeg",
                                                "gif",     "ole",  "gzip", "7z",   "rar", "elf",
                                                "mp4",     "rtf",  "bmp",  "webp", "mp3", "sqlite"};
  return kNames[static_cast<std::size_t>(t)];
}

ContentType classify_content(std::string_view h) {
  using namespace std::string_view_literals;
  if (begins(h, "%PDF")) return ContentType::kPdf;
  if (begins(h, "PK\x03\x04"sv) || begins(h, "PK\x05\x06"sv)) return ContentType::kZip;
  if (begins(h, "\x89PNG"sv)) return ContentType::kPng;
  if (begins(h, "\xFF\xD8\xFF"sv)) return ContentType::kJpeg;
  if (begins(h, "GIF8")) return ContentType::kGif;
  if (begins(h, "\xD0\xCF\x11\xE0"sv)) return ContentType::kOle;
  if (begins(h, "\x1F\x8B"sv)) return ContentType::kGzip;
  if (begins(h, "7z\xBC\xAF"sv)) return ContentType::kSevenZip;
  if (begins(h, "Rar!")) return ContentType::kRar;
  if (begins(h,
             "\x7F"
             "ELF"sv))
    return ContentType::kElf;
  if (h.size() >= 8 && h.substr(4, 4) == "ftyp") return ContentType::kMp4;
  if (begins(h, "{\\rtf")) return ContentType::kRtf;
  if (begins(h, "BM") && h.size() > 14) return ContentType::kBmp;
  if (begins(h, "RIFF") && h.size() >= 12 && h.substr(8, 4) == "WEBP") return ContentType::kWebp;
  if (begins(h, "ID3") || begins(h, "\xFF\xFB"sv)) return ContentType::kMp3;
  if (begins(h, "SQLite format 3")) return ContentType::kSqlite;
  if (h.empty()) return ContentType::kUnknown;
  // Text: almost no control bytes other than whitespace (UTF-8 bytes >= 0x80 are fine).
  std::size_t ctrl = 0;
  for (unsigned char c : h)
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f') ++ctrl;
  return ctrl * 100 < h.size() ? ContentType::kText : ContentType::kUnknown;
}

ContentType expected_type(std::string_view name) {
  auto slash = name.find_last_of("/\\");
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return ContentType::kUnknown;
  std::string ext;
  for (char c : name.substr(dot + 1))
    ext += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::map<std::string, ContentType, std::less<>> kByExt = {
      {"txt", ContentType::kText},      {"csv", ContentType::kText},  {"md", ContentType::kText},
      {"log", ContentType::kText},      {"html", ContentType::kText}, {"htm", ContentType::kText},
      {"xml", ContentType::kText},      {"json", ContentType::kText}, {"ini", ContentType::kText},
      {"conf", ContentType::kText},     {"c", ContentType::kText},    {"cc", ContentType::kText},
      {"h", ContentType::kText},        {"py", ContentType::kText},   {"js", ContentType::kText},
      {"sh", ContentType::kText},       {"yaml", ContentType::kText}, {"yml", ContentType::kText},
      {"tex", ContentType::kText},      {"pdf", ContentType::kPdf},   {"docx", ContentType::kZip},
      {"xlsx", ContentType::kZip},      {"pptx", ContentType::kZip},  {"odt", ContentType::kZip},
      {"ods", ContentType::kZip},       {"odp", ContentType::kZip},   {"zip", ContentType::kZip},
      {"jar", ContentType::kZip},       {"epub", ContentType::kZip},  {"png", ContentType::kPng},
      {"jpg", ContentType::kJpeg},      {"jpeg", ContentType::kJpeg}, {"gif", ContentType::kGif},
      {"doc", ContentType::kOle},       {"xls", ContentType::kOle},   {"ppt", ContentType::kOle},
      {"msg", ContentType::kOle},       {"gz", ContentType::kGzip},   {"tgz", ContentType::kGzip},
      {"7z", ContentType::kSevenZip},   {"rar", ContentType::kRar},   {"mp4", ContentType::kMp4},
      {"mov", ContentType::kMp4},       {"m4a", ContentType::kMp4},   {"rtf", ContentType::kRtf},
      {"bmp", ContentType::kBmp},       {"webp", ContentType::kWebp}, {"mp3", ContentType::kMp3},
      {"sqlite", ContentType::kSqlite}, {"db", ContentType::kSqlite}};
  auto it = kByExt.find(ext);
  return it == kByExt.end() ? ContentType::kUnknown : it->second;
}

double entropy(std::string_view data) {
  if (data.empty()) return 0;
  uint32_t counts[256] = {0};
  for (unsigned char c : data) ++counts[c];
  double h = 0, n = static_cast<double>(data.size());
  for (uint32_t c : counts) {
    if (!c) continue;
    double p = c / n;
    h -= p * std::log2(p);
  }
  return h;
}

WriteVerdict judge_write(std::string_view path, std::string_view head) {
  WriteVerdict v;
  v.found = classify_content(head);
  v.entropy = entropy(head);
  v.expected = expected_type(path);
  // Too little content to judge.
  if (head.size() < 256) return v;
  // Encrypted content has no magic and is near 8 bits/byte; 4 KiB of random bytes measure
  // about 7.95, compressed formats keep their magic and so never reach this branch.
  bool noise = v.found == ContentType::kUnknown && v.entropy >= 7.0;
  if (v.expected != ContentType::kUnknown) {
    // In place: a file of a known type now holds structureless noise (type change + jump).
    v.suspicious = noise;
  } else {
    // Renamed to a new extension: "report.docx.locked" holding noise.
    std::string_view name = path.substr(path.find_last_of("/\\") + 1);
    auto last = name.rfind('.');
    bool inner_known = last != std::string_view::npos && last > 0 &&
                       expected_type(name.substr(0, last)) != ContentType::kUnknown;
    // Noise under a name with no expectation at all (a download, a database) proves nothing.
    v.suspicious = noise && inner_known;
  }
  return v;
}

RansomwareResponse ransomware_response(const core::Config& cfg) {
  std::string response = cfg.get<std::string>("ransomware.response", "stop");
  if (response == "alert") return RansomwareResponse::kAlert;
  if (response == "stop") return RansomwareResponse::kStop;
  if (response == "kill") return RansomwareResponse::kKill;
  throw core::ConfigError(
      fmt::format("{}: key 'ransomware.response': expected alert, stop or kill, got '{}'",
                  cfg.source(), response));
}

void make_ransomware_alert(core::Event& e, bool canary) {
  if (canary)
    make_alert(e, ransomware_sid::kCanary, "Ransomware: a canary file was modified", "Ransomware",
               1);
  else
    make_alert(e, ransomware_sid::kBurst,
               "Ransomware: one process rewrote many files into encrypted-looking content",
               "Ransomware", 1);
}

}  // namespace mimamori::host
