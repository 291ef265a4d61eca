#pragma once
/// What encryption in bulk looks like in one written file: its content no longer matches its
/// type and turns into high-entropy noise (a type change plus an entropy jump; raw entropy alone
/// would flag every compressed office file), or a renamed file ("report.docx.locked") holding
/// noise. Platform-neutral: the Linux guard (fanotify) and the Windows one
/// (ReadDirectoryChangesW) judge files alike. Paths may use '/' or '\\'.

#include <cstdint>
#include <string_view>

namespace mimamori::host {

/// Content classes told apart by magic bytes.
enum class ContentType : uint8_t {
  kUnknown,
  kText,
  kPdf,
  kZip,
  kPng,
  kJpeg,
  kGif,
  kOle,
  kGzip,
  kSevenZip,
  kRar,
  kElf,
  kMp4,
  kRtf,
  kBmp,
  kWebp,
  kMp3,
  kSqlite
};

/// The class of `head` (the first bytes of a file).
ContentType classify_content(std::string_view head);
/// The class a file with this name's extension should have (kUnknown: no expectation).
ContentType expected_type(std::string_view filename);
/// Shannon entropy of `data` in bits per byte (0..8).
double entropy(std::string_view data);

/// Verdict on one written file.
struct WriteVerdict {
  bool suspicious = false;
  ContentType expected = ContentType::kUnknown, found = ContentType::kUnknown;
  double entropy = 0;
};

/// Judges a file just written from its name and first bytes.
WriteVerdict judge_write(std::string_view path, std::string_view head);

/// Signature ids of the ransomware alerts (both platforms).
namespace ransomware_sid {
inline constexpr uint64_t kBurst = 9100201;
inline constexpr uint64_t kCanary = 9100202;
}  // namespace ransomware_sid

/// The name of a content class ("pdf", "zip", "unknown", ...).
std::string_view content_type_name(ContentType t);

}  // namespace mimamori::host
