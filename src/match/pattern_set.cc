#include "mimamori/match/pattern_set.h"

#include <hs/hs.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <vector>

namespace mimamori::match {

// True when a regex may test the end of the data ($, \z, \Z): padding would change its meaning.
static bool may_assert_end(std::string_view expression) {
  for (std::size_t i = 0; i < expression.size(); ++i) {
    if (expression[i] == '$') return true;
    if (expression[i] == '\\' && i + 1 < expression.size()) {
      char c = expression[++i];
      if (c == 'z' || c == 'Z') return true;
    }
  }
  return false;
}

PatternSet::Scratch::Scratch() = default;
PatternSet::Scratch::~Scratch() {
  if (scratch_) hs_free_scratch(static_cast<hs_scratch_t*>(scratch_));
}
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
PatternSet::~PatternSet() {
  if (db_) hs_free_database(static_cast<hs_database_t*>(db_));
}

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
  std::vector<std::string> expressions;
  std::vector<const char*> ptrs;
  std::vector<unsigned> flags, ids;
  expressions.reserve(patterns.size());
  for (const auto& p : patterns) {
    expressions.push_back(p.kind == Pattern::Kind::kLiteral ? escape_literal(p.expression)
                                                            : p.expression);
    unsigned f = HS_FLAG_ALLOWEMPTY;
    if (p.caseless) f |= HS_FLAG_CASELESS;
    if (p.single_match) f |= HS_FLAG_SINGLEMATCH;
    if (p.kind == Pattern::Kind::kRegex) f |= HS_FLAG_DOTALL;
    flags.push_back(f);
    ids.push_back(p.id);
  }
  for (const auto& e : expressions) ptrs.push_back(e.c_str());
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(ptrs.data(), flags.data(), ids.data(), static_cast<unsigned>(ptrs.size()),
                       HS_MODE_BLOCK, nullptr, &db, &err) != HS_SUCCESS) {
    std::string why = err && err->message ? err->message : "unknown error";
    int which = err ? err->expression : -1;
    hs_free_compile_error(err);
    if (which >= 0 && static_cast<size_t>(which) < patterns.size()) {
      return core::make_error("pattern id {} ('{}'): {}", patterns[which].id,
                              patterns[which].expression, why);
    }
    return core::make_error("pattern set: {}", why);
  }
  PatternSet set;
  set.db_ = db;
  set.size_ = patterns.size();
  for (const auto& p : patterns)
    if (p.kind == Pattern::Kind::kRegex && may_assert_end(p.expression)) set.end_assertions_ = true;
  return set;
}

core::Status PatternSet::prepare(Scratch& scratch) const {
  auto* s = static_cast<hs_scratch_t*>(scratch.scratch_);
  if (hs_alloc_scratch(static_cast<hs_database_t*>(db_), &s) != HS_SUCCESS) {
    return core::make_error("pattern set: cannot allocate scan scratch");
  }
  scratch.scratch_ = s;
  return {};
}

