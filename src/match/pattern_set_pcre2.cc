// The portable PatternSet: each pattern is its own JIT-compiled PCRE2 pattern, tried in turn.
// Built where Vectorscan is not (Windows); same interface and, for what callers use, the same
// matches: every pattern that matches is reported (once with single_match), and a pattern
// without single_match also reports a match that ends at the end of the data whenever one
// exists (found with a second, end-anchored pattern), as Vectorscan's every-end report does.
// It does not list every intermediate end offset Vectorscan would. PCRE2 is a superset of
// Vectorscan's syntax, so expressions Vectorscan rejects may compile here.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>
#include <cstring>
#include <memory>
#include <vector>

#include "mimamori/core/hash.h"
#include "mimamori/match/pattern_set.h"

namespace mimamori::match {
namespace {

struct CodeFree {
  void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
using Code = std::unique_ptr<pcre2_code, CodeFree>;

struct Compiled {
  Pattern pattern;
  Code code;         // the pattern itself
  Code at_data_end;  // without single_match: the pattern followed by \z
};

struct Database {
  std::vector<Compiled> entries;
};

core::Result<Code> compile_one(const std::string& expression, uint32_t options) {
  int err = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(expression.data()),
                                   expression.size(), options, &err, &offset, nullptr);
  if (!code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    return core::make_error("{} at offset {}", reinterpret_cast<const char*>(msg), offset);
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // the interpreter is used if JIT is unavailable
  return Code(code);
}

// Match data of the thread's scans: one pair, as only a match's bounds are used.
pcre2_match_data* thread_match_data() {
  struct Holder {
    pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
    ~Holder() { pcre2_match_data_free(md); }
  };
  thread_local Holder h;
  return h.md;
}

// The end of the first match of `code` in `data`, or -1.
int64_t first_end(const pcre2_code* code, std::string_view data) {
  pcre2_match_data* md = thread_match_data();
  int rc =
      pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(data.data()), data.size(), 0, 0, md, nullptr);
  if (rc < 0) return -1;
  return static_cast<int64_t>(pcre2_get_ovector_pointer(md)[1]);
}

}  // namespace

PatternSet::Scratch::Scratch() = default;
PatternSet::Scratch::~Scratch() = default;
PatternSet::Scratch::Scratch(Scratch&& o) noexcept : scratch_(o.scratch_) { o.scratch_ = nullptr; }
PatternSet::Scratch& PatternSet::Scratch::operator=(Scratch&& o) noexcept {
  std::swap(scratch_, o.scratch_);
  return *this;
}

PatternSet::PatternSet(PatternSet&& o) noexcept
    : db_(o.db_), size_(o.size_), end_assertions_(o.end_assertions_) {
  o.db_ = nullptr;
}
PatternSet& PatternSet::operator=(PatternSet&& o) noexcept {
  std::swap(db_, o.db_);
  std::swap(size_, o.size_);
  std::swap(end_assertions_, o.end_assertions_);
  return *this;
}
PatternSet::~PatternSet() { delete static_cast<Database*>(db_); }

std::string escape_literal(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 4);
  for (unsigned char c : bytes) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

core::Result<PatternSet> PatternSet::compile(const std::vector<Pattern>& patterns) {
  if (patterns.empty()) return core::make_error("pattern set: no patterns to compile");
  auto db = std::make_unique<Database>();
  db->entries.reserve(patterns.size());
  for (const auto& p : patterns) {
    // As Vectorscan is used: bytes, not UTF-8; `.` matches a newline in regexes.
    uint32_t options = p.caseless ? PCRE2_CASELESS : 0;
    std::string expression =
        p.kind == Pattern::Kind::kLiteral ? escape_literal(p.expression) : p.expression;
    if (p.kind == Pattern::Kind::kRegex) options |= PCRE2_DOTALL;
    auto code = compile_one(expression, options);
    if (!code) {
      return core::make_error("pattern id {} ('{}'): {}", p.id, p.expression, code.error().message);
    }
    Compiled c{p, std::move(*code), nullptr};
    if (!p.single_match) {
      auto at_end = compile_one("(?:" + expression + ")\\z", options);
      if (!at_end) {
        return core::make_error("pattern id {} ('{}'): {}", p.id, p.expression,
                                at_end.error().message);
      }
      c.at_data_end = std::move(*at_end);
    }
    db->entries.push_back(std::move(c));
  }
  PatternSet set;
  set.db_ = db.release();
  set.size_ = patterns.size();
  return set;
}

core::Status PatternSet::prepare(Scratch& /*scratch*/) const { return {}; }

bool vectorscan_misses_tail_matches() { return false; }

core::Status PatternSet::scan(std::string_view data, Scratch& /*scratch*/,
                              const OnMatch& on_match) const {
  const auto& db = *static_cast<const Database*>(db_);
  const auto size = static_cast<uint64_t>(data.size());
  for (const auto& c : db.entries) {
    int64_t end = first_end(c.code.get(), data);
    if (end < 0) continue;
    if (!on_match(c.pattern.id, static_cast<uint64_t>(end))) return {};
    if (c.at_data_end && static_cast<uint64_t>(end) != size &&
        first_end(c.at_data_end.get(), data) >= 0 && !on_match(c.pattern.id, size)) {
      return {};
    }
  }
  return {};
}

// The serialised form is the pattern list itself (PCRE2 compiles it in milliseconds): 'P', the
// SHA-256 of the rest (a damaged file is refused, as Vectorscan's CRC does), then per pattern
// its id, kind, caseless and single_match bytes, length and expression.
core::Result<std::string> PatternSet::serialize() const {
  const auto& db = *static_cast<const Database*>(db_);
  std::string out;
  auto put32 = [&out](uint32_t v) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  for (const auto& c : db.entries) {
    put32(c.pattern.id);
    out += static_cast<char>(c.pattern.kind);
    out += static_cast<char>(c.pattern.caseless);
    out += static_cast<char>(c.pattern.single_match);
    put32(static_cast<uint32_t>(c.pattern.expression.size()));
    out += c.pattern.expression;
  }
  auto digest = core::sha256(out);
  return "P" + std::string(reinterpret_cast<const char*>(digest.data()), digest.size()) + out;
}

core::Result<PatternSet> PatternSet::deserialize(std::string_view bytes, std::size_t size) {
  auto damaged = [] {
    return core::make_error("pattern set: cached database is damaged or from another version");
  };
  if (bytes.size() < 33 || bytes[0] != 'P') return damaged();
  const auto digest = core::sha256(bytes.substr(33));
  if (std::memcmp(digest.data(), bytes.data() + 1, digest.size()) != 0) return damaged();
  std::size_t at = 33;
  auto get32 = [&](uint32_t& v) {
    if (bytes.size() - at < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i)
      v |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[at++])) << (8 * i);
    return true;
  };
  std::vector<Pattern> patterns;
  while (at < bytes.size()) {
    Pattern p;
    uint32_t len = 0;
    if (!get32(p.id) || bytes.size() - at < 3) return damaged();
    auto kind = static_cast<uint8_t>(bytes[at++]);
    if (kind > 1) return damaged();
    p.kind = static_cast<Pattern::Kind>(kind);
    p.caseless = bytes[at++] != 0;
    p.single_match = bytes[at++] != 0;
    if (!get32(len) || bytes.size() - at < len) return damaged();
    p.expression.assign(bytes.substr(at, len));
    at += len;
    patterns.push_back(std::move(p));
  }
  if (patterns.size() != size) return damaged();
  return compile(patterns);
}

}  // namespace mimamori::match
