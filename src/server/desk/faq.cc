// Canned answers of the desk (the FAQ): provider-wide entries that the desk searches and inserts
// into replies, the public ones shown to customers in the portal. Search is a substring search
// over folded text, so Japanese needs no word splitting.

#include <algorithm>

#include "desk/desk.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/eve.h"
#include "mimamori/core/text.h"
#include "secrets.h"

namespace mimamori::server {
namespace {

constexpr std::string_view kFaqColumns =
    "id, question, answer, category, is_public, tags, created_by, updated_by, created_at, "
    "updated_at";

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string join_lines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& x : v) {
    if (!out.empty()) out += '\n';
    out += x;
  }
  return out;
}

FaqEntry faq_from(const SqlRows& r, size_t i) {
  FaqEntry e;
  e.id = r.str(i, 0);
  e.question = r.str(i, 1);
  e.answer = r.str(i, 2);
  e.category = r.str(i, 3);
  e.is_public = r.i64(i, 4) != 0;
  e.tags = split_lines(r.str(i, 5));
  e.created_by = r.str(i, 6);
  e.updated_by = r.str(i, 7);
  e.created_at = r.i64(i, 8);
  e.updated_at = r.i64(i, 9);
  return e;
}

bool customer_role(const Principal& p) { return !p.is_system && !is_provider_role(p.role); }

// Only provider_admin and desk write the FAQ; a refusal is audited.
Status writer_only(Store& store, const Principal& p, std::string_view action, std::string_view id) {
  if (p.is_system || (!p.is_device && (p.role == Role::kProviderAdmin || p.role == Role::kDesk))) {
    return {};
  }
  (void)store.audit(p, action, "desk_faq", id, p.customer_id, {}, {}, "denied");
  return core::make_error_code(403, "role {} may not {}: provider_admin and desk only",
                               p.is_device ? "device" : role_name(p.role), action);
}

Status check_entry(const FaqEntry& e) {
  if (e.question.empty() || e.question.size() > 1000) {
    return core::make_error_code(400, "member 'question' must be 1..1000 bytes, got {}",
                                 e.question.size());
  }
  if (e.answer.empty() || e.answer.size() > 20000) {
    return core::make_error_code(400, "member 'answer' must be 1..20000 bytes, got {}",
                                 e.answer.size());
  }
  if (std::find(std::begin(kDeskCategories), std::end(kDeskCategories), e.category) ==
      std::end(kDeskCategories)) {
    return core::make_error_code(400,
                                 "member 'category' must be one of サービス内容, 価格, 申込方法, "
                                 "導入・設置の支援, セキュリティの相談, その他; got '{}'",
                                 e.category);
  }
  if (e.tags.size() > 20) {
    return core::make_error_code(400, "member 'tags' has {} tags: at most 20", e.tags.size());
  }
  for (size_t i = 0; i < e.tags.size(); ++i) {
    const auto& t = e.tags[i];
    if (t.empty() || t.size() > 100 || t.find_first_of("\r\n") != std::string::npos) {
      return core::make_error_code(400, "member 'tags[{}]' must be 1..100 bytes on one line", i);
    }
  }
  return {};
}

std::string entry_json(const FaqEntry& e) {
  std::string j = "{\"question\":";
  core::append_json_string(j, e.question);
  j += ",\"category\":";
  core::append_json_string(j, e.category);
  j += e.is_public ? ",\"public\":true" : ",\"public\":false";
  j += ",\"tags\":";
  core::append_json_string(j, join_lines(e.tags));
  j += ",\"answer_bytes\":" + std::to_string(e.answer.size()) + "}";
  return j;
}

Result<FaqEntry> read_entry(SqlTx& tx, std::string_view id) {
  auto r = tx.q(fmt::format("SELECT {} FROM desk_faq WHERE id = $1", kFaqColumns), {sp(id)});
  if (!r.ok()) return r.error();
  if (r->empty()) return core::make_error_code(404, "FAQ entry '{}' not found", id);
  return faq_from(*r, 0);
}

