#include "mimamori/match/pattern_set.h"

#include <hs/hs.h>

namespace mimamori::match {

PatternSet::Scratch::Scratch() = default;
PatternSet::Scratch::~Scratch() {
  if (scratch_) hs_free_scratch(static_cast<hs_scratch_t*>(scratch_));
}
PatternSet::Scratch::Scratch(Scratch&& o) noexcept : scratch_(o.scratch_) { o.scratch_ = nullptr; }
PatternSet::Scratch& PatternSet::Scratch::operator=(Scratch&& o) noexcept {
  std::swap(scratch_, o.scratch_);
  return *this;
}

PatternSet::PatternSet(PatternSet&& o) noexcept : db_(o.db_), size_(o.size_) { o.db_ = nullptr; }
PatternSet& PatternSet::operator=(PatternSet&& o) noexcept {
  std::swap(db_, o.db_);
  std::swap(size_, o.size_);
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
int on_hs_match(unsigned id, unsigned long long /*from*/, unsigned long long to, unsigned /*f*/,
                void* ctx) {
  const auto& cb = *static_cast<const PatternSet::OnMatch*>(ctx);
  return cb(id, to) ? 0 : 1;
}
}  // namespace

core::Status PatternSet::scan(std::string_view data, Scratch& scratch,
                              const OnMatch& on_match) const {
  hs_error_t rc = hs_scan(
      static_cast<hs_database_t*>(db_), data.data(), static_cast<unsigned>(data.size()), 0,
      static_cast<hs_scratch_t*>(scratch.scratch_), on_hs_match, const_cast<OnMatch*>(&on_match));
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
  std::string out(bytes, len);
  free(bytes);  // NOLINT: allocated by Vectorscan with malloc
  return out;
}

core::Result<PatternSet> PatternSet::deserialize(std::string_view bytes, std::size_t size) {
  hs_database_t* db = nullptr;
  if (hs_deserialize_database(bytes.data(), bytes.size(), &db) != HS_SUCCESS) {
    return core::make_error("pattern set: cached database is damaged or from another version");
  }
  PatternSet set;
  set.db_ = db;
  set.size_ = size;
  return set;
}

}  // namespace mimamori::match
