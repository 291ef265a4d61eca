#define PCRE2_CODE_UNIT_WIDTH 8
#include "mimamori/match/regex.h"

#include <pcre2.h>

namespace mimamori::match {

Regex::Regex(Regex&& o) noexcept : code_(o.code_), pattern_(std::move(o.pattern_)) {
  o.code_ = nullptr;
}
Regex& Regex::operator=(Regex&& o) noexcept {
  std::swap(code_, o.code_);
  std::swap(pattern_, o.pattern_);
  return *this;
}
Regex::~Regex() {
  if (code_) pcre2_code_free(static_cast<pcre2_code*>(code_));
}

core::Result<Regex> Regex::compile(std::string_view pattern, const RegexOptions& o) {
  uint32_t opts = 0;
  if (o.caseless) opts |= PCRE2_CASELESS;
  if (o.multiline) opts |= PCRE2_MULTILINE;
  if (o.dotall) opts |= PCRE2_DOTALL;
  if (o.extended) opts |= PCRE2_EXTENDED;
  if (o.anchored) opts |= PCRE2_ANCHORED;
  if (o.dollar_endonly) opts |= PCRE2_DOLLAR_ENDONLY;
  if (o.ungreedy) opts |= PCRE2_UNGREEDY;
  if (o.utf) opts |= PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
  int err = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   opts, &err, &offset, nullptr);
  if (!code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    return core::make_error("regex '{}' at offset {}: {}", pattern, offset,
                            reinterpret_cast<const char*>(msg));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT fails
  Regex r;
  r.code_ = code;
  r.pattern_ = std::string(pattern);
  return r;
}

namespace {

// Match data reused by every search of the thread: allocating it per call cost more than many
// matches themselves. One pair suffices, as only the whole match is reported (PCRE2 then
// returns 0 for a match with more groups, the whole match's bounds still set).
pcre2_match_data* thread_match_data() {
  struct Holder {
    pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
    ~Holder() { pcre2_match_data_free(md); }
  };
  thread_local Holder h;
  return h.md;
}

}  // namespace

bool Regex::search(std::string_view subject, std::size_t start, std::size_t* begin,
                   std::size_t* end) const {
  auto* code = static_cast<pcre2_code*>(code_);
  pcre2_match_data* md = thread_match_data();
  int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), start, 0,
                       md, nullptr);
  if (rc >= 0) {
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    if (begin) *begin = ov[0];
    if (end) *end = ov[1];
  }
  return rc >= 0;
}

}  // namespace mimamori::match