namespace {

// Bytes added after the data when the tail bug is present: the widest vector Vectorscan loads
// (64 bytes), so that the data's last byte is never in the vector its tail code mishandles.
constexpr std::size_t kTailPad = 64;

struct ScanContext {
  const PatternSet::OnMatch* on_match;
  unsigned long long limit;  // the data's length: later ends lie in the padding
};

int on_hs_match(unsigned id, unsigned long long /*from*/, unsigned long long to, unsigned /*f*/,
                void* ctx) {
  const auto& c = *static_cast<const ScanContext*>(ctx);
  if (to > c.limit) return 0;
  return (*c.on_match)(id, to) ? 0 : 1;
}

int count_match(unsigned id, unsigned long long, unsigned long long to, unsigned, void* ctx) {
  auto& [want_end, seen] = *static_cast<std::pair<unsigned long long, bool>*>(ctx);
  if (id == 1 && to == want_end) seen = true;
  return 0;
}

// The probe: two short caseless literals (Vectorscan's multi-literal matcher), the second
// ending buffers of every length from 4 to 256 bytes.
int probe_tail_misses() {
  const char* exprs[] = {"\\.com", "\\.exe"};
  unsigned flags[] = {HS_FLAG_CASELESS, HS_FLAG_CASELESS};
  unsigned ids[] = {0, 1};
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(exprs, flags, ids, 2, HS_MODE_BLOCK, nullptr, &db, &err) != HS_SUCCESS) {
    hs_free_compile_error(err);
    return false;
  }
  hs_scratch_t* scratch = nullptr;
  int missed = 0, first_missed = 0;
  if (hs_alloc_scratch(db, &scratch) == HS_SUCCESS) {
    std::string text;
    for (int n = 4; n <= 256; ++n) {
      text.assign(static_cast<std::size_t>(n - 4), 'a');
      text += ".exe";
      std::pair<unsigned long long, bool> ctx{text.size(), false};
      hs_scan(db, text.data(), static_cast<unsigned>(text.size()), 0, scratch, count_match, &ctx);
      if (!ctx.second && missed++ == 0) first_missed = n;
    }
    hs_free_scratch(scratch);
  }
  hs_free_database(db);
  if (missed)
    spdlog::info(
        "match: Vectorscan on this CPU misses matches that end a buffer ({} of 253 probe lengths, "
        "the first at {} bytes); every scan goes through a copy padded with {} bytes instead",
        missed, first_missed, kTailPad);
  return missed ? first_missed : 0;
}

}  // namespace

// The shortest buffer the probe saw a match missed in (0: none missed).
static int first_tail_miss() {
  static const int first = probe_tail_misses();
  return first;
}

bool vectorscan_misses_tail_matches() { return first_tail_miss() > 0; }

core::Status PatternSet::scan(std::string_view data, Scratch& scratch,
                              const OnMatch& on_match) const {
  ScanContext ctx{&on_match, data.size()};
  // Data shorter than a 64-byte vector is scanned in place when the probe saw no miss below that
  // length (the code that misses runs on whole vectors); otherwise every scan is padded.
  const int first_miss = first_tail_miss();
  if (!end_assertions_ && first_miss > 0 &&
      (data.size() >= kTailPad || first_miss <= static_cast<int>(kTailPad))) {
    // One buffer per thread, grown to the largest data seen: no allocation in steady state.
    // The padding is NUL, a non-word byte, so a word boundary at the data's end still holds.
    static thread_local std::vector<char> padded;
    if (padded.size() < data.size() + kTailPad) padded.resize(data.size() + kTailPad);
    std::memcpy(padded.data(), data.data(), data.size());
    std::memset(padded.data() + data.size(), 0, kTailPad);
    data = std::string_view(padded.data(), data.size() + kTailPad);
  }
  hs_error_t rc =
      hs_scan(static_cast<hs_database_t*>(db_), data.data(), static_cast<unsigned>(data.size()), 0,
              static_cast<hs_scratch_t*>(scratch.scratch_), on_hs_match, &ctx);
  if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED) {
    return core::make_error("pattern set: scan failed (Vectorscan error {})", rc);
  }
  return {};
}

core::Result<std::string> PatternSet::serialize() const {
  char* bytes = nullptr;
  size_t len = 0;
  if (hs_serialize_database(static_cast<hs_database_t*>(db_), &bytes, &len) != HS_SUCCESS) {
    return core::make_error("pattern set: cannot serialise the database");
  }
  // One leading byte keeps what padding needs to know (whether an expression tests the end).
  std::string out(1, end_assertions_ ? 'E' : 'N');
  out.append(bytes, len);
  free(bytes);  // NOLINT: allocated by Vectorscan with malloc
  return out;
}

core::Result<PatternSet> PatternSet::deserialize(std::string_view bytes, std::size_t size) {
  hs_database_t* db = nullptr;
  if (bytes.empty() || (bytes[0] != 'E' && bytes[0] != 'N') ||
      hs_deserialize_database(bytes.data() + 1, bytes.size() - 1, &db) != HS_SUCCESS) {
    return core::make_error("pattern set: cached database is damaged or from another version");
  }
  PatternSet set;
  set.db_ = db;
  set.size_ = size;
  set.end_assertions_ = bytes[0] == 'E';
  return set;
}

}  // namespace mimamori::match