// The terms of a query: split on ASCII and ideographic spaces, folded.
std::vector<std::string> terms_of(std::string_view q) {
  std::vector<std::string> out;
  std::string folded = faq_fold(q);
  size_t i = 0;
  while (i < folded.size()) {
    while (i < folded.size() && (folded[i] == ' ' || folded[i] == '\t')) ++i;
    size_t j = i;
    while (j < folded.size() && folded[j] != ' ' && folded[j] != '\t') ++j;
    if (j > i) out.push_back(folded.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

std::string faq_fold(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    // U+3000 (ideographic space): E3 80 80.
    if (c == 0xE3 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        static_cast<unsigned char>(s[i + 2]) == 0x80) {
      out += ' ';
      i += 3;
      continue;
    }
    // U+FF01..U+FF5E (full-width ASCII): EF BC 81..BF, EF BD 80..9E.
    if (c == 0xEF && i + 2 < s.size()) {
      const auto b1 = static_cast<unsigned char>(s[i + 1]);
      const auto b2 = static_cast<unsigned char>(s[i + 2]);
      char32_t cp = ((c & 0x0F) << 12) | ((b1 & 0x3F) << 6) | (b2 & 0x3F);
      if ((b1 & 0xC0) == 0x80 && (b2 & 0xC0) == 0x80 && cp >= 0xFF01 && cp <= 0xFF5E) {
        char a = static_cast<char>(cp - 0xFEE0);
        out += (a >= 'A' && a <= 'Z') ? static_cast<char>(a - 'A' + 'a') : a;
        i += 3;
        continue;
      }
    }
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
    ++i;
  }
  return out;
}

Result<std::vector<FaqEntry>> search_faq(Store& store, const Principal& p, std::string_view q,
                                         std::string_view category, int64_t limit) {
  if (p.is_device) return core::make_error_code(403, "devices have no FAQ");
  if (q.size() > 500) return core::make_error_code(400, "parameter 'q' is over 500 bytes");
  limit = std::clamp<int64_t>(limit, 1, 500);
  const bool only_public = customer_role(p);
  std::vector<FaqEntry> all;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(fmt::format("SELECT {} FROM desk_faq WHERE ($1 = 0 OR is_public = 1) AND "
                              "($2 = '' OR category = $2) ORDER BY updated_at DESC, id",
                              kFaqColumns),
                  {sp(int64_t{only_public ? 1 : 0}), sp(category)});
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) all.push_back(faq_from(*r, i));
    return {};
  });
  if (!st.ok()) return st.error();
  const auto terms = terms_of(q);
  // (terms found in the question, position in the newest-first list)
  std::vector<std::pair<size_t, size_t>> ranked;
  for (size_t i = 0; i < all.size(); ++i) {
    const auto& e = all[i];
    const std::string question = faq_fold(e.question);
    std::string rest = faq_fold(e.answer) + '\n' + faq_fold(e.category);
    for (const auto& t : e.tags) rest += '\n' + faq_fold(t);
    size_t in_question = 0;
    bool every = true;
    for (const auto& t : terms) {
      if (question.find(t) != std::string::npos) {
        ++in_question;
      } else if (rest.find(t) == std::string::npos) {
        every = false;
        break;
      }
    }
    if (every) ranked.emplace_back(in_question, i);
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<FaqEntry> out;
  for (const auto& [score, i] : ranked) {
    if (static_cast<int64_t>(out.size()) >= limit) break;
    out.push_back(std::move(all[i]));
  }
  return out;
}

Result<FaqEntry> get_faq(Store& store, const Principal& p, std::string_view id) {
  if (p.is_device) return core::make_error_code(403, "devices have no FAQ");
  FaqEntry e;
  auto st = store.transact(false, [&](SqlTx& tx) -> Status {
    auto r = read_entry(tx, id);
    if (!r.ok()) return r.error();
    e = std::move(*r);
    return {};
  });
  if (!st.ok()) return st.error();
  if (customer_role(p) && !e.is_public) {
    // The same answer as for an entry that does not exist; the attempt is audited.
    (void)store.audit(p, "desk.faq.read", "desk_faq", id, p.customer_id, {}, {}, "denied");
    return core::make_error_code(404, "FAQ entry '{}' not found", id);
  }
  return e;
}

Result<FaqEntry> create_faq(Store& store, const Principal& p, FaqEntry e) {
  if (auto a = writer_only(store, p, "desk.faq.create", ""); !a.ok()) return a.error();
  if (auto c = check_entry(e); !c.ok()) return c.error();
  e.id = random_id("faq");
  e.created_by = e.updated_by = p.name;
  e.created_at = e.updated_at = core::now().micros;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q(fmt::format("INSERT INTO desk_faq ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                              "$9, $10)",
                              kFaqColumns),
                  {sp(e.id), sp(e.question), sp(e.answer), sp(e.category),
                   sp(int64_t{e.is_public ? 1 : 0}), sp(join_lines(e.tags)), sp(e.created_by),
                   sp(e.updated_by), sp(e.created_at), sp(e.updated_at)});
    if (!r.ok()) return r.error();
    return store.audit_in(tx, p, "desk.faq.create", "desk_faq", e.id, {}, {}, entry_json(e), "ok");
  });
  if (!st.ok()) return st.error();
  return e;
}

Result<FaqEntry> update_faq(Store& store, const Principal& p, std::string_view id, FaqEntry e) {
  if (auto a = writer_only(store, p, "desk.faq.update", id); !a.ok()) return a.error();
  if (auto c = check_entry(e); !c.ok()) return c.error();
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    auto before = read_entry(tx, id);
    if (!before.ok()) return before.error();
    e.id = before->id;
    e.created_by = before->created_by;
    e.created_at = before->created_at;
    e.updated_by = p.name;
    e.updated_at = std::max(core::now().micros, before->updated_at + 1);
    auto r = tx.q(
        "UPDATE desk_faq SET question = $2, answer = $3, category = $4, is_public = $5, tags = "
        "$6, updated_by = $7, updated_at = $8 WHERE id = $1",
        {sp(e.id), sp(e.question), sp(e.answer), sp(e.category), sp(int64_t{e.is_public ? 1 : 0}),
         sp(join_lines(e.tags)), sp(e.updated_by), sp(e.updated_at)});
    if (!r.ok()) return r.error();
    return store.audit_in(tx, p, "desk.faq.update", "desk_faq", e.id, {}, entry_json(*before),
                          entry_json(e), "ok");
  });
  if (!st.ok()) return st.error();
  return e;
}

Status delete_faq(Store& store, const Principal& p, std::string_view id) {
  if (auto a = writer_only(store, p, "desk.faq.delete", id); !a.ok()) return a;
  return store.transact(true, [&](SqlTx& tx) -> Status {
    auto before = read_entry(tx, id);
    if (!before.ok()) return before.error();
    auto r = tx.q("DELETE FROM desk_faq WHERE id = $1", {sp(id)});
    if (!r.ok()) return r.error();
    return store.audit_in(tx, p, "desk.faq.delete", "desk_faq", id, {}, entry_json(*before), {},
                          "ok");
  });
}

}  // namespace mimamori::server
